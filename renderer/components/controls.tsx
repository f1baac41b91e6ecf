import { useEffect, useRef, useState, type KeyboardEvent as ReactKeyboardEvent, type ReactNode } from 'react';
import { stateWords, type TunnelState } from '../../shared/health';
import { stateTone } from '../format';
import { useApp } from '../store/app-store';

/** Small shared controls: state badge, switch, copy button, page header, modal dialog, sparkline. */

/** A deployment's state; while the app does not answer, "unknown" rather than a stale green. */
export function StateBadge({ state }: { state: TunnelState }) {
  const live = useApp((s) => s.connection === 'open');
  if (!live) {
    return (
      <span className="state state-unknown" data-state="unknown" title={`Last known: ${stateWords(state)}`}>
        <span className="dot" aria-hidden="true" />
        unknown
      </span>
    );
  }
  return (
    <span className={`state state-${stateTone(state)}`} data-state={state}>
      <span className="dot" aria-hidden="true" />
      {stateWords(state)}
    </span>
  );
}

export function Switch({ checked, label, onChange, disabled }: { checked: boolean; label: string; onChange: (next: boolean) => void; disabled?: boolean }) {
  return (
    <button type="button" role="switch" aria-checked={checked} aria-label={label} className={`switch ${checked ? 'on' : ''}`} disabled={disabled} onClick={() => onChange(!checked)}>
      <span className="knob" aria-hidden="true" />
    </button>
  );
}

export async function writeClipboard(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = document.createElement('textarea');
    area.value = text;
    document.body.appendChild(area);
    area.select();
    document.execCommand('copy');
    area.remove();
  }
}

/** Copies what `text` resolves to (fetched only on click, so secrets are not kept around). */
export function CopyButton({ text, label, children, className = 'ghost small' }: { text: () => string | Promise<string>; label: string; children?: ReactNode; className?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  return (
    <button
      type="button"
      className={className}
      aria-label={label}
      onClick={async () => {
        try {
          await writeClipboard(await text());
          setState('copied');
        } catch {
          setState('failed');
        }
        setTimeout(() => setState('idle'), 1500);
      }}
    >
      {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed' : (children ?? 'Copy')}
    </button>
  );
}

/** The view's title (focused on navigation, so keyboard and screen-reader users land here) and its actions. */
export function PageHeader({ title, id, children, sub, crumb }: { title: ReactNode; id: string; children?: ReactNode; sub?: ReactNode; crumb?: ReactNode }) {
  return (
    <div className="page-header">
      {crumb}
      <h1 id={id} tabIndex={-1} data-page-title>{title}</h1>
      <div className="spacer" />
      {children}
      {sub && <p className="sub">{sub}</p>}
    </div>
  );
}

/** Moves focus to the current page's title. */
export function focusPageTitle(): void {
  document.querySelector<HTMLElement>('[data-page-title]')?.focus();
}

const FOCUSABLE = 'a[href], button:not(:disabled), input:not(:disabled), textarea:not(:disabled), select:not(:disabled), [tabindex]:not([tabindex="-1"])';

/**
 * A modal dialog: labelled, focus moves in and stays in (Tab wraps), Escape closes, and
 * focus returns to what opened it — or, when that is gone (a removed row), to the page title.
 */
export function Dialog({ title, onClose, children, wide }: { title: string; onClose: () => void; children: ReactNode; wide?: boolean }) {
  const ref = useRef<HTMLDivElement>(null);
  const close = useRef(onClose);
  close.current = onClose;
  useEffect(() => {
    const previous = document.activeElement as HTMLElement | null;
    const first = ref.current?.querySelector<HTMLElement>('[data-autofocus]') ?? ref.current?.querySelector<HTMLElement>(`${FOCUSABLE.replace('button:not(:disabled)', 'button:not(:disabled):not(.close)')}`);
    first?.focus();
    const onKey = (event: KeyboardEvent): void => {
      if (event.key === 'Escape') {
        event.preventDefault();
        close.current();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      // After the dialog is gone (and the view may have changed), put focus somewhere that exists.
      setTimeout(() => {
        if (document.querySelector('[role="dialog"]')) return;
        if (previous && previous.isConnected && previous !== document.body) previous.focus();
        else focusPageTitle();
      }, 0);
    };
  }, []);
  const trap = (event: ReactKeyboardEvent<HTMLDivElement>): void => {
    if (event.key !== 'Tab' || !ref.current) return;
    const items = [...ref.current.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) => el.offsetParent !== null || el === document.activeElement);
    if (items.length === 0) return;
    const first = items[0]!;
    const last = items.at(-1)!;
    if (event.shiftKey && (document.activeElement === first || !ref.current.contains(document.activeElement))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  };
  const titleId = `dialog-${title.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <div className="backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className={`dialog ${wide ? 'wide' : ''}`} role="dialog" aria-modal="true" aria-labelledby={titleId} ref={ref} onKeyDown={trap}>
        <header>
          <h2 id={titleId}>{title}</h2>
          <button type="button" className="close" aria-label="Close" onClick={onClose}>×</button>
        </header>
        {children}
      </div>
    </div>
  );
}

/** A line of points as a small SVG sparkline, scaled from zero. */
export function Sparkline({ points, label, width = 80, height = 22 }: { points: number[]; label: string; width?: number; height?: number }) {
  if (points.length < 2 || points.every((p) => p === 0)) {
    return (
      <svg className="spark" width={width} height={height} role="img" aria-label={`${label}: no activity`}>
        <line x1="0" x2={width} y1={height - 2} y2={height - 2} stroke="var(--line-strong)" strokeWidth="1" />
      </svg>
    );
  }
  const max = Math.max(...points, 1e-9);
  const step = width / (points.length - 1);
  const d = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${(i * step).toFixed(1)},${(height - 2 - (p / max) * (height - 4)).toFixed(1)}`).join(' ');
  return (
    <svg className="spark" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${label}, latest ${points.at(-1)!.toFixed(1)}`}>
      <path d={d} fill="none" stroke="currentColor" strokeWidth="1.5" />
    </svg>
  );
}

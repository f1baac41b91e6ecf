import { useEffect, useRef, useState, type ReactNode } from 'react';
import { stateWords, type TunnelState } from '../../shared/health';
import { stateTone } from '../format';

/** Small shared controls: state badge, switch, copy button, modal dialog. */

export function StateBadge({ state }: { state: TunnelState }) {
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

async function writeClipboard(text: string): Promise<void> {
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
export function CopyButton({ text, label, children }: { text: () => string | Promise<string>; label: string; children?: ReactNode }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  return (
    <button
      type="button"
      className="ghost"
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

/** A modal dialog: labelled, focus moves in, Escape closes, focus returns on close. */
export function Dialog({ title, onClose, children, wide }: { title: string; onClose: () => void; children: ReactNode; wide?: boolean }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const previous = document.activeElement as HTMLElement | null;
    const first = ref.current?.querySelector<HTMLElement>('input, textarea, select, button:not(.close)');
    first?.focus();
    const onKey = (event: KeyboardEvent): void => {
      if (event.key === 'Escape') onClose();
    };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      previous?.focus?.();
    };
  }, [onClose]);
  const titleId = `dialog-${title.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <div className="backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className={`dialog ${wide ? 'wide' : ''}`} role="dialog" aria-modal="true" aria-labelledby={titleId} ref={ref}>
        <header>
          <h2 id={titleId}>{title}</h2>
          <button type="button" className="close ghost" aria-label="Close" onClick={onClose}>
            ×
          </button>
        </header>
        {children}
      </div>
    </div>
  );
}

/** A line of points as an SVG sparkline. */
export function Sparkline({ points, label, width = 80, height = 22 }: { points: number[]; label: string; width?: number; height?: number }) {
  if (points.length < 2) return <svg className="spark" width={width} height={height} role="img" aria-label={`${label}: no data yet`} />;
  const max = Math.max(...points, 1e-9);
  const step = width / (points.length - 1);
  const d = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${(i * step).toFixed(1)},${(height - 2 - (p / max) * (height - 4)).toFixed(1)}`).join(' ');
  return (
    <svg className="spark" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${label}, last ${points.at(-1)!.toFixed(1)}`}>
      <path d={d} fill="none" />
    </svg>
  );
}

/** A small time-series chart with its latest value. */
export function Chart({ title, values, unit, format }: { title: string; values: Array<number | null>; unit: string; format: (v: number | null) => string }) {
  const width = 280;
  const height = 80;
  const numbers = values.map((v) => (v === null || !Number.isFinite(v) ? null : v));
  const present = numbers.filter((v): v is number => v !== null);
  const max = Math.max(...present, 1e-9);
  const step = numbers.length > 1 ? width / (numbers.length - 1) : width;
  let d = '';
  numbers.forEach((v, i) => {
    if (v === null) return;
    d += `${d === '' || numbers[i - 1] === null ? 'M' : 'L'}${(i * step).toFixed(1)},${(height - 4 - (v / max) * (height - 10)).toFixed(1)} `;
  });
  const last = present.at(-1) ?? null;
  return (
    <figure className="chart">
      <figcaption>
        <span>{title}</span>
        <strong>{format(last)}</strong>
      </figcaption>
      <svg width="100%" height={height} viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" role="img" aria-label={`${title} over time${last === null ? ': no data yet' : `, latest ${format(last)}`}`}>
        {d ? <path d={d} fill="none" /> : <text x="8" y={height / 2}>No {unit} yet</text>}
      </svg>
    </figure>
  );
}

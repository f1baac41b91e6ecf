import { useEffect, useId, useMemo, useRef, useState } from 'react';
import type { LogLevel } from '../../shared/api';
import { CopyButton, PageHeader } from '../components/controls';
import { useActions, useApp } from '../store/app-store';
import { filterLogs } from '../store/logs-slice';

/** Recent lines of the app, its gateway and each connector worker: level filter, search, copy. */

const LEVELS: Array<{ value: LogLevel; label: string }> = [
  { value: 'debug', label: 'All' },
  { value: 'info', label: 'Info' },
  { value: 'warn', label: 'Warnings' },
  { value: 'error', label: 'Errors' },
];

function clock(time: number): string {
  return new Date(time).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

export function LogsView() {
  const lines = useApp((s) => s.logLines);
  const sources = useApp((s) => s.logSources);
  const names = useApp((s) => s.deployments);
  const initial = useApp((s) => (s.view.name === 'logs' ? (s.view.source ?? '') : ''));
  const { loadLogs } = useActions();
  const [source, setSource] = useState(initial);
  const [level, setLevel] = useState<LogLevel>('debug');
  const [text, setText] = useState('');
  const [follow, setFollow] = useState(true);
  const box = useRef<HTMLDivElement>(null);
  const ids = { source: useId(), search: useId() };
  const shown = useMemo(() => filterLogs(lines, source, level, text), [lines, source, level, text]);
  // Deployments created since the list of sources was loaded are sources too.
  const options = useMemo(() => {
    const known = new Map(sources.map((s) => [s.id, s.label]));
    for (const [id, d] of Object.entries(names)) if (!id.startsWith('file:')) known.set(id, d.name);
    return [...known];
  }, [sources, names]);
  const label = (id: string): string => (id === 'app' ? 'app' : id === 'gateway' ? 'gateway' : (names[id]?.name ?? options.find(([k]) => k === id)?.[1] ?? 'worker'));

  useEffect(() => {
    void loadLogs().catch(() => undefined);
  }, [loadLogs]);
  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [shown, follow]);

  const asText = (): string => shown.map((l) => `${new Date(l.time).toISOString()} ${l.level.toUpperCase().padEnd(5)} ${label(l.source)}: ${l.text}`).join('\n');
  return (
    <section aria-labelledby="logs-title">
      <PageHeader title="Logs" id="logs-title" sub="What the app, its gateway and each connector worker said recently. Secrets are redacted." />
      <div className="toolbar">
        <label htmlFor={ids.source} className="visually-hidden">Source</label>
        <select id={ids.source} value={source} onChange={(e) => setSource(e.target.value)}>
          <option value="">All sources</option>
          {options.map(([id, name]) => <option key={id} value={id}>{id === 'app' || id === 'gateway' ? name : `Worker: ${name}`}</option>)}
        </select>
        <div className="segmented" role="group" aria-label="Level">
          {LEVELS.map((l) => <button key={l.value} type="button" aria-pressed={level === l.value} onClick={() => setLevel(l.value)}>{l.label}</button>)}
        </div>
        <label htmlFor={ids.search} className="visually-hidden">Search logs</label>
        <input id={ids.search} type="search" placeholder="Search…" value={text} onChange={(e) => setText(e.target.value)} />
        <div className="spacer" />
        <label className="inline" style={{ margin: 0 }}><input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> Follow</label>
        <CopyButton label="Copy shown lines" text={asText}>Copy {shown.length} lines</CopyButton>
      </div>
      <div className="log-view" ref={box} role="log" aria-label="Log lines" tabIndex={0}>
        {shown.length === 0 ? (
          <p className="muted" style={{ padding: '8px 12px' }}>{lines.length === 0 ? 'Nothing logged yet.' : 'No line matches.'}</p>
        ) : (
          shown.map((l) => (
            <div key={l.seq} className="log-line">
              <span className="faint">{clock(l.time)}</span>
              <span className={`lvl lvl-${l.level}`}>{l.level}</span>
              <span className="src" title={label(l.source)}>{label(l.source)}</span>
              <span>{l.text}</span>
            </div>
          ))
        )}
      </div>
    </section>
  );
}

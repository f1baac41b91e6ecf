import { useEffect, useId, useMemo, useRef, type KeyboardEvent } from 'react';
import type { InspectedRequest } from '../../shared/api';
import { PageHeader } from '../components/controls';
import { useNarrow } from '../components/use-narrow';
import { formatMs, formatTime } from '../format';
import { useActions, useApp } from '../store/app-store';
import { filterRequests, isFailure, type StatusFilter } from '../store/requests-slice';

/**
 * The request inspector (in the spirit of ngrok's): every request through the gateway,
 * refused ones included, with filter and search; one selected shows its metadata and where
 * its time to first byte went. Metadata only: bodies never reach the app.
 */

function tokens(r: InspectedRequest): string {
  if (r.completionTokens === null && r.promptTokens === null) return '—';
  return `${r.completionTokens ?? '—'}${r.promptTokens !== null ? ` (+${r.promptTokens} in)` : ''}`;
}

function statusText(r: InspectedRequest): string {
  return r.status === 499 ? 'cancelled' : String(r.status);
}

/** A table of requests; rows are selectable with the mouse or the arrow keys and Enter. */
export function RequestTable({ requests, selected, onOpen, compact }: { requests: InspectedRequest[]; selected?: number | undefined; onOpen: (request: InspectedRequest) => void; compact?: boolean }) {
  const body = useRef<HTMLTableSectionElement>(null);
  const narrow = useNarrow();
  const move = (event: KeyboardEvent<HTMLTableRowElement>, index: number): void => {
    const rows = body.current?.querySelectorAll<HTMLTableRowElement>('tr');
    if (!rows) return;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const next = rows[Math.max(0, Math.min(rows.length - 1, index + (event.key === 'ArrowDown' ? 1 : -1)))];
      next?.focus();
      if (!compact) next?.click();
    } else if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      onOpen(requests[index]!);
    }
  };
  return (
    <div className="table-wrap">
      <table aria-label="Requests">
        <colgroup>
          <col style={{ width: 80 }} />
          {!compact && <col style={{ width: '14%' }} />}
          <col />
          <col style={{ width: 72 }} />
          <col style={{ width: 72 }} />
          <col style={{ width: 72 }} />
          {!narrow && <col style={{ width: 52 }} />}
          {!compact && !narrow && <col style={{ width: 90 }} />}
        </colgroup>
        <thead>
          <tr>
            <th scope="col">Time</th>{!compact && <th scope="col">Deployment</th>}<th scope="col">Path</th><th scope="col">Status</th>
            <th scope="col" className="num" title="Time to first byte">TTFT</th><th scope="col" className="num" title="Duration">Total</th>{!narrow && <th scope="col" className="num" title="Completion tokens">Out</th>}
            {!compact && !narrow && <th scope="col">Client</th>}
          </tr>
        </thead>
        <tbody ref={body}>
          {requests.map((r, i) => (
            <tr key={r.id} className={`selectable ${isFailure(r) ? 'bad' : ''}`} tabIndex={selected === r.id || (selected === undefined && i === 0) ? 0 : -1}
              aria-selected={compact ? undefined : selected === r.id} onClick={() => onOpen(r)} onKeyDown={(e) => move(e, i)} data-request-id={r.id}>
              <td>{formatTime(r.time)}</td>
              {!compact && <td title={r.deployment ?? ''}>{r.deployment ?? <span className="faint">—</span>}</td>}
              <td className="mono" title={`${r.method} ${r.path}`}>{r.method === 'POST' ? '' : `${r.method} `}{r.path}</td>
              <td className="status" title={r.error ?? ''}>{statusText(r)}</td>
              <td className="num">{formatMs(r.ttftMs)}</td>
              <td className="num">{formatMs(r.durationMs)}</td>
              {!narrow && <td className="num" title={tokens(r)}>{r.completionTokens ?? '—'}</td>}
              {!compact && !narrow && <td>{r.client ?? '—'}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Where the time to the first byte went: gateway, tunnel (both ways), upstream. */
function TimingBar({ request }: { request: InspectedRequest }) {
  const { gatewayMs, tunnelMs, upstreamMs } = request.timing;
  const parts = [
    { key: 'gateway', label: 'Gateway', ms: gatewayMs, hint: 'key check, body, routing, waiting for a tunnel' },
    { key: 'tunnel', label: 'Tunnel', ms: tunnelMs, hint: 'to the connector and back' },
    { key: 'upstream', label: 'Model server', ms: upstreamMs, hint: 'until its first byte' },
  ];
  const total = parts.reduce((sum, p) => sum + (p.ms ?? 0), 0);
  if (total <= 0) return <p className="muted small">No timing breakdown: {request.seenBy === 'gateway' ? 'the request never reached a connector.' : 'the gateway is not this app\'s own.'}</p>;
  return (
    <div>
      <div className="timing" role="img" aria-label={`Time to first byte: ${parts.map((p) => `${p.label} ${formatMs(p.ms)}`).join(', ')}`}>
        {parts.map((p) => (p.ms ? <span key={p.key} className={`t-${p.key}`} style={{ width: `${(p.ms / total) * 100}%` }} title={`${p.label}: ${formatMs(p.ms)} (${p.hint})`} /> : null))}
      </div>
      <div className="legend">
        {parts.map((p) => <span key={p.key}><i className={`t-${p.key}`} />{p.label} {formatMs(p.ms)}</span>)}
      </div>
    </div>
  );
}

export function RequestDetail({ request }: { request: InspectedRequest }) {
  const { navigate } = useActions();
  return (
    <aside className="detail-pane" aria-label="Selected request">
      <h2>{request.method} {request.path}</h2>
      <dl className="kv">
        <dt>Status</dt><dd><strong className={isFailure(request) ? 'state-error' : ''}>{statusText(request)}</strong>{request.errorCode && <code>{request.errorCode}</code>}</dd>
        {request.error && <><dt>What happened</dt><dd>{request.error}</dd></>}
        <dt>Time</dt><dd>{new Date(request.time).toLocaleDateString([], { month: 'short', day: 'numeric' })}, {formatTime(request.time)}</dd>
        <dt>Deployment</dt>
        <dd>
          {request.deploymentId ? <button type="button" className="link" onClick={() => navigate({ name: 'deployment', id: request.deploymentId! })}>{request.deployment}</button> : (request.deployment ?? '—')}
          {request.upstreamModel && <span className="muted">→ {request.upstreamModel}</span>}
        </dd>
        <dt>Client</dt><dd>{request.client ?? '—'}</dd>
        <dt>First byte</dt><dd>{formatMs(request.ttftMs)}</dd>
        <dt>Duration</dt><dd>{formatMs(request.durationMs)}</dd>
        <dt>Tokens</dt><dd>{request.completionTokens ?? '—'} out · {request.promptTokens ?? '—'} in{request.tokensPerSecond ? ` · ${request.tokensPerSecond.toFixed(1)} tok/s` : ''}</dd>
        <dt>Seen by</dt><dd>{request.seenBy === 'both' ? 'gateway and connector' : request.seenBy}</dd>
        {request.requestId && <><dt>Request id</dt><dd><code>{request.requestId}</code></dd></>}
      </dl>
      <h3 style={{ marginTop: 14 }}>Time to first byte</h3>
      <TimingBar request={request} />
      <p className="faint small" style={{ marginTop: 10 }}>Metadata only: Tokios never keeps request or response bodies.</p>
    </aside>
  );
}

const STATUS: Array<{ value: StatusFilter; label: string }> = [
  { value: 'all', label: 'All' },
  { value: 'ok', label: 'Succeeded' },
  { value: 'errors', label: 'Failed' },
];

export function RequestsView() {
  const all = useApp((s) => s.inspected);
  const filter = useApp((s) => s.requestFilter);
  const selected = useApp((s) => (s.view.name === 'requests' ? s.view.selected : undefined));
  const order = useApp((s) => s.order);
  const deployments = useApp((s) => s.deployments);
  const { setRequestFilter, navigate } = useActions();
  const ids = { search: useId(), deployment: useId() };
  const shown = useMemo(() => filterRequests(all, filter), [all, filter]);
  const current = shown.find((r) => r.id === selected) ?? null;

  // Open the newest one when nothing is selected, so the detail pane is never empty for long.
  useEffect(() => {
    if (selected === undefined && shown[0]) navigate({ name: 'requests', selected: shown[0].id });
  }, [selected, shown, navigate]);

  return (
    <section aria-labelledby="requests-page-title">
      <PageHeader title="Requests" id="requests-page-title" sub="Every request through this app's gateway, refused ones included. Metadata only." />
      <div className="toolbar" role="search">
        <label htmlFor={ids.search} className="visually-hidden">Search requests</label>
        <input id={ids.search} type="search" placeholder="Search path, status, client, error…" value={filter.text} onChange={(e) => setRequestFilter({ text: e.target.value })} />
        <div className="segmented" role="group" aria-label="Status">
          {STATUS.map((s) => (
            <button key={s.value} type="button" aria-pressed={filter.status === s.value} onClick={() => setRequestFilter({ status: s.value })}>{s.label}</button>
          ))}
        </div>
        <label htmlFor={ids.deployment} className="visually-hidden">Deployment</label>
        <select id={ids.deployment} value={filter.deploymentId} onChange={(e) => setRequestFilter({ deploymentId: e.target.value })}>
          <option value="">All deployments</option>
          {order.filter((id) => !id.startsWith('file:')).map((id) => <option key={id} value={id}>{deployments[id]?.name}</option>)}
        </select>
        <div className="spacer" />
        <span className="muted small" role="status">{shown.length} of {all.length}</span>
      </div>
      {all.length === 0 ? (
        <div className="empty">
          <h2>No requests yet</h2>
          <p>Requests show up here as clients send them, including the ones the gateway refuses (a wrong key, an unknown model, a deployment that is offline).</p>
          <button type="button" className="ghost" onClick={() => navigate({ name: 'gateway' })}>How to connect a client</button>
        </div>
      ) : (
        <div className="inspector">
          <RequestTable requests={shown} selected={current?.id} onOpen={(r) => navigate({ name: 'requests', selected: r.id })} />
          {current ? <RequestDetail request={current} /> : <aside className="detail-pane muted">Select a request to see its details.</aside>}
        </div>
      )}
    </section>
  );
}

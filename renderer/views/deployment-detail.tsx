import { useEffect } from 'react';
import { Chart, StateBadge } from '../components/controls';
import { adviceFor, formatMs, formatRate, formatTime, formatUptime, KIND_LABEL } from '../format';
import { useActions, useApp } from '../store/app-store';
import { TestPanel } from './test-panel';

/** One deployment: health over time, its last problem in plain words, a test, recent requests. */
export function DeploymentDetail({ id }: { id: string }) {
  const d = useApp((s) => s.deployments[id]);
  const requests = useApp((s) => s.requests[id]);
  const history = useApp((s) => s.history[id]);
  const { loadDetail, navigate, openDialog, setRunning, retryDeployment, notify } = useActions();

  useEffect(() => {
    void loadDetail(id).catch(() => undefined);
    const timer = setInterval(() => void loadDetail(id).catch(() => undefined), 5000);
    return () => clearInterval(timer);
  }, [id, loadDetail]);

  if (!d) {
    return (
      <section>
        <p>This deployment no longer exists.</p>
        <button type="button" onClick={() => navigate({ name: 'deployments' })}>Back to deployments</button>
      </section>
    );
  }
  const advice = adviceFor(d);
  const running = d.enabled && d.health.state !== 'stopped';
  const act = (work: Promise<unknown>): void => void work.catch((e: Error) => notify(e.message, 'error'));
  const samples = history ?? [];
  return (
    <section aria-labelledby="detail-title">
      <button type="button" className="link back" onClick={() => navigate({ name: 'deployments' })}>← Deployments</button>
      <div className="toolbar">
        <h1 id="detail-title">{d.name}</h1>
        <StateBadge state={d.health.state} />
        <div className="spacer" />
        {(d.health.state === 'crash-looping' || d.health.state === 'token-rejected') && <button type="button" onClick={() => act(retryDeployment(id))}>Retry</button>}
        <button type="button" className="ghost" onClick={() => act(setRunning(id, !running))}>{running ? 'Stop' : 'Start'}</button>
        {d.source === 'app' && <button type="button" className="ghost" onClick={() => openDialog({ kind: 'edit', id })}>Edit</button>}
        <button type="button" className="ghost" onClick={() => openDialog({ kind: 'export', id })}>Export tokios.json</button>
        {d.source === 'app' && <button type="button" className="ghost danger" onClick={() => openDialog({ kind: 'remove', id })}>Remove</button>}
      </div>
      <p className="muted">
        {KIND_LABEL[d.health.upstreamKind] ?? 'Model server'} at {d.upstream}
        {d.model ? ` · model ${d.model}` : ''} · token {d.token}
        {d.source === 'folder' && d.file ? ` · from ${d.file}` : ''}
      </p>

      {advice && (
        <div className="advice" role="alert">
          <p><strong>{advice.what}</strong></p>
          <p>{advice.todo}</p>
        </div>
      )}

      <dl className="stats">
        <div><dt>Round trip to gateway</dt><dd>{formatMs(d.health.rttMs)}</dd></div>
        <div><dt>In flight</dt><dd>{d.health.inFlight}</dd></div>
        <div><dt>Requests / min</dt><dd>{d.health.requestsPerMinute}</dd></div>
        <div><dt>Tokens / s</dt><dd>{formatRate(d.health.tokensPerSecond, '')}</dd></div>
        <div><dt>Time to first token</dt><dd>{formatMs(d.health.ttftMs)}</dd></div>
        <div><dt>Requests · errors</dt><dd>{d.health.totals.requests} · {d.health.totals.errors}</dd></div>
        <div><dt>Up for</dt><dd>{formatUptime(d.health.connectedSince)}</dd></div>
        <div><dt>Restarts</dt><dd>{d.health.restarts}</dd></div>
      </dl>

      <div className="charts">
        <Chart title="Round trip" unit="RTT" values={samples.map((s) => s.rttMs)} format={(v) => formatMs(v)} />
        <Chart title="Throughput" unit="requests" values={samples.map((s) => s.requestsPerMinute)} format={(v) => (v === null ? '—' : `${v} req/min`)} />
        <Chart title="Generation speed" unit="tokens/s" values={samples.map((s) => s.tokensPerSecond)} format={(v) => formatRate(v, 'tok/s')} />
      </div>

      <TestPanel deployment={d.name} />

      <section className="panel" aria-labelledby="requests-title">
        <h2 id="requests-title">Recent requests</h2>
        {!requests || requests.length === 0 ? (
          <p className="muted">No requests yet. Send a test request above, or point a client at the gateway.</p>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr><th scope="col">Time</th><th scope="col">Path</th><th scope="col">Model</th><th scope="col">Status</th><th scope="col">TTFT</th><th scope="col">Duration</th><th scope="col">Tokens</th></tr>
              </thead>
              <tbody>
                {requests.slice(0, 200).map((r, i) => (
                  <tr key={`${r.time}-${i}`} className={r.status >= 400 || r.error ? 'bad' : ''}>
                    <td title={r.requestId ? `request id ${r.requestId}` : undefined}>{formatTime(r.time)}</td>
                    <td><code>{r.path}</code></td>
                    <td>{r.model ?? '—'}</td>
                    <td title={r.error ?? undefined}>{r.status === 499 ? 'cancelled' : r.status}</td>
                    <td>{formatMs(r.ttftMs)}</td>
                    <td>{formatMs(r.durationMs)}</td>
                    <td>{r.completionTokens ?? '—'}{r.promptTokens !== null ? ` (+${r.promptTokens} in)` : ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </section>
  );
}

import { memo } from 'react';
import { STATE_SEVERITY } from '../../shared/health';
import { StateBadge, Sparkline, Switch } from '../components/controls';
import { formatMs, formatRate } from '../format';
import { useActions, useApp } from '../store/app-store';

/** The list of deployments: state, RTT, requests/min, tokens/s with a sparkline, on/off. */

const DeploymentRow = memo(function DeploymentRow({ id }: { id: string }) {
  const d = useApp((s) => s.deployments[id]);
  const spark = useApp((s) => s.spark[id]);
  const { setRunning, navigate, notify, retryDeployment } = useActions();
  if (!d) return null;
  const invalid = d.id.startsWith('file:');
  const running = d.enabled && d.health.state !== 'stopped';
  const toggle = (next: boolean): void => {
    setRunning(d.id, next).catch((e: Error) => notify(`Could not ${next ? 'start' : 'stop'} '${d.name}': ${e.message}`, 'error'));
  };
  return (
    <li className="row" data-testid={`deployment-${d.name}`}>
      <div className="row-main">
        <button type="button" className="link name" onClick={() => !invalid && navigate({ name: 'deployment', id: d.id })} disabled={invalid} aria-label={`Open ${d.name}`}>
          {d.name}
        </button>
        <StateBadge state={d.health.state} />
        <span className="muted upstream">{invalid ? d.file : `${d.upstream}${d.model ? ` · ${d.model}` : ''}`}</span>
        {(d.configError || d.health.state === 'crash-looping' || d.health.state === 'token-rejected') && (
          <p className="row-error" role="status">{d.configError ?? d.health.lastError?.message}</p>
        )}
      </div>
      <dl className="row-stats">
        <div><dt>RTT</dt><dd>{formatMs(d.health.rttMs)}</dd></div>
        <div><dt>req/min</dt><dd>{d.health.requestsPerMinute}</dd></div>
        <div><dt>tokens/s</dt><dd>{formatRate(d.health.tokensPerSecond, '')}</dd></div>
      </dl>
      <Sparkline points={spark ?? []} label={`${d.name} tokens per second`} />
      <div className="row-actions">
        {(d.health.state === 'crash-looping' || d.health.state === 'token-rejected') && !invalid && (
          <button type="button" onClick={() => void retryDeployment(d.id).catch((e: Error) => notify(e.message, 'error'))}>Retry</button>
        )}
        {!invalid && <Switch checked={running} label={`Run ${d.name}`} onChange={toggle} />}
      </div>
    </li>
  );
});

export function DeploymentsView() {
  const order = useApp((s) => s.order);
  const loaded = useApp((s) => s.deploymentsLoaded);
  const detectedCount = useApp((s) => s.upstreams.length);
  const { openDialog, navigate, startAll, stopAll, notify } = useActions();
  return (
    <section aria-labelledby="deployments-title">
      <div className="toolbar">
        <h1 id="deployments-title">Deployments</h1>
        <div className="spacer" />
        <button type="button" onClick={() => openDialog({ kind: 'create' })}>Add deployment</button>
        <button type="button" className="ghost" onClick={() => openDialog({ kind: 'import' })}>Import tokios.json</button>
        {order.length > 0 && (
          <>
            <button type="button" className="ghost" onClick={() => void startAll().catch((e: Error) => notify(e.message, 'error'))}>Start all</button>
            <button type="button" className="ghost" onClick={() => void stopAll().catch((e: Error) => notify(e.message, 'error'))}>Stop all</button>
          </>
        )}
      </div>
      {!loaded ? (
        <p className="muted" role="status">Loading…</p>
      ) : order.length === 0 ? (
        <div className="empty">
          <h2>No deployments yet</h2>
          {detectedCount > 0 ? (
            <>
              <p>Tokios found {detectedCount === 1 ? 'a model server' : `${detectedCount} model servers`} on this machine. Turn one into a deployment and your agents can reach it through one endpoint.</p>
              <button type="button" onClick={() => navigate({ name: 'detected' })}>See detected servers</button>
            </>
          ) : (
            <>
              <p>A deployment is a name your coding agents use as "model", forwarded through a tunnel to a model server on this machine.</p>
              <p>Start a model server first — <code>ollama serve</code> (then <code>ollama pull gemma3:4b</code>) or <code>llama-server -m model.gguf --port 8080</code> — and Tokios finds it by itself. Or add one by hand.</p>
              <button type="button" onClick={() => openDialog({ kind: 'create' })}>Add deployment</button>
            </>
          )}
        </div>
      ) : (
        <ul className="rows" aria-label="Deployments">
          {order.map((id) => <DeploymentRow key={id} id={id} />)}
        </ul>
      )}
    </section>
  );
}

/** "2 online · 1 needs attention": the worst state, summarised for the header. */
export function Summary() {
  const deployments = useApp((s) => s.deployments);
  const list = Object.values(deployments);
  if (list.length === 0) return <span className="summary muted">No deployments</span>;
  const online = list.filter((d) => d.health.state === 'online').length;
  const attention = list.filter((d) => d.configError || STATE_SEVERITY[d.health.state] >= 3).length;
  const worst = attention > 0 ? 'error' : list.some((d) => STATE_SEVERITY[d.health.state] === 2) ? 'busy' : 'ok';
  return (
    <span className={`summary state-${worst}`} role="status" aria-live="polite">
      <span className="dot" aria-hidden="true" />
      {online} of {list.length} online{attention > 0 ? ` · ${attention} need${attention === 1 ? 's' : ''} attention` : ''}
    </span>
  );
}

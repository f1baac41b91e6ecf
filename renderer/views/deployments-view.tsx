import { memo, useState } from 'react';
import { liveRates } from '../../shared/rates';
import { PageHeader, Sparkline, StateBadge, Switch } from '../components/controls';
import { useNarrow } from '../components/use-narrow';
import { formatMs, formatRate, KIND_LABEL } from '../format';
import { useActions, useApp } from '../store/app-store';

/**
 * The deployments as one dense table: state, name, upstream, RTT, last-minute rates with a
 * sparkline, and a fixed actions column (Retry has its slot whether shown or not, so no
 * column moves). Rates read "—" when the deployment is not running and fall to 0 when idle.
 */

const SPARK_POINTS = 60;

/** Retry with feedback: the button says it is working, then a note says what happened. */
function RetryButton({ id, name }: { id: string; name: string }) {
  const { retryDeployment, notify } = useActions();
  const [busy, setBusy] = useState(false);
  return (
    <button type="button" className="small" disabled={busy} aria-busy={busy} aria-label={`Retry ${name}`} onClick={() => {
      setBusy(true);
      retryDeployment(id).then(
        () => notify(`Restarting '${name}'…`),
        (e: Error) => notify(`Could not retry '${name}': ${e.message}`, 'error'),
      ).finally(() => setBusy(false));
    }}>
      {busy ? 'Retrying…' : 'Retry'}
    </button>
  );
}

const DeploymentRow = memo(function DeploymentRow({ id, narrow }: { id: string; narrow: boolean }) {
  const d = useApp((s) => s.deployments[id]);
  const history = useApp((s) => s.history[id]);
  const now = useApp((s) => s.now);
  // Without the app, nothing here is current: figures read "—" rather than their last value.
  const live = useApp((s) => s.connection === 'open');
  const { setRunning, navigate, notify } = useActions();
  if (!d) return null;
  const invalid = d.id.startsWith('file:');
  const running = d.enabled && d.health.state !== 'stopped';
  const rates = live ? liveRates(d.health, now) : { requestsPerMinute: null, tokensPerSecond: null, ttftMs: null };
  const stuck = d.health.state === 'crash-looping' || d.health.state === 'token-rejected';
  const problem = d.configError ?? (stuck ? d.health.lastError?.message : null);
  const toggle = (next: boolean): void => {
    setRunning(d.id, next).catch((e: Error) => notify(`Could not ${next ? 'start' : 'stop'} '${d.name}': ${e.message}`, 'error'));
  };
  const spark = (history ?? []).slice(-SPARK_POINTS).map((p) => p.tokensPerSecond ?? 0);
  const upstream = invalid ? (d.file ?? '') : `${KIND_LABEL[d.health.upstreamKind]} · ${d.upstream}${d.model ? ` · ${d.model}` : ''}`;
  return (
    <>
      <tr data-testid={`deployment-${d.name}`} className={problem ? 'has-error' : ''}>
        <td><StateBadge state={d.health.state} /></td>
        <td>
          <div className="cell-main">
            <button type="button" className="link name" title={d.name} onClick={() => !invalid && navigate({ name: 'deployment', id: d.id })} disabled={invalid} aria-label={`Open ${d.name}`}>
              {d.name}
            </button>
          </div>
        </td>
        {!narrow && <td><div className="cell-sub" title={upstream}>{upstream}</div></td>}
        <td className="num" data-col="rtt">{formatMs(live ? d.health.rttMs : null)}</td>
        <td className="num" data-col="requests-per-minute">{rates.requestsPerMinute ?? '—'}</td>
        <td className="num" data-col="tokens-per-second">{formatRate(rates.tokensPerSecond, '')}</td>
        {!narrow && <td><Sparkline points={spark} label={`${d.name} tokens per second`} /></td>}
        <td>
          <div className="actions">
            {stuck && !invalid && <RetryButton id={d.id} name={d.name} />}
            {!invalid && <Switch checked={running} label={`Run ${d.name}`} onChange={toggle} disabled={!live} />}
          </div>
        </td>
      </tr>
      {problem && (
        <tr className="error-row" data-testid={`deployment-${d.name}-error`}>
          <td />
          <td colSpan={narrow ? 5 : 7}><p className="row-error" role="status">{problem}</p></td>
        </tr>
      )}
    </>
  );
});

export function DeploymentsView() {
  const order = useApp((s) => s.order);
  const loaded = useApp((s) => s.deploymentsLoaded);
  const detectedCount = useApp((s) => s.upstreams.length);
  const { openDialog, navigate, startAll, stopAll, notify } = useActions();
  const narrow = useNarrow();
  return (
    <section aria-labelledby="deployments-title">
      <PageHeader title="Deployments" id="deployments-title">
        {order.length > 0 && (
          <>
            <button type="button" className="ghost" onClick={() => void startAll().catch((e: Error) => notify(e.message, 'error'))}>Start all</button>
            <button type="button" className="ghost" onClick={() => void stopAll().catch((e: Error) => notify(e.message, 'error'))}>Stop all</button>
          </>
        )}
        <button type="button" className="ghost" onClick={() => openDialog({ kind: 'import' })}>Import tokios.json</button>
        <button type="button" onClick={() => openDialog({ kind: 'create' })}>Add deployment</button>
      </PageHeader>
      {!loaded ? (
        <p className="muted" role="status">Loading…</p>
      ) : order.length === 0 ? (
        <div className="empty">
          <h2>No deployments yet</h2>
          {detectedCount > 0 ? (
            <>
              <p>Tokios found {detectedCount === 1 ? 'a model server' : `${detectedCount} model servers`} on this machine. The guide takes you from there to a line you paste into your agent.</p>
              <div className="actions" style={{ justifyContent: 'flex-start' }}>
                <button type="button" onClick={() => navigate({ name: 'welcome' })}>Get started</button>
                <button type="button" className="ghost" onClick={() => navigate({ name: 'detected' })}>See detected servers</button>
              </div>
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
        <div className="table-wrap">
          <table className="deployments-table" aria-label="Deployments">
            <colgroup>
              <col className="c-state" /><col className="c-name" />{!narrow && <col className="c-upstream" />}<col className="c-num" /><col className="c-num" /><col className="c-num" />{!narrow && <col className="c-spark" />}<col className="c-actions" />
            </colgroup>
            <thead>
              <tr>
                <th scope="col">State</th><th scope="col">Name</th>{!narrow && <th scope="col">Model server</th>}
                <th scope="col" className="num">RTT</th><th scope="col" className="num" title="Requests in the last minute">Req/min</th><th scope="col" className="num" title="Mean generation speed in the last minute">Tok/s</th>
                {!narrow && <th scope="col" title="Tokens per second, last minute">Trend</th>}<th scope="col" className="num"><span className="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {order.map((id) => <DeploymentRow key={id} id={id} narrow={narrow} />)}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

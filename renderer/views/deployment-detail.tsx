import { useEffect, useMemo } from 'react';
import type { DeploymentMember } from '../../shared/hosted-api';
import { liveRates } from '../../shared/rates';
import { PageHeader, StateBadge } from '../components/controls';
import { TimeChart } from '../components/time-chart';
import { adviceFor, formatCount, formatMs, formatRate, formatUptime, KIND_LABEL } from '../format';
import { useActions, useApp } from '../store/app-store';
import { RequestTable } from './requests-view';
import { TestPanel } from './test-panel';

/** One deployment: its figures and their history, its last problem in plain words, a test, its requests. */
export function DeploymentDetail({ id }: { id: string }) {
  const d = useApp((s) => s.deployments[id]);
  const history = useApp((s) => s.history[id]);
  const now = useApp((s) => s.now);
  const inspected = useApp((s) => s.inspected);
  const connection = useApp((s) => s.connection);
  const members = useApp((s) => s.members[id]);
  const { loadHistory, loadMembers, navigate, openDialog, setRunning, retryDeployment, notify } = useActions();
  const requests = useMemo(() => inspected.filter((r) => r.deploymentId === id).slice(0, 50), [inspected, id]);

  useEffect(() => {
    void loadHistory(id).catch(() => undefined);
  }, [id, loadHistory]);
  // Who serves the name right now, at the gateway: refreshed every few seconds while open.
  useEffect(() => {
    const load = (): void => void loadMembers(id).catch(() => undefined);
    load();
    const timer = setInterval(load, 3000);
    return () => clearInterval(timer);
  }, [id, loadMembers]);

  const samples = history ?? [];
  const rtt = useMemo(() => samples.map((s) => ({ t: s.t, v: s.rttMs })), [samples]);
  const rpm = useMemo(() => samples.map((s) => ({ t: s.t, v: s.requestsPerMinute })), [samples]);
  const tps = useMemo(() => samples.map((s) => ({ t: s.t, v: s.tokensPerSecond })), [samples]);

  if (!d) {
    return (
      <section aria-labelledby="gone-title">
        <PageHeader title="This deployment no longer exists" id="gone-title" />
        <button type="button" onClick={() => navigate({ name: 'deployments' })}>Back to deployments</button>
      </section>
    );
  }
  const advice = adviceFor(d);
  const running = d.enabled && d.health.state !== 'stopped';
  const act = (work: Promise<unknown>, done?: string): void => void work.then(() => done && notify(done), (e: Error) => notify(e.message, 'error'));
  const live = connection === 'open';
  const rates = live ? liveRates(d.health, now) : { requestsPerMinute: null, tokensPerSecond: null, ttftMs: null };
  const stuck = d.health.state === 'crash-looping' || d.health.state === 'token-rejected';
  const crumb = <button type="button" className="link crumb" onClick={() => navigate({ name: 'deployments' })}>Deployments /</button>;
  return (
    <section aria-labelledby="detail-title">
      <PageHeader
        id="detail-title"
        title={d.name}
        crumb={crumb}
        sub={<>{KIND_LABEL[d.health.upstreamKind]} at {d.upstream}{d.model ? ` · model ${d.model}` : ''} · token {d.token}{d.source === 'folder' && d.file ? ` · from ${d.file}` : ''}</>}
      >
        <span className="toolbar-state"><StateBadge state={d.health.state} /></span>
        {stuck && <button type="button" onClick={() => act(retryDeployment(id), `Restarting '${d.name}'…`)}>Retry</button>}
        <button type="button" className="ghost" onClick={() => act(setRunning(id, !running))}>{running ? 'Stop' : 'Start'}</button>
        {d.source === 'app' && <button type="button" className="ghost" onClick={() => openDialog({ kind: 'edit', id })}>Edit</button>}
        <button type="button" className="ghost" onClick={() => openDialog({ kind: 'export', id })}>Export tokios.json</button>
        {d.source === 'app' && <button type="button" className="danger" onClick={() => openDialog({ kind: 'remove', id })}>Remove</button>}
      </PageHeader>

      {advice && (
        <div className={`advice ${d.health.state === 'reconnecting' || d.health.state === 'waiting' ? 'warn' : ''}`} role="alert">
          <p><strong>{advice.what}</strong></p>
          <p>{advice.todo}</p>
        </div>
      )}

      <dl className="tiles">
        <div className="tile"><dt>Round trip to gateway</dt><dd>{formatMs(live ? d.health.rttMs : null)}</dd></div>
        <div className="tile"><dt>Requests / min</dt><dd>{rates.requestsPerMinute ?? '—'}</dd></div>
        <div className="tile"><dt>Tokens / s <small>last min</small></dt><dd>{formatRate(rates.tokensPerSecond, '')}</dd></div>
        <div className="tile"><dt title="Median time to first token, last minute">First token <small>median</small></dt><dd>{formatMs(rates.ttftMs)}</dd></div>
        <div className="tile"><dt>In flight</dt><dd>{running && live ? d.health.inFlight : '—'}</dd></div>
        <div className="tile"><dt>Requests <small>since start</small></dt><dd>{formatCount(d.health.totals.requests)}</dd></div>
        <div className="tile"><dt>Errors <small>since start</small></dt><dd>{formatCount(d.health.totals.errors)}</dd></div>
        <div className="tile"><dt>Up for</dt><dd>{formatUptime(d.health.connectedSince, now)} {d.health.restarts > 0 && <small>· {d.health.restarts} restart{d.health.restarts === 1 ? '' : 's'}</small>}</dd></div>
      </dl>

      <MembersTable members={members ?? null} />

      <div className="charts">
        <TimeChart title="Round trip" points={rtt} format={formatMs} axis={(v) => (v === 0 ? '0' : `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`)} floor={5} empty="Not connected" />
        <TimeChart title="Requests / min" points={rpm} format={(v) => (v === null ? '—' : `${v} req/min`)} axis={(v) => String(Math.round(v))} floor={5} empty="Not running" />
        <TimeChart title="Tokens / s" points={tps} format={(v) => formatRate(v, 'tok/s')} axis={(v) => String(Math.round(v))} floor={10} empty="No generation in this span" />
      </div>

      <TestPanel deploymentId={d.id} deployment={d.name} />

      <section className="panel" aria-labelledby="requests-title">
        <div className="panel-head">
          <h2 id="requests-title">Recent requests</h2>
          <div className="spacer" />
          <button type="button" className="ghost small" onClick={() => navigate({ name: 'requests' })}>Open in inspector</button>
        </div>
        {requests.length === 0 ? (
          <p className="muted">No requests yet. Send a test request above, or point a client at the gateway.</p>
        ) : (
          <RequestTable requests={requests} compact onOpen={(request) => navigate({ name: 'requests', selected: request.id })} />
        )}
      </section>
    </section>
  );
}

const MEMBER_STATE: Record<DeploymentMember['state'], string> = { serving: 'Serving', 'upstream-down': 'Upstream down', draining: 'Draining' };

/** The connectors serving this deployment's name at the gateway: this app's, and any other running the same tokios.json or a pooled token. */
function MembersTable({ members }: { members: DeploymentMember[] | null }) {
  if (!members || members.length === 0) return null;
  return (
    <section aria-labelledby="members-title" className="members">
      <h2 id="members-title">Connectors serving it <small>at the gateway · {members.length}</small></h2>
      <div className="table-wrap">
        <table aria-label="Connectors serving this deployment">
          <thead><tr><th>Connector</th><th>State</th><th>From</th><th>Round trip</th><th>In flight</th><th>Up for</th></tr></thead>
          <tbody>
            {members.map((m) => (
              <tr key={m.id} data-state={m.state}>
                <td><code>{m.id}</code>{m.replica ? <small> · via replica {m.replica}</small> : null}</td>
                <td>{MEMBER_STATE[m.state]}</td>
                <td>{m.address}</td>
                <td>{formatMs(m.rttMs)}</td>
                <td>{m.inFlight ?? '—'}</td>
                <td>{formatUptime(m.connectedSince)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

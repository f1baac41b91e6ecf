import { PageHeader } from '../../components/controls';
import { Fragment, useEffect } from 'react';
import type { DeploymentMember, DeploymentState, HostedDeployment } from '../../../shared/hosted-api';
import { formatMs, formatRate, formatUptime, KIND_LABEL } from '../../format';
import { useDashboard, useDashboardActions } from '../dashboard-store';

/**
 * The account's deployments, live: refreshed every two seconds while this page is open.
 * Each lists its members — every connector serving it (a pool has several), where it is,
 * and whether it takes requests.
 */

const MEMBER_STATE: Record<DeploymentMember['state'], string> = { serving: 'serving', 'upstream-down': 'upstream down: gets no requests while another member can take them', draining: 'draining: finishes what it has' };

function Members({ deployment }: { deployment: HostedDeployment }) {
  const members = deployment.members ?? [];
  if (members.length === 0) return null;
  return (
    <tr className="members-row">
      <td colSpan={9}>
        <table aria-label={`Members of ${deployment.name}`} className="members" data-testid={`members-${deployment.name}`}>
          <thead>
            <tr><th>Connector</th><th>State</th><th>Token</th><th>From</th><th>Gateway replica</th><th>In flight</th><th>RTT</th><th>Upstream</th><th>Up for</th></tr>
          </thead>
          <tbody>
            {members.map((m) => (
              <tr key={m.id} data-state={m.state}>
                <td><code>{m.id}</code></td>
                <td title={MEMBER_STATE[m.state]}>{m.state}</td>
                <td><code>{m.tokenId}</code></td>
                <td>{m.address}</td>
                <td>{m.replica ?? 'this one'}</td>
                <td>{m.inFlight ?? '—'}</td>
                <td>{formatMs(m.rttMs)}</td>
                <td>{m.upstreamKind ? `${KIND_LABEL[m.upstreamKind] ?? m.upstreamKind}${m.upstreamModel ? ` · ${m.upstreamModel}` : ''}` : '—'}</td>
                <td>{formatUptime(m.connectedSince)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </td>
    </tr>
  );
}

const TONE: Record<DeploymentState, string> = { online: 'ok', swapping: 'busy', offline: 'warn' };

export function DeploymentBadge({ status }: { status: DeploymentState }) {
  return (
    <span className={`state state-${TONE[status]}`} data-state={status}>
      <span className="dot" aria-hidden="true" />
      {status}
    </span>
  );
}

export function DeploymentsView() {
  const deployments = useDashboard((s) => s.deployments);
  const { refresh, go } = useDashboardActions();
  useEffect(() => {
    const timer = setInterval(() => void refresh('deployments').catch(() => undefined), 2000);
    return () => clearInterval(timer);
  }, [refresh]);

  return (
    <section aria-labelledby="deployments-title">
      <PageHeader title="Deployments" id="deployments-title" sub="Live: refreshed every two seconds while this page is open." />
      {deployments.length === 0 ? (
        <div className="empty">
          <p>No deployments yet.</p>
          <p>
            Create a tunnel token with a deployment name on the{' '}
            <button type="button" className="link" onClick={() => go('tokens')}>Tunnel tokens</button> page, then run a connector with it
            (<code>tokios connect</code>, or the Tokios app).
          </p>
        </div>
      ) : (
        <div className="table-wrap">
          <table aria-label="Deployments">
            <thead>
              <tr><th>Name</th><th>State</th><th>Connectors</th><th>RTT</th><th>Req/min</th><th>Tokens/s</th><th>In flight</th><th>Upstream</th><th>Up for</th></tr>
            </thead>
            <tbody>
              {deployments.map((d) => (
                <Fragment key={d.name}>
                <tr data-testid={`deployment-${d.name}`}>
                  <td><strong>{d.name}</strong></td>
                  <td><DeploymentBadge status={d.status} /></td>
                  <td>{d.tunnels}</td>
                  <td>{formatMs(d.rttMs)}</td>
                  <td>{d.requestsPerMinute}</td>
                  <td>{formatRate(d.tokensPerSecond, 'tok/s')}</td>
                  <td>{d.inFlight}</td>
                  <td>{d.upstreamKind ? `${KIND_LABEL[d.upstreamKind] ?? d.upstreamKind}${d.upstreamModel ? ` · ${d.upstreamModel}` : ''}` : '—'}</td>
                  <td>{formatUptime(d.connectedSince)}</td>
                </tr>
                <Members deployment={d} />
                </Fragment>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

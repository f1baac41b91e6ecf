import { useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { AgentSnippets } from '../components/agent-snippets';
import { CopyButton, PageHeader, StateBadge } from '../components/controls';
import { useActions, useApp } from '../store/app-store';
import { HostedSignInPanel } from './hosted-sign-in';

/**
 * Where clients connect: the endpoint, the API key (copied on demand, never kept; rotated
 * with a warning), what to paste into each kind of client, which deployments it serves
 * right now, and which gateway the app uses.
 */
export function GatewayView() {
  const gateway = useApp((s) => s.gateway);
  const deployments = useApp(useShallow((s) => s.order.filter((id) => !id.startsWith('file:')).map((id) => s.deployments[id]!).filter(Boolean)));
  const { withApiKey, useEmbeddedGateway, openDialog, notify } = useActions();
  const [busy, setBusy] = useState(false);
  if (!gateway) return <p className="muted" role="status">Loading…</p>;

  const base = `${gateway.url}/v1`;
  // Served means answered: a deployment whose token was refused, or whose model server is down, is listed apart.
  const serving = deployments.filter((d) => d.health.state === 'online');
  const model = serving[0]?.name ?? deployments[0]?.name ?? 'your-deployment';
  const keyText = gateway.apiKey ?? 'sk-tokios-…';

  return (
    <section aria-labelledby="gateway-title">
      <PageHeader title="Gateway" id="gateway-title" sub={gateway.mode === 'embedded' ? 'Built into this app, listening on this computer only.' : `A hosted gateway at ${gateway.url}.`} />
      {gateway.error && <div className="advice warn" role="alert"><p>{gateway.error}</p></div>}
      <div className="panel">
        <h2>Endpoint</h2>
        <dl className="kv">
          <dt>Base URL</dt>
          <dd><code data-testid="gateway-url">{base}</code> <CopyButton label="Copy base URL" text={() => base} /></dd>
          <dt>API key</dt>
          <dd>
            <code>{keyText}</code>
            {gateway.apiKey && <CopyButton label="Copy API key" text={async () => {
              let key = '';
              await withApiKey(async (k) => { key = k; });
              return key;
            }} />}
            {gateway.mode === 'embedded' && <button type="button" className="ghost small" onClick={() => openDialog({ kind: 'rotate-key' })}>Rotate…</button>}
          </dd>
          <dt>Serving now</dt>
          <dd data-testid="gateway-serving">
            {serving.length ? serving.map((d) => <code key={d.id}>{d.name}</code>) : <span className="muted">nothing online</span>}
          </dd>
        </dl>
        {deployments.length > serving.length && (
          <>
            <h3 style={{ marginTop: 12 }}>Not serving</h3>
            <ul className="check-list">
              {deployments.filter((d) => !serving.includes(d)).map((d) => (
                <li key={d.id}><code>{d.name}</code> <StateBadge state={d.health.state} /></li>
              ))}
            </ul>
          </>
        )}
      </div>

      <div className="panel">
        <h2>Connect your agent</h2>
        <AgentSnippets base={base} model={model} maskedKey={keyText} hasKey={gateway.apiKey !== null} />
      </div>

      <HostedSignInPanel />

      <div className="panel">
        <h2>Which gateway</h2>
        <p className="muted">
          {gateway.mode === 'embedded'
            ? 'Clients on this computer reach your models here. To reach them from other machines, use a gateway those machines can reach.'
            : 'Your deployments serve through this hosted gateway.'}
        </p>
        <div className="actions" style={{ justifyContent: 'flex-start' }}>
          <button type="button" className="ghost" onClick={() => openDialog({ kind: 'switch-gateway' })}>{gateway.mode === 'embedded' ? 'Switch to a hosted gateway…' : 'Switch to another hosted gateway…'}</button>
          {gateway.mode === 'remote' && (
            <button type="button" className="ghost" disabled={busy} onClick={() => {
              setBusy(true);
              void useEmbeddedGateway().then(() => notify('Back on the built-in gateway.'), (e: Error) => notify(e.message, 'error')).finally(() => setBusy(false));
            }}>Use the built-in gateway</button>
          )}
        </div>
      </div>
    </section>
  );
}

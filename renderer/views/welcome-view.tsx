import { useState } from 'react';
import { AgentSnippets } from '../components/agent-snippets';
import { PageHeader, StateBadge } from '../components/controls';
import { KIND_LABEL } from '../format';
import { useActions, useApp } from '../store/app-store';
import { TestPanel } from './test-panel';

/**
 * First run, in three steps: a model server Tokios found → a deployment whose tunnel is
 * online (tried with a real request) → the lines to paste into the agent of choice. Each
 * step shows where things stand live; the guide can be reopened from Settings.
 */

function finish(): void {
  try {
    localStorage.setItem('tokios-welcome-done', '1');
  } catch {
    // private mode: the guide may show again next time
  }
}

export function WelcomeView() {
  const upstreams = useApp((s) => s.upstreams);
  const detectLoaded = useApp((s) => s.detectLoaded);
  const order = useApp((s) => s.order);
  const deployments = useApp((s) => s.deployments);
  const gateway = useApp((s) => s.gateway);
  const scanning = useApp((s) => s.scanning);
  const { createDeployment, openDialog, navigate, rescan, notify } = useActions();
  const [guided, setGuided] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const found = [...upstreams].sort((a, b) => Number(b.kind === 'ollama') - Number(a.kind === 'ollama')).find((u) => u.proposal) ?? null;
  const deployment = (guided ? deployments[guided] : undefined) ?? order.map((id) => deployments[id]).find((d) => d && !d.id.startsWith('file:')) ?? null;
  const online = deployment?.health.state === 'online';
  const step = !deployment ? 1 : !online ? 2 : 3;
  const cls = (n: number): string => `step ${n < step ? 'done' : n === step ? 'current' : 'later'}`;

  const deploy = async (): Promise<void> => {
    if (!found?.proposal) return;
    setBusy(true);
    try {
      const view = await createDeployment({ name: found.proposal.name, upstream: found.url, model: found.proposal.model });
      setGuided(view.id);
    } catch (e) {
      notify((e as Error).message, 'error');
    } finally {
      setBusy(false);
    }
  };
  const done = (): void => {
    finish();
    navigate(deployment ? { name: 'deployment', id: deployment.id } : { name: 'deployments' });
  };

  return (
    <section aria-labelledby="welcome-title">
      <PageHeader title="Get started" id="welcome-title" sub="From a model server on this machine to a line you paste into your agent.">
        <button type="button" className="ghost" onClick={done}>{step === 3 ? 'Done' : 'Skip the guide'}</button>
      </PageHeader>
      <ol className="steps">
        <li className={cls(1)} aria-current={step === 1 ? 'step' : undefined}>
          <span className="step-num" aria-hidden="true">1</span>
          <div>
            <h2>Find a model server</h2>
            {deployment ? (
              <p>Deployed <strong>{deployment.name}</strong> from {KIND_LABEL[deployment.health.upstreamKind]} at {deployment.upstream}{deployment.model ? ` (model ${deployment.model})` : ''}.</p>
            ) : found ? (
              <>
                <p>Found <strong>{KIND_LABEL[found.kind]}</strong> at <code>{found.url}</code>{found.models.length ? <>, with {found.models.slice(0, 3).map((m, i) => <span key={m}>{i > 0 && ', '}<code>{m}</code></span>)}{found.models.length > 3 ? ` and ${found.models.length - 3} more` : ''}</> : null}.</p>
                <div className="actions" style={{ justifyContent: 'flex-start' }}>
                  <button type="button" onClick={() => void deploy()} disabled={busy} aria-busy={busy}>{busy ? 'Deploying…' : `Deploy ${found.proposal!.model ?? found.proposal!.name} as '${found.proposal!.name}'`}</button>
                  <button type="button" className="ghost" onClick={() => openDialog({ kind: 'create', preset: { name: found.proposal!.name, upstream: found.url, model: found.proposal!.model } })}>Choose a name…</button>
                </div>
              </>
            ) : (
              <>
                <p>{detectLoaded ? 'No model server answers yet.' : 'Looking…'} Start one and Tokios finds it: <code>ollama serve</code> (then <code>ollama pull gemma3:4b</code>), or <code>llama-server -m model.gguf --port 8080</code>.</p>
                <button type="button" className="ghost" disabled={scanning} onClick={() => void rescan()}>{scanning ? 'Scanning…' : 'Scan again'}</button>
              </>
            )}
          </div>
        </li>
        <li className={cls(2)} aria-current={step === 2 ? 'step' : undefined}>
          <span className="step-num" aria-hidden="true">2</span>
          <div>
            <h2>Bring its tunnel online</h2>
            {deployment ? (
              <>
                <p>Tunnel for <strong>{deployment.name}</strong>: <StateBadge state={deployment.health.state} /></p>
                {online && <TestPanel deploymentId={deployment.id} deployment={deployment.name} />}
              </>
            ) : (
              <p className="muted">The app starts a connector that keeps a tunnel to the gateway; this shows when it is up.</p>
            )}
          </div>
        </li>
        <li className={cls(3)} aria-current={step === 3 ? 'step' : undefined}>
          <span className="step-num" aria-hidden="true">3</span>
          <div>
            <h2>Paste this into your agent</h2>
            {online && gateway ? (
              <AgentSnippets base={`${gateway.url}/v1`} model={deployment.name} maskedKey={gateway.apiKey ?? 'sk-tokios-…'} hasKey={gateway.apiKey !== null} />
            ) : (
              <p className="muted">Your agent's settings, for the OpenAI SDK, curl, Continue or Cline, with the endpoint and key filled in.</p>
            )}
          </div>
        </li>
      </ol>
    </section>
  );
}

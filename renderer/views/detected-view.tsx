import { useId, useState, type FormEvent } from 'react';
import { PageHeader } from '../components/controls';
import { KIND_LABEL } from '../format';
import { useActions, useApp } from '../store/app-store';

/** Model servers found on this machine, each one click from a deployment. */
export function DetectedView() {
  const upstreams = useApp((s) => s.upstreams);
  const loaded = useApp((s) => s.detectLoaded);
  const scanning = useApp((s) => s.scanning);
  const deployments = useApp((s) => s.deployments);
  const { rescan, openDialog, addEndpoint, notify } = useActions();
  const [extra, setExtra] = useState('');
  const [outcome, setOutcome] = useState<{ tone: 'ok' | 'warn' | 'error'; text: string } | null>(null);
  const extraId = useId();

  const submitEndpoint = (event: FormEvent): void => {
    event.preventDefault();
    const url = extra.trim();
    setOutcome(null);
    void addEndpoint(url).then(
      (found) => {
        setExtra('');
        setOutcome(found
          ? { tone: 'ok', text: `Found ${KIND_LABEL[found.kind]} at ${found.url}${found.models.length ? ` with ${found.models.length} model${found.models.length === 1 ? '' : 's'}` : ''}.` }
          : { tone: 'warn', text: `Nothing answers at ${url} yet. Tokios keeps looking there every few seconds; it shows up here once it answers.` });
      },
      (e: Error) => setOutcome({ tone: 'error', text: e.message }),
    );
  };
  const scan = (): void => {
    void rescan().then(() => notify('Scanned again.'), (e: Error) => notify(e.message, 'error'));
  };

  return (
    <section aria-labelledby="detected-title">
      <PageHeader title="Detected model servers" id="detected-title" sub="Tokios looks for Ollama on port 11434, llama.cpp on 8080 and the servers you add below, every few seconds.">
        <button type="button" className="ghost" onClick={scan} disabled={scanning} aria-busy={scanning}>{scanning ? 'Scanning…' : 'Scan again'}</button>
      </PageHeader>
      {!loaded ? (
        <p className="muted" role="status">Looking for Ollama on port 11434 and llama.cpp on port 8080…</p>
      ) : upstreams.length === 0 ? (
        <div className="empty" style={{ marginBottom: 16 }}>
          <h2>No model server found</h2>
          <ul>
            <li><strong>Ollama</strong>: install it from ollama.com, run <code>ollama serve</code>, then <code>ollama pull gemma3:4b</code>.</li>
            <li><strong>llama.cpp</strong>: <code>llama-server -m your-model.gguf --port 8080</code>.</li>
            <li><strong>Something else</strong> that speaks the OpenAI API: add its address below.</li>
          </ul>
        </div>
      ) : (
        <ul className="cards" aria-label="Detected model servers">
          {upstreams.map((u) => {
            const existing = u.deploymentIds.map((id) => deployments[id]?.name).filter(Boolean);
            return (
              <li key={u.url} className="card" data-testid={`detected-${u.kind}`}>
                <div className="card-head">
                  <strong>{KIND_LABEL[u.kind]}</strong>
                  {u.version && <span className="muted">{u.version}</span>}
                </div>
                <span className="url mono">{u.url}</span>
                {u.loading ? (
                  <p className="muted">Loading its model…</p>
                ) : u.models.length ? (
                  <ul className="models" aria-label={`Models on ${u.url}`}>
                    {u.models.slice(0, 12).map((m) => <li key={m}><code>{m}</code></li>)}
                    {u.models.length > 12 && <li className="muted">and {u.models.length - 12} more</li>}
                  </ul>
                ) : (
                  <p className="muted">No models yet — {u.kind === 'ollama' ? <>pull one with <code>ollama pull gemma3:4b</code></> : 'load one first'}.</p>
                )}
                {existing.length > 0 && <p className="muted small" style={{ margin: 0 }}>Deployed as {existing.join(', ')}</p>}
                <div className="card-foot">
                  {u.proposal && (
                    <button type="button" onClick={() => openDialog({ kind: 'create', preset: { name: u.proposal!.name, upstream: u.url, model: u.proposal!.model } })} aria-label={`Create deployment from ${KIND_LABEL[u.kind]} at ${u.url}`}>
                      Create deployment
                    </button>
                  )}
                </div>
              </li>
            );
          })}
        </ul>
      )}
      <form className="inline-form panel" onSubmit={submitEndpoint}>
        <label htmlFor={extraId}>Another OpenAI-compatible server</label>
        <input id={extraId} value={extra} placeholder="localhost:1234 or http://192.168.1.20:8000" aria-describedby={`${extraId}-outcome`} onChange={(e) => { setExtra(e.target.value); setOutcome(null); }} />
        <button type="submit" className="ghost" disabled={!extra.trim() || scanning} aria-busy={scanning}>{scanning ? 'Looking…' : 'Look there too'}</button>
        <p id={`${extraId}-outcome`} className={outcome ? `field-${outcome.tone}` : 'hint'} role="status" style={{ gridColumn: '1 / -1', margin: 0 }}>
          {outcome?.text ?? 'Any server with an OpenAI-style /v1/models, on this machine or your network.'}
        </p>
      </form>
    </section>
  );
}

import { useId, useState, type FormEvent } from 'react';
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
  const extraId = useId();

  const submitEndpoint = (event: FormEvent): void => {
    event.preventDefault();
    void addEndpoint(extra.trim()).then(() => setExtra(''), (e: Error) => notify(e.message, 'error'));
  };

  return (
    <section aria-labelledby="detected-title">
      <div className="toolbar">
        <h1 id="detected-title">Detected model servers</h1>
        <div className="spacer" />
        <button type="button" className="ghost" onClick={() => void rescan().catch((e: Error) => notify(e.message, 'error'))} disabled={scanning} aria-busy={scanning}>
          {scanning ? 'Scanning…' : 'Scan again'}
        </button>
      </div>
      {!loaded ? (
        <p className="muted" role="status">Looking for Ollama on port 11434 and llama.cpp on port 8080…</p>
      ) : upstreams.length === 0 ? (
        <div className="empty">
          <h2>No model server found</h2>
          <p>Tokios looks for Ollama on port 11434 and llama.cpp's llama-server on port 8080, every few seconds.</p>
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
                <header>
                  <strong>{KIND_LABEL[u.kind]}</strong>
                  {u.version && <span className="muted"> {u.version}</span>}
                  <span className="muted url">{u.url}</span>
                </header>
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
                {existing.length > 0 && <p className="muted">Already deployed as {existing.join(', ')}.</p>}
                {u.proposal && (
                  <button type="button" onClick={() => openDialog({ kind: 'create', preset: { name: u.proposal!.name, upstream: u.url, model: u.proposal!.model } })} aria-label={`Create deployment from ${KIND_LABEL[u.kind]} at ${u.url}`}>
                    Create deployment
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      )}
      <form className="inline-form" onSubmit={submitEndpoint}>
        <label htmlFor={extraId}>Another OpenAI-compatible server</label>
        <input id={extraId} value={extra} placeholder="http://127.0.0.1:1234" onChange={(e) => setExtra(e.target.value)} />
        <button type="submit" className="ghost" disabled={!extra.trim()}>Look there too</button>
      </form>
    </section>
  );
}

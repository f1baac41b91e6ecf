import { useId, useState, type FormEvent } from 'react';
import { formatMs } from '../format';
import { useActions, useApp } from '../store/app-store';

/** Sends a chat request through the gateway, exactly as a client would, and streams the reply. */
export function TestPanel({ deployment }: { deployment: string }) {
  const runId = useApp((s) => s.latestTest[deployment]);
  const run = useApp((s) => (runId ? s.tests[runId] : undefined));
  const { sendTest } = useActions();
  const [prompt, setPrompt] = useState('Say hello in one short sentence.');
  const id = useId();
  const busy = run?.status === 'sending' || run?.status === 'streaming';
  const submit = (event: FormEvent): void => {
    event.preventDefault();
    if (!prompt.trim() || busy) return;
    void sendTest(deployment, prompt.trim());
  };
  return (
    <section className="panel" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Test</h2>
      <form onSubmit={submit} className="test-form">
        <label htmlFor={id}>Message to {deployment}</label>
        <textarea id={id} rows={2} value={prompt} onChange={(e) => setPrompt(e.target.value)} />
        <button type="submit" disabled={busy || !prompt.trim()} aria-busy={busy}>{busy ? 'Waiting for reply…' : 'Send test request'}</button>
      </form>
      {run && (
        <div className="test-result">
          <p className="muted">
            {run.status === 'sending' && 'Sending…'}
            {run.status === 'streaming' && `Streaming… first token after ${formatMs(run.ttftMs)}`}
            {run.status === 'done' && `Done in ${formatMs(run.durationMs)} · first token after ${formatMs(run.ttftMs)}${run.completionTokens ? ` · ${run.completionTokens} tokens` : ''}`}
          </p>
          {run.status === 'error' ? (
            <p className="form-error" role="alert">{run.error}</p>
          ) : (
            <output className="reply" aria-live="polite" aria-label="Reply">{run.text}</output>
          )}
        </div>
      )}
    </section>
  );
}

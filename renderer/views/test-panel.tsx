import { useId, useState, type FormEvent, type KeyboardEvent } from 'react';
import { formatMs } from '../format';
import { useActions, useApp } from '../store/app-store';

/** Sends a chat request through the gateway, exactly as a client would, and streams the reply. Ctrl/Cmd+Enter sends. */
export function TestPanel({ deploymentId, deployment }: { deploymentId: string; deployment: string }) {
  const runId = useApp((s) => s.latestTest[deploymentId]);
  const run = useApp((s) => (runId ? s.tests[runId] : undefined));
  const { sendTest } = useActions();
  const [prompt, setPrompt] = useState('Say hello in one short sentence.');
  const id = useId();
  const busy = run?.status === 'sending' || run?.status === 'streaming';
  const send = (): void => {
    if (!prompt.trim() || busy) return;
    void sendTest(deploymentId, deployment, prompt.trim());
  };
  const submit = (event: FormEvent): void => {
    event.preventDefault();
    send();
  };
  const onKey = (event: KeyboardEvent<HTMLTextAreaElement>): void => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      send();
    }
  };
  return (
    <section className="panel" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Test</h2>
      <form onSubmit={submit} className="test-form">
        <label htmlFor={id}>Message to {deployment}</label>
        <textarea id={id} rows={2} value={prompt} onChange={(e) => setPrompt(e.target.value)} onKeyDown={onKey} aria-describedby={`${id}-keys`} />
        <div className="test-actions">
          <button type="submit" disabled={busy || !prompt.trim()} aria-busy={busy}>{busy ? 'Waiting for reply…' : 'Send test request'}</button>
          <span id={`${id}-keys`} className="faint small">Ctrl+Enter sends</span>
          <div className="spacer" />
          {run && (
            <span className="muted small" role="status">
              {run.status === 'sending' && 'Sending…'}
              {run.status === 'streaming' && `Streaming… first token after ${formatMs(run.ttftMs)}`}
              {run.status === 'done' && `Done in ${formatMs(run.durationMs)} · first token after ${formatMs(run.ttftMs)}${run.completionTokens ? ` · ${run.completionTokens} tokens` : ''}`}
            </span>
          )}
        </div>
      </form>
      {run && (run.status === 'error' ? (
        <p className="form-error" role="alert">{run.error}</p>
      ) : (
        <output className="reply" aria-live="polite" aria-label="Reply">{run.text}</output>
      ))}
    </section>
  );
}

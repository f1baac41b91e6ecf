import { useId, useState, type FormEvent } from 'react';
import { useActions, useApp } from '../store/app-store';

/**
 * "Sign in to a hosted gateway": the app asks the gateway for a code, the person approves
 * it on the gateway's dashboard, and the app moves its deployments there by itself. A
 * wrong URL fails at the first step and changes nothing.
 */
export function HostedSignInPanel() {
  const signIn = useApp((s) => s.signIn);
  const { startSignIn, cancelSignIn, notify } = useActions();
  const [url, setUrl] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const id = useId();

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await startSignIn(url.trim());
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const { pending, outcome } = signIn;
  return (
    <div className="panel" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Sign in to a hosted gateway</h2>
      {pending ? (
        <div className="stack" role="status">
          <p>Open <a href={pending.verificationUriComplete} target="_blank" rel="noreferrer">{pending.verificationUri}</a>, sign in, and check that it shows this code:</p>
          <p className="user-code" aria-label="Sign-in code"><strong>{pending.userCode}</strong></p>
          <p className="muted small">Waiting for approval… The app switches to {pending.url} once you approve.</p>
          <button type="button" className="ghost" onClick={() => void cancelSignIn().catch((e: Error) => notify(e.message, 'error'))}>Cancel</button>
        </div>
      ) : (
        <form onSubmit={submit} className="stack" aria-label="Sign in to a hosted gateway">
          <label htmlFor={id}>Gateway URL</label>
          <input id={id} value={url} placeholder="https://api.tokios.com" onChange={(e) => setUrl(e.target.value)} />
          <button type="submit" disabled={busy || !url.trim()} aria-busy={busy}>{busy ? 'Contacting…' : 'Sign in'}</button>
        </form>
      )}
      {error && <p className="form-error" role="alert">{error}</p>}
      {outcome && <p className={outcome.state === 'failed' ? 'form-error' : ''} role={outcome.state === 'failed' ? 'alert' : 'status'}>{outcome.message}</p>}
    </div>
  );
}

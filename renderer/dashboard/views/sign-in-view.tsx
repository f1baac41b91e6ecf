import { useId, useState, type FormEvent } from 'react';
import { useDashboard, useDashboardActions } from '../dashboard-store';

/** Email and password; one answer for every failure (the gateway gives no more away). */
export function SignInView() {
  const signup = useDashboard((s) => s.signup);
  const notice = useDashboard((s) => s.notice);
  const approving = useDashboard((s) => s.page === 'device');
  const { signIn } = useDashboardActions();
  const [mode, setMode] = useState<'sign-in' | 'sign-up'>('sign-in');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const ids = { email: useId(), password: useId() };

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(email.trim(), password, mode === 'sign-up');
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const title = mode === 'sign-in' ? 'Sign in' : 'Create an account';
  return (
    <main className="sign-in">
      <h1>Tokios</h1>
      <p className="muted">{approving ? 'Sign in to approve the device that asked to use your account.' : 'Your deployments, tunnel tokens, API keys and usage.'}</p>
      {notice && <p role="status">{notice}</p>}
      <form onSubmit={submit} aria-label={title}>
        <h2>{title}</h2>
        <label htmlFor={ids.email}>Email</label>
        <input id={ids.email} type="email" autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} required />
        <label htmlFor={ids.password}>Password</label>
        <input id={ids.password} type="password" autoComplete={mode === 'sign-in' ? 'current-password' : 'new-password'} value={password} onChange={(e) => setPassword(e.target.value)} required />
        {error && <p className="form-error" role="alert">{error}</p>}
        <button type="submit" disabled={busy} aria-busy={busy}>{busy ? 'Signing in…' : title}</button>
      </form>
      {signup && (
        <p className="small">
          <button type="button" className="link" onClick={() => setMode(mode === 'sign-in' ? 'sign-up' : 'sign-in')}>
            {mode === 'sign-in' ? 'No account yet? Create one' : 'Have an account? Sign in'}
          </button>
        </p>
      )}
    </main>
  );
}

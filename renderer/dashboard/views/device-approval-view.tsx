import { useEffect, useId, useState, type FormEvent } from 'react';
import type { DeviceGrantView } from '../../../shared/hosted-api';
import { useDashboard, useDashboardActions, useDashboardClient } from '../dashboard-store';

/**
 * `/device`: the person types (or follows a link with) the code their Tokios app shows,
 * checks which device asks, and approves or denies it for the signed-in account.
 */
export function DeviceApprovalView() {
  const client = useDashboardClient();
  const email = useDashboard((s) => s.session?.account.email ?? 'this account');
  const { go } = useDashboardActions();
  const [code, setCode] = useState(() => new URLSearchParams(location.search).get('code') ?? '');
  const [grant, setGrant] = useState<DeviceGrantView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const id = useId();

  const look = async (text: string): Promise<void> => {
    setError(null);
    try {
      setGrant(await client.device(text.trim()));
    } catch (e) {
      setGrant(null);
      setError((e as Error).message);
    }
  };
  useEffect(() => {
    if (code) void look(code);
    // Only the code the page opened with is looked up by itself (once).
  }, []);

  const decide = async (approve: boolean): Promise<void> => {
    try {
      setGrant(await client.decideDevice(grant!.user_code, approve));
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <section aria-labelledby="device-title" className="stack">
      <h1 id="device-title">Sign in a device</h1>
      {!grant || grant.status === 'pending' ? null : (
        <p role="status">
          {grant.status === 'approved' ? `Approved: ${grant.client_name} is now signed in to ${email}. You can close this page.` : 'Denied: that device was not signed in.'}
        </p>
      )}
      {grant?.status === 'pending' ? (
        <div className="panel">
          <p className="user-code">{grant.user_code}</p>
          <p><strong>{grant.client_name}</strong> asks to use <strong>{email}</strong>: it will be able to create tunnel tokens and register deployments.</p>
          <p className="muted small">Only approve a code you started yourself, shown by your own Tokios app.</p>
          <div className="toolbar">
            <button type="button" onClick={() => void decide(true)}>Approve</button>
            <button type="button" className="ghost" onClick={() => void decide(false)}>Deny</button>
          </div>
        </div>
      ) : (
        !grant && (
          <form onSubmit={(e: FormEvent) => { e.preventDefault(); void look(code); }}>
            <label htmlFor={id}>The code your Tokios app shows</label>
            <input id={id} value={code} placeholder="BCDF-GHJK" autoComplete="off" onChange={(e) => setCode(e.target.value)} />
            <button type="submit" disabled={!code.trim()}>Continue</button>
          </form>
        )
      )}
      {error && <p className="form-error" role="alert">{error}</p>}
      <p><button type="button" className="link" onClick={() => go('deployments')}>← Dashboard</button></p>
    </section>
  );
}

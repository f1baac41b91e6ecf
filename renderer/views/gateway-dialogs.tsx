import { useId, useState, type FormEvent } from 'react';
import type { GatewayCheck } from '../../shared/api';
import { Dialog } from '../components/controls';
import { useActions, useApp } from '../store/app-store';

/**
 * Changing what clients depend on, each in two steps: first find out what it means (the
 * gateway is checked, and nothing changes), then confirm.
 */

export function SwitchGatewayDialog() {
  const gateway = useApp((s) => s.gateway);
  const { verifyGateway, useRemoteGateway, closeDialog, notify } = useActions();
  const [url, setUrl] = useState('');
  const [key, setKey] = useState('');
  const [check, setCheck] = useState<GatewayCheck | null>(null);
  const [busy, setBusy] = useState<'checking' | 'switching' | null>(null);
  const [error, setError] = useState<string | null>(null);
  const ids = { url: useId(), key: useId() };
  const checked = check !== null && check.url !== '' && !check.problem;

  const verify = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    if (checked) return void switchNow();
    setBusy('checking');
    setError(null);
    setCheck(null);
    try {
      setCheck(await verifyGateway(url.trim(), key.trim() || null));
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(null);
    }
  };
  const switchNow = async (): Promise<void> => {
    setBusy('switching');
    setError(null);
    try {
      await useRemoteGateway(url.trim(), key.trim() || null);
      setKey('');
      notify(`Now using ${check?.url}. Your deployments move there as their new tunnels come up.`);
      closeDialog();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(null);
    }
  };
  const edited = (): void => setCheck(null);

  return (
    <Dialog title="Switch to a hosted gateway" onClose={closeDialog} wide>
      <form onSubmit={verify} noValidate>
        <p className="muted">Your deployments then serve through that gateway instead of the one built into this app{gateway?.mode === 'embedded' ? ` (${gateway.url})` : ''}. Nothing changes until you confirm, and nothing stops until the new gateway has taken over.</p>
        <label htmlFor={ids.url}>Gateway URL</label>
        <input id={ids.url} value={url} placeholder="https://gateway.example.com" autoComplete="off" spellCheck={false} onChange={(e) => { setUrl(e.target.value); edited(); }} />
        <label htmlFor={ids.key}>Its API key <span className="muted">(optional: lets the app create tunnel tokens there)</span></label>
        <input id={ids.key} type="password" value={key} autoComplete="off" onChange={(e) => { setKey(e.target.value); edited(); }} />
        {check && (
          <div className={check.problem ? 'form-error' : 'note'} role={check.problem ? 'alert' : 'status'} style={{ marginTop: 12 }}>
            {check.problem ? (
              <p>{check.problem}</p>
            ) : (
              <>
                <p><strong>{check.url} answers{check.version ? ` (Tokios ${check.version})` : ''}{check.keyAccepted ? ' and accepts the key' : ''}.</strong> If you switch:</p>
                <ul className="check-list">{check.consequences.map((c) => <li key={c}>• {c}</li>)}</ul>
              </>
            )}
          </div>
        )}
        {error && <p className="form-error" role="alert">{error}</p>}
        <footer>
          <button type="button" className="ghost" onClick={closeDialog}>Cancel</button>
          {checked ? (
            <button type="submit" disabled={busy !== null} aria-busy={busy === 'switching'}>{busy === 'switching' ? 'Switching…' : 'Switch gateway'}</button>
          ) : (
            <button type="submit" disabled={busy !== null || !url.trim()} aria-busy={busy === 'checking'}>{busy === 'checking' ? 'Checking…' : 'Check gateway'}</button>
          )}
        </footer>
      </form>
    </Dialog>
  );
}

export function RotateKeyDialog() {
  const gateway = useApp((s) => s.gateway);
  const { rotateApiKey, closeDialog, notify } = useActions();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <Dialog title="Rotate the API key" onClose={closeDialog}>
      <p>A new key replaces <code>{gateway?.apiKey}</code>. <strong>Every client that uses the current key gets "invalid API key" (401) at once</strong>, until you give it the new one.</p>
      <p className="muted">Rotate when the key may have leaked. Deployments and their tunnels are not affected.</p>
      {error && <p className="form-error" role="alert">{error}</p>}
      <footer>
        <button type="button" className="ghost" onClick={closeDialog} data-autofocus>Cancel</button>
        <button type="button" className="danger solid" disabled={busy} aria-busy={busy} onClick={() => {
          setBusy(true);
          rotateApiKey().then(
            () => { closeDialog(); notify('The API key was replaced. Copy the new one into your clients.'); },
            (e: Error) => { setError(e.message); setBusy(false); },
          );
        }}>{busy ? 'Rotating…' : 'Rotate key'}</button>
      </footer>
    </Dialog>
  );
}

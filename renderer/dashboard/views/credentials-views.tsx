import { PageHeader } from '../../components/controls';
import { useId, useState, type FormEvent } from 'react';
import type { CreateKeyInput, CredentialView, KeyScope } from '../../../shared/hosted-api';
import { useDashboard, useDashboardActions } from '../dashboard-store';

/** Tunnel tokens, API keys and signed-in devices: create (the secret shows once), list, revoke. */

function when(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString() : '—';
}

function RevokeButton({ kind, credential }: { kind: 'api-keys' | 'tunnel-tokens'; credential: CredentialView }) {
  const { revoke } = useDashboardActions();
  const [busy, setBusy] = useState(false);
  if (credential.status !== 'active') return null;
  const name = credential.label ?? credential.id;
  return (
    <button
      type="button"
      className="danger"
      disabled={busy}
      aria-label={`Revoke ${name}`}
      onClick={async () => {
        if (!confirm(`Revoke ${name}? Whatever uses it stops working within a second.`)) return;
        setBusy(true);
        await revoke(kind, credential.id).catch(() => undefined);
        setBusy(false);
      }}
    >
      Revoke
    </button>
  );
}

function Status({ credential }: { credential: CredentialView }) {
  return <span className={`status-${credential.status}`}>{credential.status}</span>;
}

export function TunnelTokensView() {
  const tokens = useDashboard((s) => s.tokens);
  const { createToken } = useDashboardActions();
  const [label, setLabel] = useState('');
  const [deployment, setDeployment] = useState('');
  const [busy, setBusy] = useState(false);
  const ids = { label: useId(), deployment: useId() };
  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    try {
      await createToken({ ...(label.trim() ? { label: label.trim() } : {}), ...(deployment.trim() ? { deployment: deployment.trim() } : {}) });
      setLabel('');
      setDeployment('');
    } catch {
      // shown by the store
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="tokens-title">
      <PageHeader title="Tunnel tokens" id="tokens-title" />
      <form className="panel" onSubmit={submit} aria-label="Create a tunnel token">
        <h2>Create a tunnel token</h2>
        <p className="muted small">A connector opens its tunnel with it. Give it a deployment name to bind that name now (a name another token holds is not moved: that is the swap).</p>
        <div className="form-grid">
          <div><label htmlFor={ids.deployment}>Deployment name</label><input id={ids.deployment} value={deployment} placeholder="gemma-tunnel" onChange={(e) => setDeployment(e.target.value)} /></div>
          <div><label htmlFor={ids.label}>Label</label><input id={ids.label} value={label} placeholder="which machine runs it" onChange={(e) => setLabel(e.target.value)} /></div>
          <div><button type="submit" disabled={busy}>Create token</button></div>
        </div>
      </form>
      <div className="table-wrap">
        <table aria-label="Tunnel tokens">
          <thead><tr><th>Label</th><th>Deployment</th><th>Status</th><th>Last used</th><th>Created</th><th /></tr></thead>
          <tbody>
            {tokens.map((t) => (
              <tr key={t.id} data-testid={`token-${t.label ?? t.id}`}>
                <td>{t.label ?? <code>{t.id}</code>}</td>
                <td>{t.deployment ?? '—'}</td>
                <td><Status credential={t} /></td>
                <td>{when(t.lastUsed)}</td>
                <td>{when(t.created)}</td>
                <td className="actions"><RevokeButton kind="tunnel-tokens" credential={t} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function KeysTable({ keys, label }: { keys: CredentialView[]; label: string }) {
  return (
    <div className="table-wrap">
      <table aria-label={label}>
        <thead><tr><th>Label</th><th>Scope</th><th>Deployments</th><th>Limits</th><th>Status</th><th>Last used</th><th>Expires</th><th /></tr></thead>
        <tbody>
          {keys.map((k) => (
            <tr key={k.id} data-testid={`key-${k.label ?? k.id}`}>
              <td>{k.label ?? <code>{k.id}</code>}</td>
              <td>{k.scope}</td>
              <td>{k.models?.join(', ') ?? 'all'}</td>
              <td>{Object.entries(k.limits ?? {}).map(([n, v]) => `${v} ${n}`).join(' · ') || '—'}</td>
              <td><Status credential={k} /></td>
              <td>{when(k.lastUsed)}</td>
              <td>{when(k.expires)}</td>
              <td className="actions"><RevokeButton kind="api-keys" credential={k} /></td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function ApiKeysView() {
  const keys = useDashboard((s) => s.keys).filter((k) => !k.device);
  const { createKey } = useDashboardActions();
  const [form, setForm] = useState({ label: '', scope: 'client' as KeyScope, models: '', rpm: '', tpm: '', parallel: '', expires: '' });
  const [busy, setBusy] = useState(false);
  const id = useId();
  const field = (name: keyof typeof form, text: string, placeholder = '') => (
    <div>
      <label htmlFor={`${id}-${name}`}>{text}</label>
      <input id={`${id}-${name}`} value={form[name]} placeholder={placeholder} onChange={(e) => setForm({ ...form, [name]: e.target.value })} />
    </div>
  );
  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    const input: CreateKeyInput = { scope: form.scope };
    if (form.label.trim()) input.label = form.label.trim();
    if (form.expires.trim()) input.expires = form.expires.trim();
    const models = form.models.split(',').map((m) => m.trim()).filter(Boolean);
    if (models.length) input.models = models;
    for (const limit of ['rpm', 'tpm', 'parallel'] as const) if (form[limit].trim()) input[limit] = Number(form[limit]);
    setBusy(true);
    try {
      await createKey(input);
      setForm({ label: '', scope: 'client', models: '', rpm: '', tpm: '', parallel: '', expires: '' });
    } catch {
      // shown by the store
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="keys-title">
      <PageHeader title="API keys" id="keys-title" />
      <form className="panel" onSubmit={submit} aria-label="Create an API key">
        <h2>Create an API key</h2>
        <div className="form-grid">
          {field('label', 'Label', 'who it is for')}
          <div>
            <label htmlFor={`${id}-scope`}>Scope</label>
            <select id={`${id}-scope`} value={form.scope} onChange={(e) => setForm({ ...form, scope: e.target.value as KeyScope })}>
              <option value="client">client (inference only)</option>
              <option value="admin">admin (also keys, tokens, usage)</option>
            </select>
          </div>
          {field('models', 'Only deployments', 'all')}
          {field('rpm', 'Requests/min')}
          {field('tpm', 'Tokens/min')}
          {field('parallel', 'In parallel')}
          {field('expires', 'Expires in', 'e.g. 30d')}
          <div><button type="submit" disabled={busy}>Create key</button></div>
        </div>
      </form>
      <KeysTable keys={keys} label="API keys" />
    </section>
  );
}

export function DevicesView() {
  const devices = useDashboard((s) => s.keys).filter((k) => k.device);
  return (
    <section aria-labelledby="devices-title">
      <PageHeader title="Devices" id="devices-title" />
      <p className="muted">Tokios apps signed in to this account. Revoking one signs it out: its tunnel tokens keep working until you revoke them too.</p>
      {devices.length === 0 ? <p className="empty">No devices have signed in.</p> : <KeysTable keys={devices} label="Devices" />}
    </section>
  );
}

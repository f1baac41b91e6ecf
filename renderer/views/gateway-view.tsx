import { useId, useState, type FormEvent } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { CopyButton } from '../components/controls';
import { useActions, useApp } from '../store/app-store';

/** Where clients connect: the URL, the API key (copied on demand, never kept), snippets. */
export function GatewayView() {
  const gateway = useApp((s) => s.gateway);
  const app = useApp((s) => s.app);
  const names = useApp(useShallow((s) => s.order.filter((id) => !id.startsWith('file:')).map((id) => s.deployments[id]?.name ?? '').filter(Boolean)));
  const { withApiKey, useRemoteGateway, useEmbeddedGateway, notify } = useActions();
  const [remoteUrl, setRemoteUrl] = useState('');
  const [remoteKey, setRemoteKey] = useState('');
  const [busy, setBusy] = useState(false);
  const ids = { url: useId(), key: useId() };
  if (!gateway) return <p className="muted" role="status">Loading…</p>;

  const base = `${gateway.url}/v1`;
  const model = names[0] ?? 'your-deployment';
  const keyText = gateway.apiKey ?? 'sk-tokios-…';
  const envSnippet = (key: string): string => `export OPENAI_BASE_URL=${base}\nexport OPENAI_API_KEY=${key}`;
  const curlSnippet = (key: string): string =>
    `curl ${base}/chat/completions \\\n  -H "Authorization: Bearer ${key}" -H "Content-Type: application/json" \\\n  -d '{"model": "${model}", "messages": [{"role": "user", "content": "Hello"}]}'`;
  const withKey = (build: (key: string) => string) => async (): Promise<string> => {
    let text = '';
    await withApiKey(async (key) => {
      text = build(key);
    });
    return text;
  };

  const switchRemote = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    try {
      await useRemoteGateway(remoteUrl.trim(), remoteKey.trim() || null);
      setRemoteKey('');
      notify('Now using the hosted gateway; deployments were registered there.');
    } catch (e) {
      notify((e as Error).message, 'error');
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="gateway-title">
      <div className="toolbar">
        <h1 id="gateway-title">Gateway</h1>
      </div>
      <div className="panel">
        <p>
          {gateway.mode === 'embedded' ? 'The built-in gateway runs on this machine.' : 'Using a hosted gateway.'}{' '}
          Clients reach every deployment here, choosing one by its name in <code>model</code>.
        </p>
        {gateway.error && <p className="form-error" role="alert">{gateway.error}</p>}
        <dl className="kv">
          <dt>Base URL</dt>
          <dd><code data-testid="gateway-url">{base}</code> <CopyButton label="Copy base URL" text={() => base} /></dd>
          <dt>API key</dt>
          <dd>
            <code>{keyText}</code>{' '}
            {gateway.apiKey && <CopyButton label="Copy API key" text={withKey((key) => key)} />}
          </dd>
          <dt>Deployments</dt>
          <dd>{names.length ? names.map((n) => <code key={n} className="tag">{n}</code>) : <span className="muted">none yet</span>}</dd>
        </dl>
      </div>

      <div className="panel">
        <h2>Use it from your tools</h2>
        <p>OpenAI-compatible clients and coding agents:</p>
        <pre aria-label="Environment variables">{envSnippet(keyText)}</pre>
        {gateway.apiKey && <CopyButton label="Copy environment variables" text={withKey(envSnippet)} />}
        <p>Or straight from a terminal:</p>
        <pre aria-label="curl example">{curlSnippet(keyText)}</pre>
        {gateway.apiKey && <CopyButton label="Copy curl command" text={withKey(curlSnippet)} />}
      </div>

      <div className="panel">
        <h2>Which gateway</h2>
        {gateway.mode === 'remote' && (
          <p>
            <button type="button" className="ghost" disabled={busy} onClick={() => { setBusy(true); void useEmbeddedGateway().catch((e: Error) => notify(e.message, 'error')).finally(() => setBusy(false)); }}>
              Use the built-in gateway
            </button>
          </p>
        )}
        <form onSubmit={switchRemote} className="stack">
          <label htmlFor={ids.url}>Hosted gateway URL</label>
          <input id={ids.url} value={remoteUrl} placeholder="https://gateway.example.com" onChange={(e) => setRemoteUrl(e.target.value)} />
          <label htmlFor={ids.key}>Its API key (optional: lets the app create tunnel tokens)</label>
          <input id={ids.key} type="password" value={remoteKey} autoComplete="off" onChange={(e) => setRemoteKey(e.target.value)} />
          <button type="submit" disabled={busy || !remoteUrl.trim()} aria-busy={busy}>{busy ? 'Switching…' : 'Use this gateway'}</button>
        </form>
      </div>
      {app && (
        <p className="muted small">
          Tokios {app.version} · data in {app.dataDir} · config folder {app.configDir}
          {app.configDirError ? ` · ${app.configDirError}` : ''}
          {app.secretStorage.warning ? ` · ${app.secretStorage.warning}` : ''}
        </p>
      )}
    </section>
  );
}

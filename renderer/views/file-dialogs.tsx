import { useId, useRef, useState, type ChangeEvent, type ClipboardEvent, type DragEvent } from 'react';
import type { ExportResult } from '../../shared/api';
import { isTokiosError } from '../../shared/errors';
import { maskSecret } from '../../shared/names';
import { parseTokiosConfig, type TokiosConfig } from '../../shared/tokios-config';
import { Dialog } from '../components/controls';
import { useActions, useApp } from '../store/app-store';

/** Export and import of tokios.json files, and removal — the three that need confirming. */

/**
 * The host chooses where an export goes: Electron asks with the system's save dialog;
 * headless hands the browser a one-time download, which the browser saves as it saves
 * anything. The page never names a path and never holds the file's token.
 */
export function ExportDialog({ id }: { id: string }) {
  const d = useApp((s) => s.deployments[id]);
  const host = useApp((s) => s.app?.host ?? 'headless');
  const { exportDeployment, closeDialog } = useActions();
  const [result, setResult] = useState<ExportResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const start = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      const outcome = await exportDeployment(id);
      if (outcome.outcome === 'download') {
        const link = document.createElement('a');
        link.href = outcome.url;
        link.download = outcome.fileName;
        document.body.appendChild(link);
        link.click();
        link.remove();
      }
      setResult(outcome);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const done = result && result.outcome !== 'cancelled' ? result : null;
  return (
    <Dialog title={`Export ${d?.name ?? ''}`} onClose={closeDialog}>
      {done ? (
        <>
          <p role="status">{done.outcome === 'saved' ? <>Saved to <code>{done.path}</code>.</> : <>Your browser is saving <code>{done.fileName}</code> (see its downloads).</>}</p>
          <p className="warning">{done.warning}</p>
          <p className="muted">{done.runHint}</p>
          <footer><button type="button" onClick={closeDialog} data-autofocus>Done</button></footer>
        </>
      ) : (
        <>
          <p>A <code>tokios.json</code> runs this deployment's connector anywhere with <code>tokios connect</code>.</p>
          <p className="warning">The file holds this deployment's tunnel token: whoever has it can serve '{d?.name}'. Keep it like a password.</p>
          <p className="muted">{host === 'electron' ? 'You choose where to save it next; it is written readable only by you.' : 'Your browser downloads it like any other file.'}</p>
          {result?.outcome === 'cancelled' && <p className="muted" role="status">Nothing was exported.</p>}
          {error && <p className="form-error" role="alert">{error}</p>}
          <footer>
            <button type="button" className="ghost" onClick={closeDialog}>Cancel</button>
            <button type="button" disabled={busy} aria-busy={busy} onClick={() => void start()} data-autofocus>{busy ? 'Exporting…' : host === 'electron' ? 'Export…' : 'Download'}</button>
          </footer>
        </>
      )}
    </Dialog>
  );
}

/**
 * Import from a file (picked, dropped or pasted). The file's text stays in this dialog's
 * memory until it is imported; what shows is a summary with the token masked.
 */
export function ImportDialog() {
  const { importDeployment, closeDialog, notify, navigate, checkName } = useActions();
  const text = useRef('');
  const [fileName, setFileName] = useState('tokios.json');
  const [parsed, setParsed] = useState<TokiosConfig | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [swapName, setSwapName] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [over, setOver] = useState(false);
  const ids = { file: useId(), paste: useId() };

  const take = (content: string, name: string): void => {
    text.current = content;
    setFileName(name);
    setSwapName(null);
    try {
      setParsed(parseTokiosConfig(content, name));
      setError(null);
    } catch (e) {
      setParsed(null);
      setError(isTokiosError(e) ? e.message : String(e));
    }
  };
  const pick = async (event: ChangeEvent<HTMLInputElement>): Promise<void> => {
    const file = event.target.files?.[0];
    if (file) take(await file.text(), file.name);
    event.target.value = '';
  };
  const drop = async (event: DragEvent<HTMLDivElement>): Promise<void> => {
    event.preventDefault();
    setOver(false);
    const file = event.dataTransfer.files[0];
    if (file) take(await file.text(), file.name);
  };
  const paste = (event: ClipboardEvent<HTMLTextAreaElement>): void => {
    event.preventDefault();
    take(event.clipboardData.getData('text'), 'pasted tokios.json');
  };
  const submit = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      const view = await importDeployment(text.current, fileName, swapName !== null);
      text.current = '';
      notify(`Imported '${view.name}'.`);
      closeDialog();
      navigate({ name: 'deployment', id: view.id });
    } catch (e) {
      const err = e as Error & { code?: string };
      if (err.code === 'CONFLICT') {
        const name = /^'([^']+)'/.exec(err.message)?.[1] ?? null;
        if (name && (await checkName(name)).swapsWith) {
          setSwapName(name);
          return;
        }
      }
      setError(err.message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title="Import tokios.json" onClose={closeDialog} wide>
      <div className={`dropzone ${over ? 'over' : ''}`} onDragOver={(e) => { e.preventDefault(); setOver(true); }} onDragLeave={() => setOver(false)} onDrop={(e) => void drop(e)}>
        <span>Drop a <code>tokios.json</code> here, or</span>
        <input id={ids.file} className="visually-hidden" tabIndex={-1} type="file" accept=".json,application/json" onChange={(e) => void pick(e)} aria-label="File" />
        <label htmlFor={ids.file} className="button ghost" style={{ margin: 0 }} onKeyDown={(e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); document.getElementById(ids.file)?.click(); } }} tabIndex={0} role="button">Choose file…</label>
        <label htmlFor={ids.paste} className="visually-hidden">Paste its contents</label>
        <textarea id={ids.paste} className="paste-target" value="" placeholder="…or paste its contents here (Ctrl+V)" onPaste={paste} onChange={() => undefined} spellCheck={false} />
      </div>
      {parsed && (
        <dl className="kv" style={{ marginTop: 12 }} aria-label="What will be imported">
          <dt>From</dt><dd>{fileName}</dd>
          <dt>Name</dt><dd>{parsed.name ?? <span className="muted">from the file name</span>}</dd>
          <dt>Model server</dt><dd>{parsed.upstream}</dd>
          {parsed.model && <><dt>Model</dt><dd>{parsed.model}</dd></>}
          <dt>Tunnel token</dt><dd><code>{maskSecret(parsed.tunnel_token)}</code></dd>
          {parsed.gateway && <><dt>Gateway</dt><dd>{parsed.gateway} <span className="muted">(the app uses its own gateway)</span></dd></>}
        </dl>
      )}
      {swapName && (
        <div className="note" role="note">
          <p><strong>'{swapName}' already exists.</strong> Importing swaps its backend to this file's upstream and token; clients keep using '{swapName}'.</p>
        </div>
      )}
      {error && <p className="form-error" role="alert">{error}</p>}
      <footer>
        <button type="button" className="ghost" onClick={closeDialog}>Cancel</button>
        <button type="button" disabled={busy || !parsed} aria-busy={busy} onClick={() => void submit()}>{busy ? 'Importing…' : swapName ? 'Swap backend' : 'Import'}</button>
      </footer>
    </Dialog>
  );
}

export function RemoveDialog({ id }: { id: string }) {
  const d = useApp((s) => s.deployments[id]);
  const { removeDeployment, closeDialog, navigate, notify } = useActions();
  const [busy, setBusy] = useState(false);
  return (
    <Dialog title={`Remove ${d?.name ?? ''}`} onClose={closeDialog}>
      <p>Stops its tunnel (requests in flight finish) and removes '{d?.name}' from the gateway. Clients using it will get "model not found".</p>
      <footer>
        <button type="button" className="ghost" onClick={closeDialog} data-autofocus>Cancel</button>
        <button type="button" className="danger solid" disabled={busy} aria-busy={busy}
          onClick={() => {
            setBusy(true);
            void removeDeployment(id).then(
              () => { closeDialog(); navigate({ name: 'deployments' }); notify(`Removed '${d?.name}'.`); },
              (e: Error) => { setBusy(false); notify(e.message, 'error'); },
            );
          }}>
          {busy ? 'Removing…' : 'Remove'}
        </button>
      </footer>
    </Dialog>
  );
}

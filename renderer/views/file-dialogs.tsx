import { useId, useState, type ChangeEvent, type FormEvent } from 'react';
import type { ExportResult } from '../../shared/api';
import { Dialog } from '../components/controls';
import { useActions, useApp } from '../store/app-store';

/** Export and import of tokios.json files, and removal — the three that need confirming. */

export function ExportDialog({ id }: { id: string }) {
  const d = useApp((s) => s.deployments[id]);
  const { exportDeployment, closeDialog } = useActions();
  const [path, setPath] = useState('');
  const [result, setResult] = useState<ExportResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const pathId = useId();
  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setResult(await exportDeployment(id, path.trim() || undefined));
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title={`Export ${d?.name ?? ''}`} onClose={closeDialog}>
      {result ? (
        <>
          <p role="status">Saved to <code>{result.path}</code>.</p>
          <p className="warning">{result.warning}</p>
          <p>Run the same connector on a server with <code>tokios connect --config {result.path.split('/').pop()}</code>.</p>
          <footer><button type="button" onClick={closeDialog}>Done</button></footer>
        </>
      ) : (
        <form onSubmit={submit}>
          <p className="warning">The file holds this deployment's tunnel token: whoever has it can serve '{d?.name}'. It is written readable only by you (mode 0600).</p>
          <label htmlFor={pathId}>Save as (leave empty for your Downloads folder)</label>
          <input id={pathId} value={path} placeholder={`tokios-${d?.name ?? 'deployment'}.json`} onChange={(e) => setPath(e.target.value)} />
          {error && <p className="form-error" role="alert">{error}</p>}
          <footer>
            <button type="button" className="ghost" onClick={closeDialog}>Cancel</button>
            <button type="submit" disabled={busy} aria-busy={busy}>{busy ? 'Exporting…' : 'Export'}</button>
          </footer>
        </form>
      )}
    </Dialog>
  );
}

export function ImportDialog() {
  const { importDeployment, closeDialog, notify, navigate, checkName } = useActions();
  const [text, setText] = useState('');
  const [fileName, setFileName] = useState('tokios.json');
  const [error, setError] = useState<string | null>(null);
  const [swapName, setSwapName] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const fileId = useId();
  const textId = useId();
  const pick = async (event: ChangeEvent<HTMLInputElement>): Promise<void> => {
    const file = event.target.files?.[0];
    if (!file) return;
    setFileName(file.name);
    setText(await file.text());
    setError(null);
    setSwapName(null);
  };
  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const view = await importDeployment(text, fileName, swapName !== null);
      setText('');
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
      <form onSubmit={submit}>
        <label htmlFor={fileId}>File</label>
        <input id={fileId} type="file" accept=".json,application/json" onChange={(e) => void pick(e)} />
        <label htmlFor={textId}>…or paste its contents</label>
        <textarea id={textId} rows={4} value={text} spellCheck={false} placeholder='{"tunnel_token": "tt-…", "upstream": "http://localhost:11434"}' onChange={(e) => { setText(e.target.value); setSwapName(null); }} />
        {swapName && (
          <div className="swap-note" role="note">
            <p><strong>'{swapName}' already exists.</strong> Importing swaps its backend to this file's upstream and token; clients keep using '{swapName}'.</p>
          </div>
        )}
        {error && <p className="form-error" role="alert">{error}</p>}
        <footer>
          <button type="button" className="ghost" onClick={closeDialog}>Cancel</button>
          <button type="submit" disabled={busy || !text.trim()} aria-busy={busy}>{busy ? 'Importing…' : swapName ? 'Swap backend' : 'Import'}</button>
        </footer>
      </form>
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
        <button type="button" className="ghost" onClick={closeDialog}>Cancel</button>
        <button type="button" className="danger" disabled={busy} aria-busy={busy}
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

import { useEffect, useId, useMemo, useRef, useState, type FormEvent } from 'react';
import type { NameCheck, ProbeResult } from '../../shared/api';
import { deploymentNameProblem, normalizeDeploymentName, tunnelTokenProblem } from '../../shared/names';
import { upstreamFromInput } from '../../shared/tokios-config';
import { Dialog } from '../components/controls';
import { KIND_LABEL } from '../format';
import { useActions, useApp } from '../store/app-store';

/**
 * Add or edit a deployment. Says how a typed name and URL will be saved (spaces become
 * '-', `localhost:8080` gets its `http://`), checks a pasted token with the gateway as soon
 * as it is pasted, says whether anything answers at the URL, explains a swap or a rename
 * before it happens, puts a failed save's reason next to the field it concerns, and never
 * shows a saved token again.
 */

type Field = 'name' | 'upstream' | 'token';

/** Which field a failed save is about, from the error's stable code and subject. */
function fieldOf(error: Error & { code?: string }): Field | null {
  if (error.code === 'TOKEN_INVALID' || error.code === 'UNAUTHORIZED' || /tunnel token/i.test(error.message)) return 'token';
  if (error.code === 'NAME_INVALID' || error.code === 'CONFLICT') return 'name';
  if (/^Upstream URL/.test(error.message)) return 'upstream';
  return null;
}

/** Gateway jargon in the words a person uses. */
function plain(message: string): string {
  return message
    .replace(/^gateway (\S+) refused POST \/v1\/deployments: /, 'The gateway at $1 said: ')
    .replace('Tunnel token rejected: this gateway did not issue it (or it was revoked).', 'This gateway did not issue this tunnel token (or it was revoked). Leave the field empty to let the app create one, or paste a token from this gateway.');
}

export function DeploymentForm({ editId, preset }: { editId?: string; preset?: { name?: string; upstream?: string; model?: string | null } }) {
  const editing = useApp((s) => (editId ? s.deployments[editId] : undefined));
  const upstreams = useApp((s) => s.upstreams);
  const canMint = useApp((s) => s.gateway?.canMintTokens ?? false);
  const { createDeployment, updateDeployment, checkName, checkToken, probe, closeDialog, notify, navigate } = useActions();
  const [rawName, setRawName] = useState(editing?.name ?? preset?.name ?? '');
  const [rawUpstream, setRawUpstream] = useState(editing?.upstream ?? preset?.upstream ?? upstreams[0]?.url ?? 'http://127.0.0.1:11434');
  const [model, setModel] = useState(editing?.model ?? preset?.model ?? '');
  const [token, setToken] = useState('');
  const [startNow, setStartNow] = useState(editing?.enabled ?? true);
  const [check, setCheck] = useState<NameCheck | null>(null);
  const [confirmSwap, setConfirmSwap] = useState(false);
  const [tokenVerdict, setTokenVerdict] = useState<{ token: string; problem: string | null; known: boolean | null } | null>(null);
  const [probed, setProbed] = useState<ProbeResult | null>(null);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<{ field: Field | null; message: string } | null>(null);
  const [touched, setTouched] = useState<Record<string, boolean>>({});
  const ids = { name: useId(), token: useId(), upstream: useId(), model: useId(), upstreams: useId(), models: useId() };
  const refs = { name: useRef<HTMLInputElement>(null), upstream: useRef<HTMLInputElement>(null), token: useRef<HTMLInputElement>(null) };

  const name = normalizeDeploymentName(rawName);
  const upstream = useMemo(() => {
    try {
      return { url: upstreamFromInput(rawUpstream, (p) => new Error(p)), problem: null };
    } catch (e) {
      return { url: null, problem: `The URL ${(e as Error).message}.` };
    }
  }, [rawUpstream]);

  useEffect(() => {
    if (deploymentNameProblem(name)) return setCheck(null);
    const timer = setTimeout(() => void checkName(name, editId).then(setCheck, () => setCheck(null)), 200);
    return () => clearTimeout(timer);
  }, [name, editId, checkName]);

  // Whether anything answers at the URL: said, never blocking (the server may start later).
  useEffect(() => {
    if (!upstream.url) return setProbed(null);
    const url = upstream.url;
    const timer = setTimeout(() => void probe(url).then((result) => setProbed(result.url === url ? result : null), () => setProbed(null)), 400);
    return () => clearTimeout(timer);
  }, [upstream.url, probe]);

  // A pasted token is checked with the gateway at once, not at Save.
  const trimmedToken = token.trim();
  useEffect(() => {
    if (!trimmedToken || tunnelTokenProblem(trimmedToken)) return;
    const timer = setTimeout(() => void checkToken(trimmedToken).then((v) => setTokenVerdict({ token: trimmedToken, ...v }), () => undefined), 150);
    return () => clearTimeout(timer);
  }, [trimmedToken, checkToken]);

  const nameProblem = rawName.trim() === '' ? 'Give it a name; clients will put it in "model".' : deploymentNameProblem(name) ? `The name ${deploymentNameProblem(name)}.` : null;
  const tokenRequired = !editing && !canMint;
  const formatProblem = trimmedToken ? tunnelTokenProblem(trimmedToken) : null;
  const verdict = tokenVerdict?.token === trimmedToken ? tokenVerdict : null;
  const tokenProblem = formatProblem ? `The tunnel token ${formatProblem}.` : (verdict?.problem ?? (tokenRequired && !trimmedToken ? 'Paste the tunnel token your gateway gave you.' : null));
  const swap = check?.swapsWith ?? null;
  const renaming = editing && name !== editing.name && !nameProblem;
  const blocked = Boolean(nameProblem || upstream.problem || tokenProblem || (swap && !confirmSwap));
  const models = probed?.models.length ? probed.models : (upstreams.find((u) => u.url === upstream.url)?.models ?? []);

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setTouched({ name: true, upstream: true, token: true });
    if (blocked || saving) {
      const first: Field | null = nameProblem ? 'name' : upstream.problem ? 'upstream' : tokenProblem ? 'token' : null;
      if (first) refs[first].current?.focus();
      return;
    }
    setSaving(true);
    setError(null);
    try {
      const input = { name, upstream: upstream.url!, model: model.trim() || null, enabled: startNow, ...(trimmedToken ? { token: trimmedToken } : {}), ...(swap ? { replace: true } : {}) };
      const view = editId ? await updateDeployment(editId, input) : await createDeployment(input);
      setToken('');
      notify(swap ? `'${view.name}' now points at ${view.upstream}; its traffic moves as soon as the new tunnel is online.` : `Saved '${view.name}'.`);
      closeDialog();
      navigate({ name: 'deployment', id: view.id });
    } catch (e) {
      const field = fieldOf(e as Error & { code?: string });
      setError({ field, message: plain((e as Error).message) });
      setTouched({ name: true, upstream: true, token: true });
      if (field) refs[field].current?.focus();
    } finally {
      setSaving(false);
    }
  };

  const problemOf = (field: Field, problem: string | null): string | null => (error?.field === field ? error.message : touched[field] ? problem : null);
  const nameShown = problemOf('name', nameProblem);
  const upstreamShown = problemOf('upstream', upstream.problem);
  // A pasted token is judged at once (format first, then the gateway's answer), not at Save.
  const tokenShown = error?.field === 'token' ? error.message : trimmedToken ? tokenProblem : problemOf('token', tokenProblem);
  const nameHint = name !== rawName.trim() && !nameProblem ? `Saved as '${name}': names cannot contain spaces.` : 'What clients put in "model". Letters, digits, ".", "_", ":" and "-".';
  const upstreamNote = (() => {
    if (upstreamShown) return { cls: 'field-error', text: upstreamShown };
    if (!upstream.url) return { cls: 'hint', text: 'Ollama listens on http://127.0.0.1:11434, llama-server on http://127.0.0.1:8080.' };
    const saved = upstream.url !== rawUpstream.trim() ? `Saved as ${upstream.url}. ` : '';
    if (!probed) return { cls: 'hint', text: `${saved}Checking what answers there…` };
    if (probed.reachable && probed.kind !== 'unknown') return { cls: 'field-ok', text: `${saved}${KIND_LABEL[probed.kind]} answers here${probed.models.length ? ` with ${probed.models.length} model${probed.models.length === 1 ? '' : 's'}` : ''}.` };
    return { cls: 'field-warn', text: `${saved}Nothing answers at ${upstream.url} yet. You can save anyway; the deployment shows "model server down" until the server starts.` };
  })();

  return (
    <Dialog title={editId ? `Edit ${editing?.name ?? 'deployment'}` : 'Add deployment'} onClose={closeDialog} wide>
      <form onSubmit={submit} noValidate>
        {error && !error.field && <p className="form-error" role="alert">{error.message}</p>}
        <label htmlFor={ids.name}>Name</label>
        <input id={ids.name} ref={refs.name} value={rawName} autoComplete="off" spellCheck={false} placeholder="gemma-tunnel" aria-describedby={`${ids.name}-hint`} aria-invalid={Boolean(nameShown)}
          onChange={(e) => { setRawName(e.target.value); setConfirmSwap(false); if (error?.field === 'name') setError(null); }} onBlur={() => setTouched((t) => ({ ...t, name: true }))} />
        <p id={`${ids.name}-hint`} className={nameShown ? 'field-error' : 'hint'} role={nameShown ? 'alert' : undefined}>{nameShown ?? nameHint}</p>
        {swap && (
          <div className="note" role="note">
            <p><strong>'{name}' is already the name of the deployment for {swap.upstream}.</strong> Saving swaps its backend: clients keep using '{name}', and its traffic moves here as soon as this tunnel is online. Requests in flight finish on the old one.</p>
            <label className="inline"><input type="checkbox" checked={confirmSwap} onChange={(e) => setConfirmSwap(e.target.checked)} /> Swap the backend of '{name}'</label>
          </div>
        )}
        {renaming && !swap && (
          <div className="note" role="note">
            <p><strong>Clients that use '{editing.name}' will get "model not found"</strong> once you save: the gateway knows this deployment as '{name}' from then on. Update them to use '{name}'.</p>
          </div>
        )}

        <label htmlFor={ids.upstream}>Model server URL</label>
        <input id={ids.upstream} ref={refs.upstream} value={rawUpstream} list={ids.upstreams} spellCheck={false} aria-invalid={Boolean(upstreamShown)} aria-describedby={`${ids.upstream}-hint`}
          onChange={(e) => { setRawUpstream(e.target.value); if (error?.field === 'upstream') setError(null); }} onBlur={() => setTouched((t) => ({ ...t, upstream: true }))} />
        <datalist id={ids.upstreams}>{upstreams.map((u) => <option key={u.url} value={u.url} />)}</datalist>
        <p id={`${ids.upstream}-hint`} className={upstreamNote.cls} role="status">{upstreamNote.text}</p>

        <label htmlFor={ids.model}>Upstream model</label>
        <input id={ids.model} value={model ?? ''} list={ids.models} spellCheck={false} placeholder={models[0] ?? 'gemma3:4b'} aria-describedby={`${ids.model}-hint`} onChange={(e) => setModel(e.target.value)} />
        <datalist id={ids.models}>{models.map((m) => <option key={m} value={m} />)}</datalist>
        <p id={`${ids.model}-hint`} className="hint">{models.length ? `This server has: ${models.slice(0, 6).join(', ')}${models.length > 6 ? ', …' : ''}.` : 'Leave empty when the server has a single model.'}</p>

        <label htmlFor={ids.token}>Tunnel token</label>
        <input id={ids.token} ref={refs.token} type="password" value={token} autoComplete="off" spellCheck={false} aria-invalid={Boolean(tokenShown)} aria-describedby={`${ids.token}-hint`}
          placeholder={editing ? `unchanged (${editing.token})` : canMint ? 'leave empty to create one' : 'tt-…'}
          onChange={(e) => { setToken(e.target.value); if (error?.field === 'token') setError(null); }} onBlur={() => setTouched((t) => ({ ...t, token: true }))} />
        <p id={`${ids.token}-hint`} className={tokenShown ? 'field-error' : verdict?.known ? 'field-ok' : 'hint'} role={tokenShown ? 'alert' : undefined}>
          {tokenShown ?? (verdict?.known ? 'The gateway knows this token.' : editing ? 'Paste a new token only to replace it. Saved tokens are never shown again.' : canMint ? 'The built-in gateway creates one if you leave this empty.' : 'From your gateway (tokios token create). It is stored encrypted and never shown again.')}
        </p>

        <label className="inline"><input type="checkbox" checked={startNow} onChange={(e) => setStartNow(e.target.checked)} /> Run this deployment</label>

        <footer>
          <button type="button" className="ghost" onClick={closeDialog}>Cancel</button>
          <button type="submit" disabled={saving || (swap !== null && !confirmSwap)} aria-busy={saving}>{saving ? 'Saving…' : swap ? 'Swap backend' : renaming ? 'Rename' : 'Save'}</button>
        </footer>
      </form>
    </Dialog>
  );
}

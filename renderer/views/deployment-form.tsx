import { useEffect, useId, useMemo, useState, type FormEvent } from 'react';
import type { NameCheck } from '../../shared/api';
import { deploymentNameProblem, tunnelTokenProblem } from '../../shared/names';
import { normalizeUpstreamUrl } from '../../shared/tokios-config';
import { Dialog } from '../components/controls';
import { useActions, useApp } from '../store/app-store';

/**
 * Add or edit a deployment. Validates as the gateway will, explains a swap before it
 * happens, offers detected servers and their models (free text still allowed), and never
 * shows a saved token again.
 */

export function DeploymentForm({ editId, preset }: { editId?: string; preset?: { name?: string; upstream?: string; model?: string | null } }) {
  const editing = useApp((s) => (editId ? s.deployments[editId] : undefined));
  const upstreams = useApp((s) => s.upstreams);
  const canMint = useApp((s) => s.gateway?.canMintTokens ?? false);
  const { createDeployment, updateDeployment, checkName, closeDialog, notify, navigate } = useActions();
  const [name, setName] = useState(editing?.name ?? preset?.name ?? '');
  const [upstream, setUpstream] = useState(editing?.upstream ?? preset?.upstream ?? upstreams[0]?.url ?? 'http://127.0.0.1:11434');
  const [model, setModel] = useState(editing?.model ?? preset?.model ?? '');
  const [token, setToken] = useState('');
  const [startNow, setStartNow] = useState(editing?.enabled ?? true);
  const [check, setCheck] = useState<NameCheck | null>(null);
  const [confirmSwap, setConfirmSwap] = useState(false);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [touched, setTouched] = useState<Record<string, boolean>>({});
  const ids = { name: useId(), token: useId(), upstream: useId(), model: useId(), upstreams: useId(), models: useId() };

  useEffect(() => {
    if (deploymentNameProblem(name)) return setCheck(null);
    const timer = setTimeout(() => void checkName(name, editId).then(setCheck, () => setCheck(null)), 200);
    return () => clearTimeout(timer);
  }, [name, editId, checkName]);

  const nameProblem = name === '' ? 'Give it a name; clients will put it in "model".' : deploymentNameProblem(name) ? `The name ${deploymentNameProblem(name)}.` : null;
  const upstreamProblem = useMemo(() => {
    try {
      normalizeUpstreamUrl(upstream, (p) => new Error(p));
      return null;
    } catch (e) {
      return `The URL ${(e as Error).message}.`;
    }
  }, [upstream]);
  const tokenRequired = !editing && !canMint;
  const tokenProblem = token ? tunnelTokenProblem(token.trim()) : tokenRequired ? 'Paste the tunnel token your gateway gave you.' : null;
  const swap = check?.swapsWith ?? null;
  const blocked = Boolean(nameProblem || upstreamProblem || (tokenProblem && (token || tokenRequired)) || (swap && !confirmSwap));
  const models = upstreams.find((u) => u.url === upstream.replace(/\/+$/, ''))?.models ?? [];

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setTouched({ name: true, upstream: true, token: true });
    if (blocked || saving) return;
    setSaving(true);
    setError(null);
    try {
      const input = { name, upstream, model: model.trim() || null, enabled: startNow, ...(token.trim() ? { token: token.trim() } : {}), ...(swap ? { replace: true } : {}) };
      const view = editId ? await updateDeployment(editId, input) : await createDeployment(input);
      setToken('');
      notify(swap ? `'${view.name}' now points at ${view.upstream}; its traffic moves as soon as the new tunnel is online.` : `Saved '${view.name}'.`);
      closeDialog();
      navigate({ name: 'deployment', id: view.id });
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setSaving(false);
    }
  };

  const show = (field: string, problem: string | null): string | null => (touched[field] ? problem : null);

  return (
    <Dialog title={editId ? `Edit ${editing?.name ?? 'deployment'}` : 'Add deployment'} onClose={closeDialog} wide>
      <form onSubmit={submit} noValidate>
        <label htmlFor={ids.name}>Name</label>
        <input id={ids.name} value={name} autoComplete="off" spellCheck={false} placeholder="gemma-tunnel" aria-describedby={`${ids.name}-hint`} aria-invalid={Boolean(show('name', nameProblem))}
          onChange={(e) => { setName(e.target.value.trim()); setConfirmSwap(false); }} onBlur={() => setTouched((t) => ({ ...t, name: true }))} />
        <p id={`${ids.name}-hint`} className={show('name', nameProblem) ? 'field-error' : 'hint'}>{show('name', nameProblem) ?? 'What clients put in "model". Letters, digits, ".", "_", ":" and "-".'}</p>
        {swap && (
          <div className="swap-note" role="note">
            <p><strong>'{name}' is already the name of the deployment for {swap.upstream}.</strong> Saving swaps its backend: clients keep using '{name}', and its traffic moves here as soon as this tunnel is online. Requests in flight finish on the old one.</p>
            <label className="inline"><input type="checkbox" checked={confirmSwap} onChange={(e) => setConfirmSwap(e.target.checked)} /> Swap the backend of '{name}'</label>
          </div>
        )}

        <label htmlFor={ids.upstream}>Model server URL</label>
        <input id={ids.upstream} value={upstream} list={ids.upstreams} spellCheck={false} aria-invalid={Boolean(show('upstream', upstreamProblem))} aria-describedby={`${ids.upstream}-hint`}
          onChange={(e) => setUpstream(e.target.value.trim())} onBlur={() => setTouched((t) => ({ ...t, upstream: true }))} />
        <datalist id={ids.upstreams}>{upstreams.map((u) => <option key={u.url} value={u.url} />)}</datalist>
        <p id={`${ids.upstream}-hint`} className={show('upstream', upstreamProblem) ? 'field-error' : 'hint'}>{show('upstream', upstreamProblem) ?? 'Ollama listens on http://127.0.0.1:11434, llama-server on http://127.0.0.1:8080.'}</p>

        <label htmlFor={ids.model}>Upstream model</label>
        <input id={ids.model} value={model ?? ''} list={ids.models} spellCheck={false} placeholder={models[0] ?? 'gemma3:4b'} aria-describedby={`${ids.model}-hint`} onChange={(e) => setModel(e.target.value)} />
        <datalist id={ids.models}>{models.map((m) => <option key={m} value={m} />)}</datalist>
        <p id={`${ids.model}-hint`} className="hint">{models.length ? `This server has: ${models.slice(0, 6).join(', ')}${models.length > 6 ? ', …' : ''}.` : 'Leave empty when the server has a single model.'}</p>

        <label htmlFor={ids.token}>Tunnel token</label>
        <input id={ids.token} type="password" value={token} autoComplete="off" spellCheck={false} aria-invalid={Boolean(show('token', tokenProblem))} aria-describedby={`${ids.token}-hint`}
          placeholder={editing ? `unchanged (${editing.token})` : canMint ? 'leave empty to create one' : 'tt-…'}
          onChange={(e) => setToken(e.target.value)} onBlur={() => setTouched((t) => ({ ...t, token: true }))} />
        <p id={`${ids.token}-hint`} className={show('token', tokenProblem) ? 'field-error' : 'hint'}>
          {show('token', tokenProblem) ?? (editing ? 'Paste a new token only to replace it. Saved tokens are never shown again.' : canMint ? 'The built-in gateway creates one if you leave this empty.' : 'From your gateway (tokios token create). It is stored encrypted and never shown again.')}
        </p>

        <label className="inline"><input type="checkbox" checked={startNow} onChange={(e) => setStartNow(e.target.checked)} /> Run this deployment</label>

        {error && <p className="form-error" role="alert">{error}</p>}
        <footer>
          <button type="button" className="ghost" onClick={closeDialog}>Cancel</button>
          <button type="submit" disabled={saving || (swap !== null && !confirmSwap)} aria-busy={saving}>{saving ? 'Saving…' : swap ? 'Swap backend' : 'Save'}</button>
        </footer>
      </form>
    </Dialog>
  );
}

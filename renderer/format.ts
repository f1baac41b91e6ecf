import type { DeploymentView } from '../shared/api';
import type { TunnelState } from '../shared/health';

/** Numbers and states in the words people read. */

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export function formatRate(value: number | null | undefined, unit: string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return `${value >= 100 ? Math.round(value) : value.toFixed(1)} ${unit}`;
}

export function formatTime(ts: number): string {
  return new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

export function formatUptime(since: number | null, now = Date.now()): string {
  if (!since) return '—';
  const s = Math.max(0, Math.floor((now - since) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

/** What the server is, in words; before anything answered, just "model server". */
export const KIND_LABEL: Record<string, string> = { ollama: 'Ollama', llamacpp: 'llama.cpp', openai: 'OpenAI-compatible server', unknown: 'Model server' };

export function formatCount(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  return value >= 10_000 ? `${(value / 1000).toFixed(value >= 100_000 ? 0 : 1)}k` : String(value);
}

/** How to start each kind of model server, for the "model server down" advice. */
function startAdvice(kind: string, upstream: string): string {
  const port = /:(\d+)$/.exec(upstream)?.[1];
  switch (kind) {
    case 'ollama':
      return `Start Ollama: open the Ollama app, or run \`ollama serve\`${port && port !== '11434' ? ` with OLLAMA_HOST=127.0.0.1:${port}` : ''}.`;
    case 'llamacpp':
      return `Start llama.cpp's server: \`llama-server -m your-model.gguf --port ${port ?? '8080'}\`.`;
    case 'openai':
      return `Start the OpenAI-compatible server that listens at ${upstream}.`;
    default:
      return `Start the model server that should answer at ${upstream} (Ollama: \`ollama serve\`; llama.cpp: \`llama-server … --port ${port ?? '8080'}\`).`;
  }
}

/** Tone for the state dot. */
export function stateTone(state: TunnelState): 'ok' | 'busy' | 'warn' | 'error' | 'idle' {
  switch (state) {
    case 'online':
      return 'ok';
    case 'connecting':
    case 'waiting':
      return 'busy';
    case 'reconnecting':
    case 'offline':
      return 'warn';
    case 'token-rejected':
    case 'upstream-down':
    case 'crash-looping':
      return 'error';
    case 'stopped':
      return 'idle';
  }
}

export interface Advice {
  what: string;
  todo: string;
}

/** The last problem in plain words, and what to do about it; null when all is well. */
export function adviceFor(d: DeploymentView): Advice | null {
  if (d.configError) return { what: d.configError, todo: d.file ? `Fix ${d.file}; until then the last good settings keep running.` : 'Edit the deployment to fix it.' };
  const message = d.health.lastError?.message;
  switch (d.health.state) {
    case 'token-rejected':
      return { what: 'The gateway refused this tunnel token.', todo: 'Edit the deployment and paste a current token from your gateway (a revoked token, or one from another gateway, will not work).' };
    case 'upstream-down':
      return { what: `${KIND_LABEL[d.health.upstreamKind] ?? 'The model server'} at ${d.upstream} is not answering.`, todo: `${startAdvice(d.health.upstreamKind, d.upstream)} The tunnel stays up and recovers by itself once it answers.` };
    case 'crash-looping':
      return { what: message ?? 'The connector keeps exiting right after it starts.', todo: 'Press Retry. If it happens again, Logs shows what the worker said before it exited.' };
    case 'reconnecting':
    case 'offline':
      return { what: message ?? 'The tunnel to the gateway is down.', todo: 'Check that the gateway is running and reachable; the connector keeps retrying by itself.' };
    case 'waiting':
      return { what: 'Connected, but the gateway has not bound a name to this token yet.', todo: 'Save the deployment again to register its name.' };
    default:
      return message && d.health.state !== 'online' && d.health.state !== 'stopped' ? { what: message, todo: 'It retries by itself.' } : null;
  }
}

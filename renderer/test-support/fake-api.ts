import type { ApiClient, ApiEvent, ApiEvents, ApiMethod, ApiResult, DeploymentView } from '../../shared/api';
import { TokiosError } from '../../shared/errors';
import type { TunnelState } from '../../shared/health';

/**
 * A stand-in transport for component tests: answers calls from a table the test fills
 * and lets the test push events, the way the core would. (End-to-end tests use the real
 * core; these only exercise the renderer.)
 */
export class FakeApi implements ApiClient {
  readonly calls: Array<{ method: ApiMethod; args: unknown }> = [];
  private readonly answers = new Map<string, (args: never) => unknown>();
  private readonly listeners = new Map<string, Set<(payload: unknown) => void>>();

  answer<M extends ApiMethod>(method: M, respond: (args: never) => ApiResult<M> | Promise<ApiResult<M>>): this {
    this.answers.set(method, respond);
    return this;
  }

  async call<M extends ApiMethod>(method: M, ...args: unknown[]): Promise<ApiResult<M>> {
    this.calls.push({ method, args: args[0] });
    const respond = this.answers.get(method);
    if (!respond) throw new TokiosError('INTERNAL', `no answer for ${method}`);
    return (await respond(args[0] as never)) as ApiResult<M>;
  }

  on<E extends ApiEvent>(event: E, listener: (payload: ApiEvents[E]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (payload: unknown) => void);
    return () => set.delete(listener as (payload: unknown) => void);
  }

  emit<E extends ApiEvent>(event: E, payload: ApiEvents[E]): void {
    for (const listener of this.listeners.get(event) ?? []) listener(payload);
  }

  callsTo(method: ApiMethod): unknown[] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }
}

export function deployment(overrides: Partial<DeploymentView> & { state?: TunnelState } = {}): DeploymentView {
  const { state = 'online', ...rest } = overrides;
  return {
    id: 'd1', name: 'gemma-tunnel', upstream: 'http://127.0.0.1:11434', model: 'gemma3:4b', enabled: state !== 'stopped', token: 'tt-Ab12…wXyz',
    source: 'app', file: null, configError: null, created: '2026-11-26T00:00:00Z', updated: '2026-11-26T00:00:00Z',
    health: {
      state, since: Date.now(), rttMs: 2.5, inFlight: 0, totals: { requests: 3, errors: 0, promptTokens: 30, completionTokens: 90 }, lastError: null,
      connectedSince: Date.now() - 60_000, requestsPerMinute: 3, tokensPerSecond: 42, ttftMs: 120, lastRequestAt: Date.now() - 1000, restarts: 0, upstreamReachable: true, upstreamKind: 'ollama',
    },
    ...rest,
  };
}

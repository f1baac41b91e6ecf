import type { ApiArgs, ApiClient, ApiEvent, ApiEvents, ApiMethod, ApiResult, CallOutcome } from '../../shared/api';
import { fromErrorData } from '../../shared/errors';

/**
 * What a transport must carry: calls that come back as outcomes (errors as data), and
 * events. `createApiClient` turns that into the typed ApiClient the store uses, rethrowing
 * errors as TokiosError with their stable `code`.
 */
export interface Carrier {
  call(method: string, args: unknown): Promise<CallOutcome>;
  onEvent(listener: (event: string, payload: unknown) => void): () => void;
}

export function createApiClient(carrier: Carrier): ApiClient {
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  carrier.onEvent((event, payload) => {
    for (const listener of listeners.get(event) ?? []) listener(payload);
  });
  return {
    async call<M extends ApiMethod>(method: M, ...args: ApiArgs<M> extends void ? [] : [ApiArgs<M>]): Promise<ApiResult<M>> {
      const outcome = await carrier.call(method, args[0] ?? null);
      if (!outcome.ok) throw fromErrorData(outcome.error);
      return outcome.result as ApiResult<M>;
    },
    on<E extends ApiEvent>(event: E, listener: (payload: ApiEvents[E]) => void): () => void {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener as (payload: unknown) => void);
      return () => set.delete(listener as (payload: unknown) => void);
    },
  };
}

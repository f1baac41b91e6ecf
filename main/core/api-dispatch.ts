import type { ApiEvent, ApiEvents, ApiHandlers } from '../../shared/api.js';
import { isApiMethod, validateApiArgs } from '../../shared/api-validation.js';
import { TokiosError, toErrorData, type ErrorData } from '../../shared/errors.js';

/**
 * What both transports do with a call from the UI: check the method and its arguments,
 * run the core's handler, and turn the outcome into data that crosses the boundary
 * (errors as `{name, code, message}`, rethrown on the other side).
 */
export type DispatchOutcome = { ok: true; result: unknown } | { ok: false; error: ErrorData };

export async function dispatch(handlers: ApiHandlers, method: unknown, args: unknown): Promise<DispatchOutcome> {
  try {
    if (!isApiMethod(method)) throw new TokiosError('INVALID_ARGUMENT', `unknown API method ${JSON.stringify(method).slice(0, 80)}`);
    const valid = validateApiArgs(method, args);
    const handler = handlers[method] as (a: unknown) => Promise<unknown>;
    return { ok: true, result: await handler(valid) };
  } catch (error) {
    return { ok: false, error: toErrorData(error) };
  }
}

export const API_EVENTS: ReadonlyArray<ApiEvent> = [
  'deployment.updated', 'deployment.removed', 'deployment.state', 'deployment.request', 'detect.changed', 'gateway.changed', 'test.chat',
];

/** Something that can be subscribed to for every API event (AppCore). */
export interface EventSource {
  on<E extends ApiEvent>(event: E, listener: (payload: ApiEvents[E]) => void): () => void;
}

/** Forwards every API event to `send`; returns the unsubscribe. */
export function forwardEvents(source: EventSource, send: (event: ApiEvent, payload: unknown) => void): () => void {
  const offs = API_EVENTS.map((event) => source.on(event, (payload) => send(event, payload)));
  return () => offs.forEach((off) => off());
}

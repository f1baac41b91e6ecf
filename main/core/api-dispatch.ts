import type { ApiEvent, ApiEvents, ApiHandlers, CallOutcome } from '../../shared/api.js';
import { isApiMethod, validateApiArgs } from '../../shared/api-validation.js';
import { TokiosError, toErrorData } from '../../shared/errors.js';

/**
 * What both transports do with a call from the UI: check the method and its arguments,
 * run the core's handler, and turn the outcome into data that crosses the boundary
 * (errors as `{name, code, message}`, rethrown on the other side).
 */
export async function dispatch(handlers: ApiHandlers, method: unknown, args: unknown): Promise<CallOutcome> {
  try {
    if (!isApiMethod(method)) throw new TokiosError('INVALID_ARGUMENT', `unknown API method ${JSON.stringify(method).slice(0, 80)}`);
    const valid = validateApiArgs(method, args);
    const handler = handlers[method] as (a: unknown) => Promise<unknown>;
    return { ok: true, result: await handler(valid) };
  } catch (error) {
    return { ok: false, error: toErrorData(error) };
  }
}

/** Every event, as a record so a new one in shared/api.ts cannot be left out. */
const EVENTS: Readonly<Record<ApiEvent, true>> = {
  'app.changed': true, 'deployment.updated': true, 'deployment.removed': true, 'deployment.state': true, 'deployment.sample': true,
  'request.logged': true, 'logs.appended': true, 'detect.changed': true, 'gateway.changed': true, 'gateway.signIn': true, 'test.chat': true,
};
export const API_EVENTS: ReadonlyArray<ApiEvent> = Object.keys(EVENTS).filter((e): e is ApiEvent => e in EVENTS);

/** Something that can be subscribed to for every API event (AppCore). */
export interface EventSource {
  on<E extends ApiEvent>(event: E, listener: (payload: ApiEvents[E]) => void): () => void;
}

/** Forwards every API event to `send`; returns the unsubscribe. */
export function forwardEvents(source: EventSource, send: (event: ApiEvent, payload: unknown) => void): () => void {
  const offs = API_EVENTS.map((event) => source.on(event, (payload) => send(event, payload)));
  return () => offs.forEach((off) => off());
}

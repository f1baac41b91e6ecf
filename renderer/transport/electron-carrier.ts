import type { CallOutcome } from '../../shared/api';
import type { Carrier } from './api-client';

/** The preload's bridge (main/electron/preload.cts): the only thing the page sees of Electron. */
export interface TokiosBridge {
  call(method: string, args: unknown): Promise<CallOutcome>;
  onEvent(listener: (event: string, payload: unknown) => void): () => void;
}

declare global {
  interface Window {
    tokiosBridge?: TokiosBridge;
  }
}

export function electronCarrier(bridge: TokiosBridge): Carrier {
  return { call: (method, args) => bridge.call(method, args), onEvent: (listener) => bridge.onEvent(listener) };
}

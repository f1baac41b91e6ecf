import { API_PATH, API_SUBPROTOCOL, type CallOutcome, type WireEvent, type WireResponse } from '../../shared/api';
import { Backoff, type BackoffPolicy } from '../../shared/backoff';
import type { Carrier } from './api-client';

/**
 * The headless host's transport: a WebSocket to /api that offers the per-run secret as a
 * subprotocol. Reconnects by itself; calls made while disconnected fail with a clear error.
 * When the socket drops it asks the host's public `/run` which run it is: another run means
 * Tokios restarted with a new secret, and this tab must be opened again from its new URL.
 */

export type ConnectionState = 'connecting' | 'open' | 'lost' | 'refused' | 'stale';

export interface CarrierOptions {
  /** The run this page was loaded for (from app.info), once known. */
  runId?: () => string | null;
  base?: string;
  backoff?: Backoff;
}

/** What the host at `base` says its run is; undefined when nothing answers. */
async function currentRun(base: string): Promise<string | null | undefined> {
  try {
    const response = await fetch(`//${base}/run`, { cache: 'no-store' });
    return ((await response.json()) as { runId?: string | null }).runId ?? null;
  } catch {
    return undefined;
  }
}

/** The host is on this machine: retry soon, never more than 5 s apart. */
const RECONNECT: BackoffPolicy = { baseMs: 250, capMs: 5000 };

export function websocketCarrier(secret: string, onState: (state: ConnectionState) => void, options: CarrierOptions = {}): Carrier {
  const base = options.base ?? location.host;
  const backoff = options.backoff ?? new Backoff(RECONNECT);
  let socket: WebSocket | null = null;
  let nextId = 1;
  let attempts = 0;
  const pending = new Map<number, (outcome: CallOutcome) => void>();
  const listeners = new Set<(event: string, payload: unknown) => void>();
  const waiters: Array<() => void> = [];
  let everOpened = false;

  const open = (): void => {
    onState(attempts === 0 ? 'connecting' : 'lost');
    const ws = new WebSocket(`ws://${base}${API_PATH}`, [API_SUBPROTOCOL, `secret.${secret}`]);
    let opened = false;
    ws.onopen = () => {
      opened = true;
      everOpened = true;
      attempts = 0;
      backoff.reset();
      socket = ws;
      onState('open');
      for (const wake of waiters.splice(0)) wake();
    };
    ws.onmessage = (message) => {
      const data = JSON.parse(String(message.data)) as Partial<WireResponse> & Partial<WireEvent>;
      if (typeof data.id === 'number') {
        const resolve = pending.get(data.id);
        pending.delete(data.id);
        resolve?.(data as WireResponse);
      } else if (data.event) {
        for (const listener of listeners) listener(data.event, data.payload);
      }
    };
    ws.onclose = () => {
      socket = null;
      for (const [, resolve] of pending) resolve({ ok: false, error: { name: 'TokiosError', code: 'INTERNAL', message: 'lost the connection to Tokios; retrying' } });
      pending.clear();
      attempts++;
      void currentRun(base).then((run) => {
        const known = options.runId?.() ?? null;
        if (run !== undefined && known !== null && run !== known) {
          onState('stale'); // a new run has a new secret: retrying cannot succeed
          return;
        }
        // Never opened at all while the host answers: the secret is wrong.
        onState(!everOpened && !opened && run !== undefined ? 'refused' : 'lost');
        setTimeout(open, backoff.next());
      });
    };
  };
  open();

  const ready = (): Promise<void> => (socket ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve)));

  return {
    async call(method, args) {
      await ready();
      const id = nextId++;
      return new Promise<CallOutcome>((resolve) => {
        pending.set(id, resolve);
        socket!.send(JSON.stringify({ id, method, args }));
      });
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** The secret from `#secret=…` (then kept for this tab only, and wiped from the address bar). */
export function takeSecret(): string | null {
  const match = /(?:^|[#&])secret=([A-Za-z0-9_-]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem('tokios-secret', match[1]!);
    history.replaceState(null, '', location.pathname + location.search);
    return match[1]!;
  }
  return sessionStorage.getItem('tokios-secret');
}

import type { ErrorCode } from './errors.js';
import type { UpstreamKind } from './tunnel-protocol.js';

/**
 * What a connector reports about itself, and what the app shows per deployment.
 *
 * - connecting:     first attempt to reach the gateway
 * - waiting:        tunnel up, but the gateway has bound no deployment name to the token yet
 * - online:         tunnel up and serving its deployment
 * - reconnecting:   lost the gateway; retrying with backoff
 * - offline:        not connected and not trying (drained, or the gateway is unreachable for good)
 * - token-rejected: the gateway refused the tunnel token; no retries until it changes
 * - upstream-down:  tunnel up, but the local model server does not answer
 * - crash-looping:  (app) the worker keeps exiting; restarts paused until retried
 * - stopped:        (app) the user stopped it
 */
export const TunnelStates = ['connecting', 'waiting', 'online', 'reconnecting', 'offline', 'token-rejected', 'upstream-down', 'crash-looping', 'stopped'] as const;
export type TunnelState = (typeof TunnelStates)[number];

/** Worst first: the tray shows the worst state of all deployments. */
export const STATE_SEVERITY: Record<TunnelState, number> = {
  'token-rejected': 5,
  'crash-looping': 5,
  'upstream-down': 4,
  offline: 3,
  reconnecting: 3,
  connecting: 2,
  waiting: 2,
  online: 1,
  stopped: 0,
};

const STATE_WORDS: Record<TunnelState, string> = {
  connecting: 'connecting…',
  waiting: 'waiting for a name',
  online: 'online',
  reconnecting: 'reconnecting…',
  offline: 'offline',
  'token-rejected': 'token rejected',
  'upstream-down': 'model server down',
  'crash-looping': 'keeps crashing',
  stopped: 'stopped',
};

/** The state in the words the tray and the window show. */
export function stateWords(state: TunnelState): string {
  return STATE_WORDS[state];
}

export interface LastError {
  code: ErrorCode;
  message: string;
  at: number;
}

export interface ConnectorHealth {
  state: TunnelState;
  /** When the current state began (ms since epoch). */
  since: number;
  /** Deployment name the gateway bound to this token, when bound. */
  deployment: string | null;
  gateway: string;
  upstream: {
    url: string;
    kind: UpstreamKind;
    reachable: boolean | null;
    models: string[];
    /** The model requests are rewritten to, when known. */
    model: string | null;
  };
  rttMs: number | null;
  inFlight: number;
  totals: { requests: number; errors: number; promptTokens: number; completionTokens: number };
  lastError: LastError | null;
  /** When the current tunnel came up. */
  connectedSince: number | null;
  reconnects: number;
}

/** One finished request, metadata only (never bodies). */
export interface RequestRecord {
  time: number;
  method: string;
  path: string;
  model: string | null;
  status: number;
  /** Time from the request reaching the connector to the first response byte. */
  ttftMs: number | null;
  durationMs: number;
  promptTokens: number | null;
  completionTokens: number | null;
  /** Generation speed where the upstream reports it (or it can be derived). */
  tokensPerSecond: number | null;
  error: string | null;
  /** The gateway's `x-request-id` for this request, which the client also got. */
  requestId: string | null;
}

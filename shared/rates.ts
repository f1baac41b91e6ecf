import type { DeploymentHealth } from './api.js';
import type { TunnelState } from './health.js';

/**
 * The rates a deployment shows (requests per minute, tokens per second, time to first
 * token) are taken over the last minute. They must never outlive that minute: the core
 * computes them when it publishes, and the page applies the same rule with its own clock
 * between publications, so a stopped or idle deployment reads "—" or 0, not its last value.
 */

export const RATE_WINDOW_MS = 60_000;

/** States in which nothing is being served, so no rate means anything. */
const NOT_SERVING: ReadonlySet<TunnelState> = new Set(['stopped', 'crash-looping', 'token-rejected']);

export interface LiveRates {
  /** null: not running. */
  requestsPerMinute: number | null;
  tokensPerSecond: number | null;
  ttftMs: number | null;
}

type RateFields = Pick<DeploymentHealth, 'state' | 'requestsPerMinute' | 'tokensPerSecond' | 'ttftMs' | 'lastRequestAt'>;

/** The rates as of `now`: none when not serving, zero once the last request left the window. */
export function liveRates(health: RateFields, now: number): LiveRates {
  if (NOT_SERVING.has(health.state)) return { requestsPerMinute: null, tokensPerSecond: null, ttftMs: null };
  if (health.lastRequestAt === null || now - health.lastRequestAt >= RATE_WINDOW_MS) return { requestsPerMinute: 0, tokensPerSecond: null, ttftMs: null };
  return { requestsPerMinute: health.requestsPerMinute, tokensPerSecond: health.tokensPerSecond, ttftMs: health.ttftMs };
}

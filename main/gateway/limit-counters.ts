import { formatResetDuration } from '../../shared/durations.js';
import type { KeyLimits } from '../../shared/hosted-api.js';

/**
 * Per-key limits, checked before a request enters a tunnel: requests per minute, tokens
 * per minute (counted from what the upstream reported, after the answer), and requests in
 * flight at once.
 *
 * Per minute means a generic cell rate (GCRA): each request (token) "costs" 60 s / limit,
 * and a key may run up to a full minute ahead. So the first N requests at once pass and the
 * N+1th is refused (exact), capacity comes back steadily (one request every 60/N s), and
 * the state per key is one timestamp, which is also what a shared counter store (Redis,
 * a few lines of Lua) can hold for replicas. The reset figures are OpenAI's: the time until
 * the limit is back to its initial state.
 */

export interface LimitCounters {
  /** Takes one request slot if every limit of the key allows it; otherwise says which refused. */
  admit(keyId: string, limits: KeyLimits): Admission | Promise<Admission>;
  /** Charges the tokens a finished request used. */
  addTokens(keyId: string, limits: KeyLimits, tokens: number): void | Promise<void>;
  close(): Promise<void>;
}

export type Admission =
  | { ok: true; headers: Record<string, string>; release: () => void }
  /** `unavailable`: the shared counters cannot be reached and the policy says to refuse (503). */
  | { ok: false; limit: 'requests' | 'tokens' | 'parallel' | 'unavailable'; retryAfterMs: number; message: string; headers: Record<string, string> };

export const WINDOW_MS = 60_000;
/** Float slack: 7 × (60 000 / 7) must not come out a hair above 60 000. */
export const EPSILON = 1e-6;

interface KeyState {
  /** Theoretical arrival time of the next request / token (ms). */
  requestsTat: number;
  tokensTat: number;
  inFlight: number;
}

/** The counters of one gateway process (replicas share theirs through Redis instead). */
export class LocalLimitCounters implements LimitCounters {
  private readonly keys = new Map<string, KeyState>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    // Keys idle for a full window are back at their initial state: their entries can go.
    this.sweeper = setInterval(() => this.sweep(), WINDOW_MS);
    this.sweeper.unref();
  }

  admit(keyId: string, limits: KeyLimits): Admission {
    const now = this.now();
    let state = this.keys.get(keyId);
    if (!state) this.keys.set(keyId, (state = { requestsTat: now, tokensTat: now, inFlight: 0 }));
    const s = state;

    const decision = gcraAdmit(limits, now, s.requestsTat, s.tokensTat, s.inFlight);
    if (!decision.ok) return decision.refusal;
    s.requestsTat = decision.requestsTat;
    s.inFlight++;
    let released = false;
    return {
      ok: true,
      headers: rateLimitHeaders(limits, now, decision.requestsTat, s.tokensTat),
      release: () => {
        if (released) return;
        released = true;
        s.inFlight--;
      },
    };
  }

  addTokens(keyId: string, limits: KeyLimits, tokens: number): void {
    if (limits.tpm === undefined || !(tokens > 0)) return;
    const now = this.now();
    let state = this.keys.get(keyId);
    if (!state) this.keys.set(keyId, (state = { requestsTat: now, tokensTat: now, inFlight: 0 }));
    state.tokensTat = Math.max(state.tokensTat, now) + tokens * (WINDOW_MS / limits.tpm);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.keys.clear();
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, s] of this.keys) if (s.inFlight === 0 && s.requestsTat <= now && s.tokensTat <= now) this.keys.delete(id);
  }
}

/**
 * The GCRA decision for one request, from a key's state (the theoretical arrival times of
 * its next request and token, and its requests in flight): refused with OpenAI's message and
 * headers, or admitted with the new request TAT. The Redis counters run the same arithmetic
 * in their script and then take the same path here for the answer.
 */
export function gcraAdmit(limits: KeyLimits, now: number, requestsTat: number, tokensTat: number, inFlight: number): { ok: true; requestsTat: number } | { ok: false; refusal: Admission } {
  const refused = (limit: 'requests' | 'tokens' | 'parallel', wait: number, message: string): { ok: false; refusal: Admission } => ({ ok: false, refusal: refuse(limit, wait, message, rateLimitHeaders(limits, now, requestsTat, tokensTat)) });
  if (limits.parallel !== undefined && inFlight >= limits.parallel) {
    return refused('parallel', 1000, `Too many requests in parallel on this API key: limit ${limits.parallel}. Wait for one to finish.`);
  }
  if (limits.tpm !== undefined) {
    const cost = WINDOW_MS / limits.tpm;
    const ahead = Math.max(tokensTat, now) - now;
    if (ahead > WINDOW_MS - cost + EPSILON) {
      const wait = ahead - (WINDOW_MS - cost);
      return refused('tokens', wait, `Rate limit reached for tokens per minute on this API key: limit ${limits.tpm}. Please try again in ${formatResetDuration(wait)}.`);
    }
  }
  let next = requestsTat;
  if (limits.rpm !== undefined) {
    next = Math.max(requestsTat, now) + WINDOW_MS / limits.rpm;
    if (next - now > WINDOW_MS + EPSILON) {
      const wait = next - now - WINDOW_MS;
      return refused('requests', wait, `Rate limit reached for requests per minute on this API key: limit ${limits.rpm}. Please try again in ${formatResetDuration(wait)}.`);
    }
  }
  return { ok: true, requestsTat: next };
}

/** OpenAI's `x-ratelimit-*` headers for a key's state. */
export function rateLimitHeaders(limits: KeyLimits, now: number, requestsTat: number, tokensTat: number): Record<string, string> {
  const out: Record<string, string> = {};
  if (limits.rpm !== undefined) {
    const ahead = Math.max(requestsTat - now, 0);
    out['x-ratelimit-limit-requests'] = String(limits.rpm);
    out['x-ratelimit-remaining-requests'] = String(clamp(Math.floor((WINDOW_MS - ahead) / (WINDOW_MS / limits.rpm) + EPSILON), 0, limits.rpm));
    out['x-ratelimit-reset-requests'] = formatResetDuration(ahead);
  }
  if (limits.tpm !== undefined) {
    const ahead = Math.max(tokensTat - now, 0);
    out['x-ratelimit-limit-tokens'] = String(limits.tpm);
    out['x-ratelimit-remaining-tokens'] = String(clamp(Math.floor((WINDOW_MS - ahead) / (WINDOW_MS / limits.tpm) + EPSILON), 0, limits.tpm));
    out['x-ratelimit-reset-tokens'] = formatResetDuration(ahead);
  }
  return out;
}

export function refuse(limit: 'requests' | 'tokens' | 'parallel' | 'unavailable', waitMs: number, message: string, headers: Record<string, string>): Admission {
  return { ok: false, limit, retryAfterMs: waitMs, message, headers: { ...headers, 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))) } };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** True when a key has any limit the counters must see. */
export function hasLimits(limits: KeyLimits | undefined): limits is KeyLimits {
  return limits !== undefined && (limits.rpm !== undefined || limits.tpm !== undefined || limits.parallel !== undefined);
}

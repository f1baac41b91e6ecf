/**
 * The one retry backoff: capped exponential with full jitter (a random delay between 0 and
 * min(cap, base·2^attempt)), so a fleet of connectors that lost the same gateway, or a
 * worker that keeps crashing, does not come back in lockstep. Used by the connector's
 * tunnel client, the supervisor's restarts and the renderer's API socket.
 *
 * An attempt that stayed up for `stableMs` starts the count afresh. The random source and
 * the clock are injectable so tests pin delays exactly.
 */
export interface BackoffPolicy {
  /** Upper bound of the first delay; doubles with each consecutive failure. */
  baseMs: number;
  capMs: number;
  /** An attempt up this long resets the count (default: never). */
  stableMs?: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 500, capMs: 30_000 };

export interface BackoffSources {
  /** In [0, 1), like Math.random. */
  random?: () => number;
  now?: () => number;
}

export class Backoff {
  private attempt = 0;
  private upSince: number | null = null;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(private readonly policy: BackoffPolicy = DEFAULT_BACKOFF, sources: BackoffSources = {}) {
    this.random = sources.random ?? Math.random;
    this.now = sources.now ?? Date.now;
  }

  /** The attempt succeeded (the tunnel opened, the worker started). */
  up(): void {
    this.upSince = this.now();
  }

  /** The attempt that was up ended: once it had stayed up for `stableMs`, the count starts afresh. */
  ended(): void {
    const stableMs = this.policy.stableMs;
    if (this.upSince !== null && stableMs !== undefined && this.now() - this.upSince >= stableMs) this.attempt = 0;
    this.upSince = null;
  }

  /** The delay before the next attempt; each call widens the window. */
  next(): number {
    return Math.floor(this.random() * this.ceiling(this.attempt++));
  }

  /** The widest delay the next call to `next()` can return. */
  get nextCeiling(): number {
    return this.ceiling(this.attempt);
  }

  reset(): void {
    this.attempt = 0;
    this.upSince = null;
  }

  /** Consecutive failures counted so far. */
  get attempts(): number {
    return this.attempt;
  }

  private ceiling(attempt: number): number {
    return Math.min(this.policy.capMs, this.policy.baseMs * 2 ** Math.min(attempt, 30));
  }
}

/**
 * Slows password guessing on the dashboard: failed sign-ins are counted per email and per
 * client address over a window; past the limit, further attempts are refused before any
 * password is checked (so they cost nothing), with the time to wait. The same answer for
 * an email that exists and one that does not, so the throttle reveals no accounts.
 */

export interface ThrottlePolicy {
  windowMs: number;
  perEmail: number;
  perAddress: number;
}

export const DEFAULT_THROTTLE: ThrottlePolicy = { windowMs: 15 * 60_000, perEmail: 5, perAddress: 20 };

export class SignInThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly policy: ThrottlePolicy = DEFAULT_THROTTLE,
  ) {}

  /** Milliseconds until another attempt is allowed, or 0 when it is now. */
  waitMs(email: string, address: string): number {
    return Math.max(this.wait(`e:${email.toLowerCase()}`, this.policy.perEmail), this.wait(`a:${address}`, this.policy.perAddress));
  }

  failed(email: string, address: string): void {
    for (const key of [`e:${email.toLowerCase()}`, `a:${address}`]) {
      const list = this.recent(key);
      list.push(this.now());
      this.failures.set(key, list);
    }
    if (this.failures.size > 100_000) this.prune();
  }

  succeeded(email: string): void {
    this.failures.delete(`e:${email.toLowerCase()}`);
  }

  private wait(key: string, limit: number): number {
    const list = this.recent(key);
    if (list.length < limit) return 0;
    return list[list.length - limit]! + this.policy.windowMs - this.now();
  }

  private recent(key: string): number[] {
    const since = this.now() - this.policy.windowMs;
    return (this.failures.get(key) ?? []).filter((t) => t > since);
  }

  private prune(): void {
    for (const key of [...this.failures.keys()]) if (this.recent(key).length === 0) this.failures.delete(key);
  }
}

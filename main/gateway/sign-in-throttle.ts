/**
 * Slows password guessing on the dashboard, without letting anyone lock a person out:
 * - failures from one address for one email (the pair) past `perPair` in the window lock
 *   that pair until the window moves: one guesser on one account;
 * - failures from one address past `perAddress` lock that address: one guesser trying many
 *   accounts;
 * - failures for one email from anywhere past the much higher `perEmail` only slow that
 *   email down (one attempt per `emailDelayMs`), never lock it: otherwise anyone who knows
 *   an email could keep its owner out from any address.
 * A refused attempt is refused before any password is checked (so it costs nothing), with
 * the time to wait. The same answer for an email that exists and one that does not, so the
 * throttle reveals no accounts.
 */

export interface ThrottlePolicy {
  windowMs: number;
  /** Failures of one email from one address before that pair waits out the window. */
  perPair: number;
  /** Failures from one address (any emails) before it waits out the window. */
  perAddress: number;
  /** Failures of one email (any addresses) before its attempts are spaced by `emailDelayMs`. */
  perEmail: number;
  emailDelayMs: number;
}

export const DEFAULT_THROTTLE: ThrottlePolicy = { windowMs: 15 * 60_000, perPair: 5, perAddress: 20, perEmail: 50, emailDelayMs: 5000 };

export class SignInThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly policy: ThrottlePolicy = DEFAULT_THROTTLE,
  ) {}

  /** Milliseconds until another attempt is allowed, or 0 when it is now. */
  waitMs(email: string, address: string): number {
    return Math.max(this.lockedFor(pairKey(email, address), this.policy.perPair), this.lockedFor(`a:${address}`, this.policy.perAddress), this.slowedFor(emailKey(email)));
  }

  failed(email: string, address: string): void {
    for (const key of [pairKey(email, address), `a:${address}`, emailKey(email)]) {
      const list = this.recent(key);
      list.push(this.now());
      this.failures.set(key, list);
    }
    if (this.failures.size > 100_000) this.prune();
  }

  /** The person got in from there: that pair starts afresh (the email's and address's counts stay, they guard against others). */
  succeeded(email: string, address: string): void {
    this.failures.delete(pairKey(email, address));
  }

  /** Past `limit` failures in the window: until the oldest of the last `limit` leaves it. */
  private lockedFor(key: string, limit: number): number {
    const list = this.recent(key);
    if (list.length < limit) return 0;
    return list[list.length - limit]! + this.policy.windowMs - this.now();
  }

  /** Past `perEmail` failures in the window: until `emailDelayMs` after the latest one. */
  private slowedFor(key: string): number {
    const list = this.recent(key);
    if (list.length < this.policy.perEmail) return 0;
    return Math.max(0, list[list.length - 1]! + this.policy.emailDelayMs - this.now());
  }

  private recent(key: string): number[] {
    const since = this.now() - this.policy.windowMs;
    return (this.failures.get(key) ?? []).filter((t) => t > since);
  }

  private prune(): void {
    for (const key of [...this.failures.keys()]) if (this.recent(key).length === 0) this.failures.delete(key);
  }
}

function emailKey(email: string): string {
  return `e:${email.toLowerCase()}`;
}

function pairKey(email: string, address: string): string {
  return `p:${email.toLowerCase()}\u0000${address}`;
}

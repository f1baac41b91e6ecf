import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';

describe('backoff', () => {
  it('widens the jitter window exponentially up to the cap, and resets', () => {
    const backoff = new Backoff({ baseMs: 100, capMs: 1000 }, { random: () => 0.999999 });
    expect(Array.from({ length: 6 }, () => backoff.next())).toEqual([99, 199, 399, 799, 999, 999]);
    backoff.reset();
    expect(backoff.next()).toBe(99);
  });

  it('spreads retries over the whole window (full jitter)', () => {
    const backoff = new Backoff({ baseMs: 1000, capMs: 1000 });
    const delays = Array.from({ length: 2000 }, () => backoff.next());
    expect(Math.min(...delays)).toBeLessThan(100);
    expect(Math.max(...delays)).toBeGreaterThan(900);
  });

  it('starts afresh after an attempt that stayed up for the stable period, not before', () => {
    let now = 0;
    const backoff = new Backoff({ baseMs: 100, capMs: 10_000, stableMs: 5000 }, { random: () => 0.999999, now: () => now });
    backoff.next();
    backoff.next();
    backoff.up();
    now += 4999;
    backoff.ended();
    expect(backoff.next()).toBe(399);
    backoff.up();
    now += 5000;
    backoff.ended();
    expect(backoff.attempts).toBe(0);
    expect(backoff.next()).toBe(99);
  });
});

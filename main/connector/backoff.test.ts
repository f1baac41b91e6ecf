import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';

describe('backoff', () => {
  it('widens the jitter window exponentially up to the cap, and resets', () => {
    const ceilings: number[] = [];
    const backoff = new Backoff({ baseMs: 100, capMs: 1000 }, () => 0.999999);
    for (let i = 0; i < 6; i++) ceilings.push(backoff.next());
    expect(ceilings).toEqual([99, 199, 399, 799, 999, 999]);
    backoff.reset();
    expect(backoff.next()).toBe(99);
  });

  it('spreads retries over the whole window (full jitter)', () => {
    const backoff = new Backoff({ baseMs: 1000, capMs: 1000 });
    const delays = Array.from({ length: 2000 }, () => backoff.next());
    expect(Math.min(...delays)).toBeLessThan(100);
    expect(Math.max(...delays)).toBeGreaterThan(900);
  });
});

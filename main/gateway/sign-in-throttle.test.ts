import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SignInThrottle, type ThrottlePolicy } from './sign-in-throttle.js';

const POLICY: ThrottlePolicy = { windowMs: 60_000, perPair: 5, perAddress: 20, perEmail: 50, emailDelayMs: 5000 };

describe('sign-in throttle', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('locks one address guessing one email (whatever the case) until the window moves', () => {
    const throttle = new SignInThrottle(Date.now, POLICY);
    for (let i = 0; i < 5; i++) {
      expect(throttle.waitMs('a@x.io', '10.0.0.1')).toBe(0);
      throttle.failed('a@x.io', '10.0.0.1');
      vi.advanceTimersByTime(1000);
    }
    expect(throttle.waitMs('A@X.io', '10.0.0.1')).toBe(55_000);
    expect(throttle.waitMs('b@x.io', '10.0.0.1')).toBe(0);
    vi.setSystemTime(60_001);
    expect(throttle.waitMs('a@x.io', '10.0.0.1')).toBe(0);
  });

  it('does not let failures from other addresses lock the owner of an email out (the shipped policy)', () => {
    const throttle = new SignInThrottle(Date.now);
    // Someone who knows the email fails from a few addresses, past the old per-email lock.
    for (let i = 0; i < 12; i++) throttle.failed('owner@x.io', `198.51.100.${i % 3}`);
    expect(throttle.waitMs('owner@x.io', '203.0.113.7')).toBe(0);
  });

  it('only slows an email that many addresses guess at, by seconds, never for the window', () => {
    const throttle = new SignInThrottle(Date.now, POLICY);
    for (let i = 0; i < 50; i++) throttle.failed('owner@x.io', `198.51.100.${i}`);
    expect(throttle.waitMs('owner@x.io', '203.0.113.7')).toBe(5000);
    vi.advanceTimersByTime(5000);
    expect(throttle.waitMs('owner@x.io', '203.0.113.7')).toBe(0);
    throttle.failed('owner@x.io', '198.51.100.99');
    expect(throttle.waitMs('owner@x.io', '203.0.113.7')).toBe(5000);
    expect(throttle.waitMs('other@x.io', '203.0.113.7')).toBe(0);
  });

  it('locks one address trying many emails, and a success clears that pair only', () => {
    const throttle = new SignInThrottle(Date.now, { ...POLICY, perPair: 3, perAddress: 4 });
    for (let i = 0; i < 4; i++) throttle.failed(`u${i}@x.io`, '203.0.113.9');
    expect(throttle.waitMs('new@x.io', '203.0.113.9')).toBeGreaterThan(0);
    expect(throttle.waitMs('new@x.io', '203.0.113.10')).toBe(0);
    throttle.failed('c@x.io', '1.1.1.1');
    throttle.failed('c@x.io', '1.1.1.1');
    throttle.succeeded('c@x.io', '1.1.1.1');
    throttle.failed('c@x.io', '1.1.1.1');
    expect(throttle.waitMs('c@x.io', '1.1.1.1')).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { SignInThrottle } from './sign-in-throttle.js';

describe('sign-in throttle', () => {
  it('refuses the 6th failed attempt for an email within the window, whatever the case, until the window moves', () => {
    let now = 0;
    const throttle = new SignInThrottle(() => now, { windowMs: 60_000, perEmail: 5, perAddress: 100 });
    for (let i = 0; i < 5; i++) {
      expect(throttle.waitMs('a@x.io', `10.0.0.${i}`)).toBe(0);
      throttle.failed('a@x.io', `10.0.0.${i}`);
      now += 1000;
    }
    expect(throttle.waitMs('A@X.io', '10.0.0.9')).toBe(55_000);
    expect(throttle.waitMs('b@x.io', '10.0.0.9')).toBe(0);
    now = 60_001;
    expect(throttle.waitMs('a@x.io', '10.0.0.9')).toBe(0);
  });

  it('limits one address trying many emails, and a success clears the email', () => {
    const now = 0;
    const throttle = new SignInThrottle(() => now, { windowMs: 60_000, perEmail: 3, perAddress: 4 });
    for (let i = 0; i < 4; i++) throttle.failed(`u${i}@x.io`, '203.0.113.9');
    expect(throttle.waitMs('new@x.io', '203.0.113.9')).toBeGreaterThan(0);
    expect(throttle.waitMs('new@x.io', '203.0.113.10')).toBe(0);
    throttle.failed('c@x.io', '1.1.1.1');
    throttle.failed('c@x.io', '1.1.1.2');
    throttle.succeeded('c@x.io');
    throttle.failed('c@x.io', '1.1.1.3');
    expect(throttle.waitMs('c@x.io', '1.1.1.4')).toBe(0);
  });
});

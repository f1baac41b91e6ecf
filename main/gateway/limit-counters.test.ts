import { afterEach, describe, expect, it } from 'vitest';
import { LocalLimitCounters, type Admission } from './limit-counters.js';

let now = 1_000_000;
const counters: LocalLimitCounters[] = [];
function make(): LocalLimitCounters {
  const c = new LocalLimitCounters(() => now);
  counters.push(c);
  return c;
}
afterEach(async () => {
  await Promise.all(counters.splice(0).map((c) => c.close()));
  now = 1_000_000;
});

function ok(a: Admission): Extract<Admission, { ok: true }> {
  if (!a.ok) throw new Error(`refused: ${a.message}`);
  return a;
}

describe('limit counters', () => {
  it('passes exactly N requests per minute, refuses the N+1th with Retry-After, and recovers one every 60/N s', () => {
    const c = make();
    const limits = { rpm: 7 };
    const remaining = Array.from({ length: 7 }, () => ok(c.admit('k', limits)).headers['x-ratelimit-remaining-requests']);
    expect(remaining).toEqual(['6', '5', '4', '3', '2', '1', '0']);
    const refused = c.admit('k', limits);
    expect(refused).toMatchObject({ ok: false, limit: 'requests' });
    expect(refused.headers).toMatchObject({ 'x-ratelimit-limit-requests': '7', 'x-ratelimit-remaining-requests': '0', 'retry-after': '9' });
    now += 60_000 / 7;
    ok(c.admit('k', limits));
    expect(c.admit('k', limits).ok).toBe(false);
    // Another key is not affected.
    ok(c.admit('other', limits));
    now += 60_000;
    expect(Array.from({ length: 7 }, () => c.admit('k', limits).ok)).toEqual(Array(7).fill(true));
  });

  it('says when the limit is back to full, as OpenAI does', () => {
    const c = make();
    const first = ok(c.admit('k', { rpm: 3 }));
    expect(first.headers['x-ratelimit-reset-requests']).toBe('20s');
    ok(c.admit('k', { rpm: 3 }));
    expect(ok(c.admit('k', { rpm: 3 })).headers['x-ratelimit-reset-requests']).toBe('1m0s');
  });

  it('charges tokens after the answer: once a minute of tokens is spent, the next request waits', () => {
    const c = make();
    const limits = { tpm: 100 };
    expect(ok(c.admit('k', limits)).headers['x-ratelimit-remaining-tokens']).toBe('100');
    c.addTokens('k', limits, 60);
    ok(c.admit('k', limits));
    c.addTokens('k', limits, 60);
    const refused = c.admit('k', limits);
    expect(refused).toMatchObject({ ok: false, limit: 'tokens' });
    expect(refused.headers['x-ratelimit-remaining-tokens']).toBe('0');
    // 120 tokens against 100 a minute: the 20 over are owed, so a minute later 80 are free.
    now += 60_000;
    expect(ok(c.admit('k', limits)).headers['x-ratelimit-remaining-tokens']).toBe('80');
    now += 12_000;
    expect(ok(c.admit('k', limits)).headers['x-ratelimit-remaining-tokens']).toBe('100');
  });

  it('holds at most `parallel` requests in flight; a finished one frees its place', () => {
    const c = make();
    const a = ok(c.admit('k', { parallel: 2 }));
    ok(c.admit('k', { parallel: 2 }));
    expect(c.admit('k', { parallel: 2 })).toMatchObject({ ok: false, limit: 'parallel' });
    a.release();
    a.release();
    ok(c.admit('k', { parallel: 2 }));
    expect(c.admit('k', { parallel: 2 }).ok).toBe(false);
  });

  it('a refused request consumes nothing', () => {
    const c = make();
    ok(c.admit('k', { rpm: 1 }));
    for (let i = 0; i < 5; i++) expect(c.admit('k', { rpm: 1 }).ok).toBe(false);
    now += 60_000;
    ok(c.admit('k', { rpm: 1 }));
  });
});

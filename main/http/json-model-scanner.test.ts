import { describe, expect, it } from 'vitest';
import { JsonModelScanner, type JsonScan } from './json-model-scanner.js';

/** Scans `text`, fed in pieces cut at `cuts` (offsets), as bodies arrive from a socket. */
function scan(text: string | Buffer, cuts: number[] = []): JsonScan {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  const scanner = new JsonModelScanner();
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    scanner.push(bytes.subarray(from, cut));
    from = cut;
  }
  return scanner.finish();
}

/** A deterministic PRNG (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomJson(next: () => number, depth = 0): unknown {
  const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)]!;
  const kind = depth > 4 ? pick(['s', 'n', 'b', 'z']) : pick(['s', 'n', 'b', 'z', 'o', 'o', 'a']);
  // Strings without backslashes or control characters: the scanner does not judge string
  // contents, so the agreement below is about structure.
  if (kind === 's') return pick(['', 'model', 'Model', "quoted 'x'", '}{][,:', 'ünï 😀', 'slash/slash']);
  if (kind === 'n') return pick([0, -1, 1.5, -2.5e-7, 1e21, 123456789]);
  if (kind === 'b') return next() > 0.5;
  if (kind === 'z') return null;
  if (kind === 'a') return Array.from({ length: Math.floor(next() * 4) }, () => randomJson(next, depth + 1));
  return Object.fromEntries(Array.from({ length: Math.floor(next() * 4) }, (_, i) => [pick(['model', 'MODEL', 'x', 'messages', `k${i}`]), randomJson(next, depth + 1)]));
}

const parses = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

describe('JSON model scanner', () => {
  it('agrees with JSON.parse on whether random bodies, and random damage to them, are JSON', () => {
    const next = random(9);
    const noise = ['{', '}', '[', ']', ',', ':', '"', '0', '-', '.', 'e', '+', 't', 'n', 'x', ' '];
    let invalid = 0;
    for (let n = 0; n < 3000; n++) {
      let text = JSON.stringify(randomJson(next), null, n % 3 === 0 ? 1 : undefined);
      if (n % 2 === 1) {
        const at = Math.floor(next() * (text.length + 1));
        text = next() < 0.5 ? text.slice(0, at) + noise[Math.floor(next() * noise.length)] + text.slice(at) : text.slice(0, at) + text.slice(at + 1);
      }
      const expected = parses(text);
      if (!expected) invalid++;
      const cut = Math.floor(next() * text.length);
      expect(scan(text, [cut]).ok, text).toBe(expected);
    }
    expect(invalid).toBeGreaterThan(500);
  });

  it('gives the same answer however the body is cut into chunks', () => {
    const text = '{"messages":[{"role":"user","content":"say \\"model\\": \\\\"}],"M\\u004fdel":"x", "model" : "gemma-tunnel","n":-1.5e+3,"ok":true,"z":null}';
    const whole = scan(text);
    expect(whole.ok).toBe(true);
    for (let cut = 0; cut <= text.length; cut++) expect(scan(text, [cut])).toEqual(whole);
    expect(scan(text, Array.from({ length: text.length }, (_, i) => i))).toEqual(whole);
  });

  it('reports every top-level key that folds to model, with offsets a splice can use', () => {
    const text = '{"a":{"model":"nested"},"Model":"x","model":"y","\\u004dODEL":[1,{"model":2}],"m\\u006fdel":"z"}';
    const result = scan(text);
    if (!result.ok) throw new Error(result.problem);
    expect(result.memberCount).toBe(5);
    const keys = result.models.map((m) => text.slice(m.keyStart, m.valueEnd));
    expect(keys).toEqual(['"Model":"x"', '"model":"y"', '"\\u004dODEL":[1,{"model":2}]', '"m\\u006fdel":"z"']);
    expect(result.models.map((m) => m.exact)).toEqual([false, true, false, true]);
    expect(result.models.map((m) => (m.stringStart === -1 ? null : text.slice(m.stringStart, m.valueEnd)))).toEqual(['"x"', '"y"', null, '"z"']);
    expect(text.slice(result.models[1]!.prevEnd, result.models[1]!.valueEnd)).toBe(',"model":"y"');
  });

  it('says whether the body asks for a stream, at the top level only, the last answer winning', () => {
    expect(scan('{"model":"a","stream":true}')).toMatchObject({ ok: true, stream: { on: true } });
    expect(scan('{"model":"a","stream": false}')).toMatchObject({ ok: true, stream: { on: false } });
    expect(scan('{"model":"a"}')).toMatchObject({ ok: true, stream: { on: false } });
    expect(scan('{"stream":true,"model":"a","stream":false}')).toMatchObject({ stream: { on: false } });
    expect(scan('{"stream":"true","streams":true,"options":{"stream":true}}')).toMatchObject({ stream: { on: false } });
    const text = '{"model":"a","stream" : true}';
    for (let cut = 0; cut <= text.length; cut++) expect(scan(text, [cut]).ok && scan(text, [cut])).toMatchObject({ stream: { on: true } });
  });

  it('tells objects from other JSON, and says where a body goes wrong', () => {
    expect(scan('[{"model":"a"}]')).toMatchObject({ ok: true, isObject: false, models: [] });
    expect(scan(' 42 ')).toMatchObject({ ok: true, isObject: false });
    expect(scan('')).toEqual({ ok: false, problem: 'the body is empty' });
    expect(scan('{"model":"a",')).toMatchObject({ ok: false, problem: expect.stringContaining('ends before') });
    expect(scan('{"model":"a"} x')).toMatchObject({ ok: false, problem: expect.stringContaining("'x'") });
    expect(scan('{"model\\x":1}')).toMatchObject({ ok: false, problem: expect.stringContaining('invalid escape') });
    expect(scan('{"a":01}').ok).toBe(false);
  });

  it('refuses nesting past its limit without recursing, whatever the depth', () => {
    const deep = (levels: number): string => `{"a":${'['.repeat(levels)}${']'.repeat(levels)}}`;
    expect(scan(deep(500)).ok).toBe(true);
    expect(scan(deep(100_000))).toEqual({ ok: false, problem: 'the JSON is nested deeper than 512 levels' });
  });

  it('refuses a body that repeats model more often than any client would', () => {
    expect(scan(`{${Array.from({ length: 17 }, () => '"model":"a"').join(',')}}`)).toMatchObject({ ok: false, problem: expect.stringContaining('more than 16') });
  });

  it('counts the values a parse would build, at every depth, however the body is cut', () => {
    const count = (value: unknown): number => (Array.isArray(value) ? value.reduce((n: number, v) => n + count(v), 1) : typeof value === 'object' && value !== null ? Object.values(value).reduce((n: number, v) => n + count(v), 1) : 1);
    const next = random(7);
    for (let i = 0; i < 200; i++) {
      const value = { model: 'm', body: randomJson(next) };
      const text = JSON.stringify(value);
      const result = scan(text, [Math.floor(next() * text.length)]);
      expect(result.ok && result.valueCount, text).toBe(count(value));
    }
    expect(scan(`{"a":[${'{},'.repeat(99_999)}{}]}`)).toMatchObject({ ok: true, valueCount: 100_002 });
  });
});

import { describe, expect, it } from 'vitest';
import { ByteBudget, HeldBody } from '../http/held-body.js';
import { JsonModelScanner } from '../http/json-model-scanner.js';
import { rewriteModel } from './model-rewrite.js';

/** Rewrites `text` as the connector does: fed in chunks (cut at `every` bytes), scanned, spliced. */
function rewriteText(text: string, model = 'gemma3:4b', every = 7): string | { problem: string } {
  const bytes = Buffer.from(text);
  const body = new HeldBody(new ByteBudget(Infinity));
  const scanner = new JsonModelScanner();
  for (let i = 0; i < bytes.length; i += every) {
    const chunk = bytes.subarray(i, i + every);
    body.add(chunk);
    scanner.push(chunk);
  }
  const result = rewriteModel(body, scanner.finish(), model);
  return 'problem' in result ? result : result.body.toString();
}

function rewrite(text: string, model = 'gemma3:4b'): unknown {
  const out = rewriteText(text, model);
  return typeof out === 'string' ? JSON.parse(out) : out;
}

describe('top-level model rewrite', () => {
  it('replaces only the top-level model and keeps every other byte', () => {
    const body = '{"tools":[{"type":"function","function":{"parameters":{"properties":{"model":{"type":"string"}}}}}],\n "model" : "gemma-tunnel", "stream":true}';
    expect(rewriteText(body)).toBe(body.replace('"model" : "gemma-tunnel"', '"model":"gemma3:4b"'));
  });

  it('survives quotes, backslashes and braces inside strings', () => {
    const value = { messages: [{ role: 'user', content: 'say "model": "x" } ] { \\ \\" \u00e9 😀' }], model: 'a', n: -1.5e3, ok: true, none: null };
    expect(rewrite(JSON.stringify(value))).toEqual({ ...value, model: 'gemma3:4b' });
  });

  it('escapes the new model name as JSON', () => {
    expect(rewrite('{"model":"x"}', 'we"ird\\name')).toEqual({ model: 'we"ird\\name' });
  });

  it('lets exactly one model reach the upstream, whatever case or escapes the body spells it in', () => {
    const body = '{"Model":"evil-1","messages":[],"model":"gemma-tunnel","MODEL":"evil-2","\\u004dodel":{"x":1},"m\\u006fdel":"evil-3"}';
    const out = rewriteText(body) as string;
    expect(out).toBe('{"model":"gemma3:4b","messages":[]}');
    // Case-insensitive decoders (Go's encoding/json) find only the pinned one.
    const keys = Object.keys(JSON.parse(out) as object).filter((k) => k.toLowerCase() === 'model');
    expect(keys).toEqual(['model']);
  });

  it('adds the model to an object without one, and keeps duplicates from choosing', () => {
    expect(rewriteText('{}')).toBe('{"model":"gemma3:4b"}');
    expect(rewriteText(' {"a":1}')).toBe(' {"model":"gemma3:4b","a":1}');
    expect(rewrite('{"model":"a","model":"b"}')).toEqual({ model: 'gemma3:4b' });
  });

  it('splices deeply nested bodies with an escaped key, without recursing', () => {
    const nested = `${'['.repeat(400)}${']'.repeat(400)}`;
    const body = `{"a\\\\b":${nested},"model":"gemma-tunnel"}`;
    expect(rewriteText(body, 'gemma3:4b', 4096)).toBe(`{"a\\\\b":${nested},"model":"gemma3:4b"}`);
    const tooDeep = `{"a\\\\b":${'['.repeat(10_000)}${']'.repeat(10_000)},"model":"x"}`;
    expect(rewriteText(tooDeep)).toEqual({ problem: 'request body is not valid JSON: the JSON is nested deeper than 512 levels' });
  });

  it('refuses what is not a JSON object', () => {
    for (const body of ['[1]', '"model"', '{"model":"a"} x', '{"model":"a"', '', 'not json', '{"a":}']) {
      expect(rewriteText(body), body).toEqual({ problem: expect.stringMatching(/^request body is not (valid JSON|a JSON object)/) });
    }
  });

  it('agrees with JSON.parse on random objects', () => {
    let seed = 42;
    const next = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)]!;
    const randomValue = (depth: number): unknown => {
      const kind = depth > 3 ? pick(['s', 'n', 'b']) : pick(['s', 'n', 'b', 'o', 'a', 'z']);
      if (kind === 's') return pick(['', 'model', '"quoted"', 'back\\slash', '}{][', 'ünïcode', '\n\t']) + next();
      if (kind === 'n') return next() * 1e6 - 5e5;
      if (kind === 'b') return next() > 0.5;
      if (kind === 'z') return null;
      if (kind === 'a') return Array.from({ length: Math.floor(next() * 4) }, () => randomValue(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(next() * 4) }, (_, i) => [pick(['model', 'x', 'messages', `k${i}`]), randomValue(depth + 1)]));
    };
    for (let n = 0; n < 500; n++) {
      const value = { ...(randomValue(1) as object), model: 'client-name' } as Record<string, unknown>;
      const text = JSON.stringify(value, null, n % 2 ? 2 : undefined);
      expect(rewrite(text)).toEqual({ ...value, model: 'gemma3:4b' });
    }
  });
});

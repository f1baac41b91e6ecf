import { describe, expect, it } from 'vitest';
import { rewriteModel } from './model-rewrite.js';

function rewrite(text: string, model = 'gemma3:4b'): unknown {
  const out = rewriteModel(Buffer.from(text), model);
  return out === null ? null : JSON.parse(out.toString());
}

describe('top-level model rewrite', () => {
  it('replaces only the top-level model and keeps every other byte', () => {
    const body = '{"tools":[{"type":"function","function":{"parameters":{"properties":{"model":{"type":"string"}}}}}],\n "model" : "gemma-tunnel", "stream":true}';
    const out = rewriteModel(Buffer.from(body), 'gemma3:4b')!.toString();
    expect(out).toBe(body.replace('"model" : "gemma-tunnel"', '"model" : "gemma3:4b"'));
  });

  it('survives quotes, backslashes and braces inside strings', () => {
    const value = { messages: [{ role: 'user', content: 'say "model": "x" } ] { \\ \\" \u00e9 😀' }], model: 'a', n: -1.5e3, ok: true, none: null };
    expect(rewrite(JSON.stringify(value))).toEqual({ ...value, model: 'gemma3:4b' });
  });

  it('escapes the new model name as JSON', () => {
    expect(rewrite('{"model":"x"}', 'we"ird\\name')).toEqual({ model: 'we"ird\\name' });
  });

  it('leaves anything unusual to the full parser', () => {
    for (const body of ['[1]', '{"model":1}', '{"model":"a","model":"b"}', '{"m\\u006fdel":"a"}', '{"model":"a"} x', '{"model":"a"', '{}', 'not json', '{"a":}']) {
      expect(rewriteModel(Buffer.from(body), 'm'), body).toBeNull();
    }
  });

  it('agrees with JSON.parse on random objects', () => {
    const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)]!;
    const randomValue = (depth: number): unknown => {
      const kind = depth > 3 ? pick(['s', 'n', 'b']) : pick(['s', 'n', 'b', 'o', 'a', 'z']);
      if (kind === 's') return pick(['', 'model', '"quoted"', 'back\\slash', '}{][', 'ünïcode', '\n\t']) + Math.random();
      if (kind === 'n') return Math.random() * 1e6 - 5e5;
      if (kind === 'b') return Math.random() > 0.5;
      if (kind === 'z') return null;
      if (kind === 'a') return Array.from({ length: Math.floor(Math.random() * 4) }, () => randomValue(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(Math.random() * 4) }, (_, i) => [pick(['model', 'x', 'messages', `k${i}`]), randomValue(depth + 1)]));
    };
    for (let n = 0; n < 500; n++) {
      const value = { ...(randomValue(1) as object), model: 'client-name' } as Record<string, unknown>;
      const text = JSON.stringify(value, null, n % 2 ? 2 : undefined);
      expect(rewrite(text)).toEqual({ ...value, model: 'gemma3:4b' });
    }
  });
});

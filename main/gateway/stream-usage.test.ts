import { describe, expect, it } from 'vitest';
import { ByteBudget, HeldBody } from '../http/held-body.js';
import { JsonModelScanner } from '../http/json-model-scanner.js';
import { askForStreamUsage, dropUsageOnlyEvents } from './stream-usage.js';

/** The body as the data plane holds it (in `pieces`), with the routing scan of it. */
function held(pieces: string[]): { body: HeldBody; scan: ReturnType<JsonModelScanner['finish']> } {
  const body = new HeldBody(new ByteBudget(1 << 20));
  const scanner = new JsonModelScanner();
  for (const piece of pieces) {
    const chunk = Buffer.from(piece);
    body.add(chunk);
    scanner.push(chunk);
  }
  return { body, scan: scanner.finish() };
}

describe('asking streams for usage', () => {
  it('adds include_usage to a streaming chat request that did not ask, and nothing else', () => {
    const { body, scan } = held([' {"model":"m","str', 'eam":true,"messages":[]}']);
    expect(askForStreamUsage('/v1/chat/completions', scan, body)).toBe(true);
    expect(JSON.parse(body.toBuffer().toString())).toEqual({ stream_options: { include_usage: true }, model: 'm', stream: true, messages: [] });
    expect(body.size).toBe(body.toBuffer().length);
  });

  it('leaves alone what did not stream, asked already, could be asking in disguise, or is not OpenAI-style', () => {
    const untouched = (path: string, text: string): boolean => {
      const { body, scan } = held([text]);
      return !askForStreamUsage(path, scan, body) && body.toBuffer().toString() === text;
    };
    expect(untouched('/v1/chat/completions', '{"model":"m","stream":false}')).toBe(true);
    expect(untouched('/v1/chat/completions', '{"model":"m","stream":true,"stream_options":{"include_usage":false}}')).toBe(true);
    expect(untouched('/v1/chat/completions', '{"model":"m","stream":true,"stream_option\\u0073":{}}')).toBe(true);
    expect(untouched('/v1/chat/completions', '{"model":"m","messages":[{"stream":true}]}')).toBe(true);
    expect(untouched('/api/chat', '{"model":"m","stream":true}')).toBe(true);
  });

  it('takes the usage-only event out of the answer, whole, and leaves the rest byte for byte', () => {
    const content = 'data: {"choices":[{"delta":{"content":"hi"}}]}\n\n';
    const usage = 'data: {"id":"x","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}\n\n';
    const done = 'data: [DONE]\n\n';
    expect(dropUsageOnlyEvents(Buffer.from(content + usage + done)).toString()).toBe(content + done);
    expect(dropUsageOnlyEvents(Buffer.from(usage)).toString()).toBe('');
    const plain = Buffer.from(content);
    expect(dropUsageOnlyEvents(plain)).toBe(plain);
    // Split across chunks: left alone rather than cut in half.
    expect(dropUsageOnlyEvents(Buffer.from(usage.slice(0, 40))).toString()).toBe(usage.slice(0, 40));
  });
});

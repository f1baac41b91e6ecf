import { describe, expect, it } from 'vitest';
import { ModelStamp } from './response-model-stamp.js';

/** The deployment name replaces every `"model"` value, however the bytes arrive. */

function stamp(chunks: Array<string | Buffer>, name = 'gemma-tunnel'): string {
  const s = new ModelStamp(name);
  const out = chunks.map((c) => s.push(Buffer.isBuffer(c) ? c : Buffer.from(c)));
  out.push(s.flush());
  return Buffer.concat(out).toString('utf8');
}

const SSE = [
  'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gemma3:4b","choices":[{"index":0,"delta":{"content":"say \\"model\\": \\"x\\""},"finish_reason":null}]}\n\n',
  'data: {"choices":[{"finish_reason":"stop","index":0,"delta":{}}],"created":1,"id":"c1","model":"/models/llama 3.2.gguf","object":"chat.completion.chunk"}\n\n',
  'event: message_start\ndata: {"type":"message_start","message":{"id":"m","model" : "qwen3","content":[]}}\n\n',
  '{"model":"gemma3:4b","created_at":"2026-01-01T00:00:00Z","message":{"role":"assistant","content":"hi"},"done":false}\n',
  'data: [DONE]\n\n',
].join('');

const EXPECTED = SSE.replace('"model":"gemma3:4b","choices"', '"model":"gemma-tunnel","choices"')
  .replace('"model":"/models/llama 3.2.gguf"', '"model":"gemma-tunnel"')
  .replace('"model" : "qwen3"', '"model" : "gemma-tunnel"')
  .replace('{"model":"gemma3:4b","created_at"', '{"model":"gemma-tunnel","created_at"');

describe('response model stamp', () => {
  it('rewrites keys at any depth in SSE, Anthropic events and NDJSON, never text inside strings', () => {
    expect(stamp([SSE])).toBe(EXPECTED);
    expect(EXPECTED).toContain('say \\"model\\": \\"x\\"');
  });

  it('gives the same bytes however the response is cut', () => {
    const bytes = Buffer.from(SSE);
    for (let size = 1; size <= 40; size++) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      expect(stamp(chunks), `slices of ${size}`).toBe(EXPECTED);
    }
  });

  it('leaves non-string values, other keys and escaped lookalikes alone', () => {
    const text = '{"model":null,"models":["a"],"model_info":{"x":1},"k":"a\\\\","model":"b","note":"\\"model\\":\\"c\\""}';
    expect(stamp([text], 'd')).toBe('{"model":null,"models":["a"],"model_info":{"x":1},"k":"a\\\\","model":"d","note":"\\"model\\":\\"c\\""}');
  });

  it('encodes the name as JSON and passes untouched chunks through without copying', () => {
    expect(stamp(['{"model":"x"}'], 'we"ird')).toBe('{"model":"we\\"ird"}');
    const s = new ModelStamp('d');
    const chunk = Buffer.from('data: {"choices":[{"delta":{"content":"hi"}}]}\n\n');
    expect(s.push(chunk)).toBe(chunk);
  });

  it('passes a stream whose values already are the name through without copying, cut anywhere', () => {
    const s = new ModelStamp('bench');
    const event = 'data: {"id":"c1","model":"bench","choices":[{"delta":{"content":"hi"}}]}\n\n';
    const whole = Buffer.from(event.repeat(3));
    expect(s.push(whole)).toBe(whole);
    expect(stamp([event.slice(0, 20), event.slice(20) + event], 'bench')).toBe(event + event);
    expect(stamp([event.replace('"bench"', '"bench-2"')], 'bench')).toBe(event);
  });

  it('holds back at most a bounded tail when a value never ends', () => {
    const s = new ModelStamp('d');
    const out = s.push(Buffer.from(`{"model":"${'x'.repeat(5000)}`));
    expect(out.length).toBeGreaterThan(4000);
    expect(Buffer.concat([out, s.flush()]).toString()).toBe(`{"model":"${'x'.repeat(5000)}`);
  });
});

import { describe, expect, it } from 'vitest';
import { askForStreamUsage, dropUsageOnlyEvents } from './stream-usage.js';

describe('asking streams for usage', () => {
  it('adds include_usage to a streaming chat request that did not ask, and nothing else', () => {
    const body = Buffer.from(' {"model":"m","stream":true,"messages":[]}');
    const asked = askForStreamUsage('/v1/chat/completions', JSON.parse(body.toString()), body)!;
    expect(JSON.parse(asked.toString())).toEqual({ stream_options: { include_usage: true }, model: 'm', stream: true, messages: [] });
    expect(askForStreamUsage('/v1/chat/completions', { stream: false }, body)).toBeNull();
    expect(askForStreamUsage('/v1/chat/completions', { stream: true, stream_options: { include_usage: false } }, body)).toBeNull();
    expect(askForStreamUsage('/api/chat', { stream: true }, body)).toBeNull();
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

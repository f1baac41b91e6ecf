import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeLlamaServer, type FakeLlamaServer } from './fake-llama-server.js';

/**
 * The llama.cpp-like test upstream, held against responses captured from a real
 * llama-server (e2e/fixtures/llama-server-b4750): same status codes, headers, field
 * names and SSE framing.
 */

interface Capture {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function capture(name: string): Capture {
  const text = readFileSync(new URL(`../fixtures/llama-server-b4750/${name}.http`, import.meta.url), 'utf8');
  const split = text.indexOf('\r\n\r\n');
  const [head, body] = [text.slice(0, split), text.slice(split + 4)];
  const [statusLine, ...headerLines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status: Number(statusLine!.split(' ')[1]), headers, body };
}

const keys = (value: unknown): string[] => Object.keys(value as object).sort();
const events = (body: string): string[] => body.split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => e.slice(6));

let server: FakeLlamaServer;
beforeAll(async () => {
  server = await startFakeLlamaServer({ defaultTokens: 6 });
});
afterAll(() => server.close());

async function call(path: string, body?: string): Promise<Capture> {
  const response = await fetch(server.url + path, body === undefined ? {} : { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  return { status: response.status, headers: Object.fromEntries(response.headers), body: await response.text() };
}

describe('fake llama-server matches the captured one', () => {
  it('GET /health, /v1/models, /props', async () => {
    for (const name of ['health', 'v1-models', 'props']) {
      const real = capture(name);
      const fake = await call(`/${name === 'v1-models' ? 'v1/models' : name}`);
      expect(fake.status, name).toBe(real.status);
      expect(fake.headers.server, name).toBe(real.headers.server);
      expect(fake.headers['content-type'], name).toBe(real.headers['content-type']);
      expect(keys(JSON.parse(fake.body)), name).toEqual(keys(JSON.parse(real.body)));
    }
    const realModel = JSON.parse(capture('v1-models').body).data[0];
    const fakeModel = JSON.parse((await call('/v1/models')).body).data[0];
    expect(keys(fakeModel)).toEqual(keys(realModel));
  });

  it('non-streaming chat: same fields, model echoed', async () => {
    const real = JSON.parse(capture('chat-nonstream').body);
    const fake = JSON.parse((await call('/v1/chat/completions', '{"model":"anything","messages":[{"role":"user","content":"Hi"}],"max_tokens":8}')).body);
    expect(keys(fake)).toEqual(keys(real));
    expect(keys(fake.choices[0])).toEqual(keys(real.choices[0]));
    expect(keys(fake.usage)).toEqual(keys(real.usage));
    expect(keys(fake.timings)).toEqual(keys(real.timings));
    expect(fake.model).toBe('anything');
  });

  it('streaming chat: content from the first chunk, usage and timings last, then [DONE]', async () => {
    const real = capture('chat-stream');
    const fake = await call('/v1/chat/completions', '{"model":"anything","stream":true,"messages":[{"role":"user","content":"Hi"}],"max_tokens":8,"stream_options":{"include_usage":true}}');
    expect(fake.headers['content-type']).toBe(real.headers['content-type']);
    const [realEvents, fakeEvents] = [events(real.body), events(fake.body)];
    expect(fakeEvents.at(-1)).toBe('[DONE]');
    expect(realEvents.at(-1)).toBe('[DONE]');
    const [realFirst, fakeFirst] = [JSON.parse(realEvents[0]!), JSON.parse(fakeEvents[0]!)];
    expect(keys(fakeFirst)).toEqual(keys(realFirst));
    expect(keys(fakeFirst.choices[0].delta)).toEqual(keys(realFirst.choices[0].delta));
    const [realLast, fakeLast] = [JSON.parse(realEvents.at(-2)!), JSON.parse(fakeEvents.at(-2)!)];
    expect(keys(fakeLast)).toEqual(keys(realLast));
    expect(fakeLast.choices[0].finish_reason).toBe('length');
  });

  it('ends with finish_reason "stop" unless max_tokens cut the reply', async () => {
    const done = JSON.parse((await call('/v1/chat/completions', '{"model":"m","messages":[{"role":"user","content":"Hi"}]}')).body);
    expect(done.choices[0].finish_reason).toBe('stop');
    const cut = JSON.parse((await call('/v1/chat/completions', '{"model":"m","messages":[{"role":"user","content":"Hi"}],"max_tokens":3}')).body);
    expect(cut.choices[0].finish_reason).toBe('length');
  });

  it('OpenAI-compatible /v1/completions, whole and streamed, with the chat answer\'s framing', async () => {
    const whole = JSON.parse((await call('/v1/completions', '{"model":"m","prompt":"Say hi","max_tokens":4}')).body);
    expect(whole).toMatchObject({ object: 'text_completion', model: 'm', choices: [{ index: 0, finish_reason: 'length', logprobs: null }], usage: { completion_tokens: 4 } });
    expect(whole.choices[0].text).toMatch(/^Hello from llama\.cpp\./);
    const chat = JSON.parse(capture('chat-nonstream').body);
    expect(keys(whole)).toEqual(keys(chat));
    const streamed = events((await call('/v1/completions', '{"model":"m","prompt":"Say hi","stream":true}')).body);
    expect(streamed.at(-1)).toBe('[DONE]');
    const chunks = streamed.slice(0, -1).map((e) => JSON.parse(e));
    expect(chunks.map((c) => c.choices[0].text).join('')).toMatch(/^Hello from llama\.cpp\. word1/);
    expect(chunks.at(-1)).toMatchObject({ object: 'text_completion', choices: [{ finish_reason: 'stop' }], usage: { completion_tokens: 6 } });
  });

  it('native /completion streaming', async () => {
    const real = events(capture('completion-stream').body).map((e) => JSON.parse(e));
    const fake = events((await call('/completion', '{"prompt":"Hello","n_predict":4,"stream":true}')).body).map((e) => JSON.parse(e));
    expect(keys(fake[0])).toEqual(keys(real[0]));
    expect(fake.at(-1).stop).toBe(true);
    expect(fake.at(-1).timings).toBeDefined();
  });

  it('malformed JSON gets HTTP 500, unknown paths the 404 error object', async () => {
    const bad = capture('chat-bad-json');
    const fakeBad = await call('/v1/chat/completions', '{"model": ');
    expect(fakeBad.status).toBe(bad.status);
    expect(JSON.parse(fakeBad.body).error.type).toBe(JSON.parse(bad.body).error.type);
    const pull = capture('api-pull');
    const fakePull = await call('/api/pull', '{"model":"x"}');
    expect(fakePull.status).toBe(pull.status);
    expect(JSON.parse(fakePull.body)).toEqual(JSON.parse(pull.body));
  });

  it('answers 503 "Loading model" everywhere while loading', async () => {
    server.loading = true;
    try {
      const health = await call('/health');
      expect(health.status).toBe(503);
      expect(JSON.parse(health.body).error.message).toBe('Loading model');
      expect((await call('/v1/chat/completions', '{}')).status).toBe(503);
    } finally {
      server.loading = false;
    }
  });
});

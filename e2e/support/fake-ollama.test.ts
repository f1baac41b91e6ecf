import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOllama, type FakeOllama } from './fake-ollama.js';

/** The Ollama-like test upstream's OpenAI-compatible text completions, as Ollama's OpenAI compatibility documents them. */

let ollama: FakeOllama;
beforeAll(async () => {
  ollama = await startFakeOllama({ defaultTokens: 5 });
});
afterAll(() => ollama.close());

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(ollama.url + path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
}

describe('fake Ollama /v1/completions', () => {
  it('answers a prompt with choices[].text, "stop" when done and "length" when max_tokens cut it', async () => {
    const done = JSON.parse(await (await post('/v1/completions', { model: 'gemma3:4b', prompt: 'Say hi' })).text());
    expect(done).toMatchObject({ object: 'text_completion', model: 'gemma3:4b', system_fingerprint: 'fp_ollama', choices: [{ index: 0, finish_reason: 'stop' }], usage: { completion_tokens: 5 } });
    expect(done.choices[0].text).toMatch(/^Hello from ollama\. word1/);
    const cut = JSON.parse(await (await post('/v1/completions', { model: 'gemma3:4b', prompt: 'Say hi', max_tokens: 2 })).text());
    expect(cut.choices[0].finish_reason).toBe('length');
  });

  it('streams text chunks, then usage when asked, then [DONE]; refuses an unknown model with 404', async () => {
    const text = await (await post('/v1/completions', { model: 'gemma3:4b', prompt: 'Say hi', stream: true, stream_options: { include_usage: true } })).text();
    const events = text.split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => e.slice(6));
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: 5 } });
    expect(chunks.at(-2).choices[0].finish_reason).toBe('stop');
    expect(chunks.slice(0, -2).map((c) => c.choices[0].text).join('')).toMatch(/^Hello from ollama\./);
    expect((await post('/v1/completions', { model: 'nope', prompt: 'x' })).status).toBe(404);
  });
});

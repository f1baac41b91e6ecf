import { connect } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeLlamaServer, type FakeLlamaServer } from '../support/fake-llama-server.js';
import { startFakeOllama, type FakeOllama } from '../support/fake-ollama.js';
import { TunnelRig } from '../support/tunnel-rig.js';

/**
 * The README's two-model example through real processes: a `tokios gateway`, two
 * `tokios connect` connectors, an Ollama-like and a llama.cpp-like upstream.
 */

/** What a connector's periodic upstream probe asks for (main/detect/upstream-probe.ts). */
const PROBE_PATHS = new Set(['/api/version', '/api/tags', '/props', '/health', '/v1/models']);

let rig: TunnelRig;
let ollama: FakeOllama;
let llama: FakeLlamaServer;

beforeAll(async () => {
  rig = await new TunnelRig(['--max-body', '65536']).start();
  ollama = await startFakeOllama({ models: ['gemma3:4b'] });
  llama = await startFakeLlamaServer();
  await rig.deploy('gemma-tunnel', ollama);
  await rig.deploy('llama3-local', llama);
});

afterAll(async () => {
  await rig?.close();
  await ollama?.close();
  await llama?.close();
});

describe('routing by model', () => {
  it('sends each request to the upstream its model names, and returns that upstream\'s answer', async () => {
    const gemma = await rig.chat('gemma-tunnel');
    expect(gemma.status).toBe(200);
    expect(gemma.json.choices[0].message.content).toMatch(/^Hello from ollama\./);

    const llamaAnswer = await rig.chat('llama3-local');
    expect(llamaAnswer.status).toBe(200);
    expect(llamaAnswer.json.choices[0].message.content).toMatch(/^Hello from llama\.cpp\./);

    // Each upstream saw its own model name, its own Host, and none of the client's key.
    const toOllama = ollama.requestsTo('/v1/chat/completions').at(-1)!;
    expect((toOllama.json as { model: string }).model).toBe('gemma3:4b');
    expect(toOllama.headers.host).toBe(new URL(ollama.url).host);
    expect(toOllama.headers.authorization).toBeUndefined();
    const toLlama = llama.requestsTo('/v1/chat/completions').at(-1)!;
    expect((toLlama.json as { model: string }).model).toBe('/models/llama-3.2-1b-instruct-q4_k_m.gguf');
    expect(JSON.stringify(toLlama.headers)).not.toContain(rig.apiKey);
  });

  it("routes Ollama's native API and Anthropic-style x-api-key requests too", async () => {
    const native = await rig.fetch('/api/chat', { model: 'gemma-tunnel', stream: false, messages: [{ role: 'user', content: 'Hi' }] });
    expect(native.status).toBe(200);
    expect(((await native.json()) as { message: { content: string } }).message.content).toMatch(/^Hello from ollama\./);

    const embed = await rig.fetch('/api/embed', { model: 'gemma-tunnel', input: 'text' });
    expect(embed.status).toBe(200);
    expect(((await embed.json()) as { embeddings: number[][] }).embeddings).toHaveLength(1);

    const viaXApiKey = await fetch(`${rig.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'x-api-key': rig.apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'llama3-local', messages: [{ role: 'user', content: 'Hi' }] }),
    });
    expect(viaXApiKey.status).toBe(200);
  });

  it('tells someone who opens the gateway in a browser what it is', async () => {
    const response = await fetch(rig.url);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain(`OPENAI_BASE_URL=${rig.url}/v1`);
  });

  it('lists the online deployments at /v1/models', async () => {
    const response = await rig.fetch('/v1/models');
    const ids = ((await response.json()) as { data: Array<{ id: string }> }).data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(['gemma-tunnel', 'llama3-local']));
  });
});

describe('streaming', () => {
  it('delivers the first chunk while the upstream is still generating', async () => {
    llama.tokenIntervalMs = 100;
    try {
      const sent = Date.now();
      const response = await rig.fetch('/v1/chat/completions', { model: 'llama3-local', stream: true, max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] });
      expect(response.headers.get('content-type')).toBe('text/event-stream');
      const reader = response.body!.getReader();
      const first = await reader.read();
      const firstAt = Date.now();
      const record = llama.requests.at(-1)!;
      // The upstream needs ~1 s for 10 tokens; the first one is already here.
      expect(record.finishedAt).toBeNull();
      expect(firstAt - sent).toBeLessThan(900);
      expect(new TextDecoder().decode(first.value)).toContain('Hello from llama.cpp.');
      let rest = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        rest += new TextDecoder().decode(value);
      }
      expect(rest).toContain('data: [DONE]');
      expect(record.finishedAt).not.toBeNull();
    } finally {
      llama.tokenIntervalMs = 0;
    }
  });

  it('delivers a large streamed answer complete, byte for byte, to a client that reads slowly', async () => {
    const body = { model: 'gemma-tunnel', stream: true, max_tokens: 6000, messages: [{ role: 'user', content: 'Hi' }] };
    const tunneled = await rig.fetch('/v1/chat/completions', body);
    const reader = tunneled.body!.getReader();
    // Let the tunnel fill up before reading anything.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const chunks: Uint8Array[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
    }
    const text = Buffer.concat(chunks).toString();
    const events = text.split('\n\n').filter((e) => e.startsWith('data: {'));
    expect(events).toHaveLength(6000 + 1);
    expect(events.map((e) => JSON.parse(e.slice(6)).choices[0].delta.content).join('')).toBe(`Hello from ollama.${Array.from({ length: 5999 }, (_, i) => ` word${i + 1}`).join('')}`);
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('works with the official openai package, streaming and not', async () => {
    const client = new OpenAI({ baseURL: `${rig.url}/v1`, apiKey: rig.apiKey });
    const completion = await client.chat.completions.create({ model: 'gemma-tunnel', messages: [{ role: 'user', content: 'Hello' }] });
    expect(completion.choices[0]!.message.content).toMatch(/^Hello from ollama\./);

    const stream = await client.chat.completions.create({ model: 'llama3-local', stream: true, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 4 });
    const pieces: string[] = [];
    for await (const chunk of stream) pieces.push(chunk.choices[0]?.delta?.content ?? '');
    expect(pieces.join('')).toBe('Hello from llama.cpp. word1 word2 word3');

    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toContain('gemma-tunnel');
  });

  it('aborts the upstream within 1 s when the client disconnects mid-stream', async () => {
    ollama.tokenIntervalMs = 100;
    try {
      const controller = new AbortController();
      const response = await rig.fetch('/v1/chat/completions', { model: 'gemma-tunnel', stream: true, max_tokens: 200, messages: [{ role: 'user', content: 'Hi' }] }, { signal: controller.signal });
      const reader = response.body!.getReader();
      await reader.read();
      const record = ollama.requests.at(-1)!;
      const abortedAt = Date.now();
      controller.abort();
      await expect.poll(() => record.aborted, { timeout: 1000, interval: 20 }).toBe(true);
      expect(record.abortedAt! - abortedAt).toBeLessThan(1000);
      expect(record.tokensSent).toBeLessThan(50);
    } finally {
      ollama.tokenIntervalMs = 0;
    }
  });
});

describe('errors in the OpenAI shape', () => {
  const expectError = async (response: Response, status: number, code: string): Promise<string> => {
    expect(response.status).toBe(status);
    const body = (await response.json()) as { error: { message: string; type: string; code: string } };
    expect(body.error.code).toBe(code);
    expect(typeof body.error.message).toBe('string');
    expect(typeof body.error.type).toBe('string');
    return body.error.message;
  };

  it('404 for an unknown model, naming the deployments that exist', async () => {
    const message = await expectError(await rig.fetch('/v1/chat/completions', { model: 'gpt-4o', messages: [] }), 404, 'model_not_found');
    expect(message).toContain('gemma-tunnel');
    expect(message).toContain('llama3-local');
  });

  it('503 for a registered deployment with no connector', async () => {
    await rig.register('sleeping', await rig.newToken());
    await expectError(await rig.fetch('/v1/chat/completions', { model: 'sleeping', messages: [] }), 503, 'deployment_offline');
  });

  it('502 when the upstream is unreachable', async () => {
    const dead = await startFakeOllama();
    const url = dead.url;
    await dead.close();
    await rig.deploy('dead-upstream', url, { model: 'gemma3:4b' }, /state: upstream-down/);
    const message = await expectError(await rig.fetch('/v1/chat/completions', { model: 'dead-upstream', messages: [] }), 502, 'upstream_unreachable');
    expect(message).toMatch(/refused/);
  });

  it('401 for a missing or wrong key', async () => {
    await expectError(await rig.fetch('/v1/chat/completions', { model: 'gemma-tunnel' }, { headers: { authorization: '' } }), 401, 'missing_api_key');
    await expectError(await rig.fetch('/v1/chat/completions', { model: 'gemma-tunnel' }, { headers: { authorization: 'Bearer sk-tokios-not-a-real-key-000000000000' } }), 401, 'invalid_api_key');
  });

  it('400 for bad JSON or no model, 413 for a body over the limit', async () => {
    await expectError(await rig.fetch('/v1/chat/completions', '{"model": "gemma-tunnel",'), 400, 'invalid_json');
    await expectError(await rig.fetch('/v1/chat/completions', { messages: [] }), 400, 'missing_model');
    await expectError(await rig.fetch('/v1/chat/completions', { model: 'gemma-tunnel', pad: 'x'.repeat(70_000) }), 413, 'request_too_large');
  });
});

describe('the allowlist', () => {
  /** Sends a raw request line, so nothing normalises the target on the way. */
  const raw = (target: string, body = '{"model":"gemma-tunnel","name":"evil"}'): Promise<string> =>
    new Promise((resolve, reject) => {
      const { hostname, port } = new URL(rig.url);
      const socket = connect(Number(port), hostname, () => {
        socket.write(`POST ${target} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${rig.apiKey}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
      });
      let text = '';
      socket.setEncoding('utf8').on('data', (d: string) => (text += d));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });

  it('never lets model management or traversal targets reach the upstream', async () => {
    const before = ollama.requests.length;
    const targets = [
      '/api/pull', '/api/delete', '/api/create', '/api/copy', '/api/push',
      '/v1/../api/pull', '/v1/chat/completions/../../api/pull', '/v1/%2e%2e/api/pull', '/v1/%252e%252e/api/pull',
      '/v1/chat/completions/%2e%2e/%2e%2e/api/delete', '/API/PULL', '/Api/Pull', '/v1\\..\\api\\pull', '//api/pull',
      `http://${new URL(ollama.url).host}/api/pull`, `${rig.url}/api/pull`, '/v1/chat/completions%2F..%2F..%2Fapi%2Fpull',
    ];
    for (const target of targets) {
      const answer = await raw(target);
      expect(answer, target).toMatch(/^HTTP\/1\.1 (400|404|405)/);
    }
    // The connector's own health probes (GET /api/tags, /api/version…) may land meanwhile;
    // what must never arrive is a management call, however the target was disguised.
    const reached = ollama.requests.slice(before).filter((r) => !(r.method === 'GET' && PROBE_PATHS.has(r.path)));
    expect(reached.map((r) => `${r.method} ${r.path}`)).toEqual([]);
  });
});

describe('connectors', () => {
  it('exits non-zero naming the reason when the gateway rejects the tunnel token', async () => {
    const rejections = (): number => (rig.gateway.stderr.match(/rejected: unknown tunnel token/g) ?? []).length;
    const before = rejections();
    const connector = rig.connect('tt-this-token-was-never-issued-by-the-gateway00', ollama);
    const { code } = await connector.exited;
    expect(code).toBe(3);
    expect(connector.stderr).toMatch(/rejected the tunnel token/);
    // One attempt, no retry storm.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(rejections() - before).toBe(1);
  });

  it('reconnects by itself after the gateway restarts, and requests work again', async () => {
    const { connector } = await rig.deploy('survivor', ollama, { model: 'gemma3:4b' });
    expect((await rig.chat('survivor')).status).toBe(200);
    await rig.restartGateway('SIGKILL');
    await connector.waitFor(/reconnecting/);
    const before = (connector.output.match(/state: online/g) ?? []).length;
    await expect.poll(() => (connector.output.match(/state: online/g) ?? []).length, { timeout: 8000, interval: 50 }).toBeGreaterThan(before);
    const answer = await rig.chat('survivor');
    expect(answer.status).toBe(200);
    expect(answer.json.choices[0].message.content).toMatch(/^Hello from ollama\./);
  });
});

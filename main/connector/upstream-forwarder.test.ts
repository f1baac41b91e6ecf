import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOllama, type FakeOllama } from '../../e2e/support/fake-ollama.js';
import { createSessionPair, type SessionPair } from '../../e2e/support/session-pair.js';
import type { RequestRecord } from '../../shared/health.js';
import { ResetCode, type RequestHead } from '../../shared/tunnel-protocol.js';
import { Logger } from '../logging/logger.js';
import type { TunnelStream } from '../tunnel/tunnel-session.js';
import { UpstreamForwarder } from './upstream-forwarder.js';

/**
 * The connector's forwarder behind a real tunnel, with a gateway side that sends whatever
 * it likes — as a compromised or buggy gateway could.
 */

let upstream: FakeOllama;
let pair: SessionPair;
let forwarder: UpstreamForwarder;
const records: RequestRecord[] = [];
/** Called on the first body chunk of whatever `send` is reading (for the abort test). */
let firstData: (() => void) | null = null;

beforeAll(async () => {
  upstream = await startFakeOllama({ models: ['gemma3:4b'] });
  pair = await createSessionPair();
  forwarder = new UpstreamForwarder({
    upstream: upstream.url,
    log: new Logger('test'),
    resolveModel: async () => ({ model: 'gemma3:4b' }),
    upstreamKind: () => 'ollama',
    onUpstreamReachable: () => {},
    onRecord: (record) => records.push(record),
    onActivity: () => {},
  });
  pair.connector.on('stream', (stream: TunnelStream, head: RequestHead) => forwarder.handle(stream, head));
});

afterAll(async () => {
  forwarder.destroy();
  await pair.close();
  await upstream.close();
});

function send(head: Partial<RequestHead>, body: unknown): { stream: TunnelStream; result: Promise<{ status: number | null; body: string; reset: [number, string] | null }> } {
  const full: RequestHead = { method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, deployment: 'gemma-tunnel', ...head };
  const stream = pair.gateway.openStream(full, false);
  stream.end(Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)));
  const result = new Promise<{ status: number | null; body: string; reset: [number, string] | null }>((resolve) => {
    let status: number | null = null;
    let text = '';
    stream.handler = {
      onHead: (h) => (status = h.status),
      onData: (chunk) => {
        text += chunk.toString();
        stream.consumed(chunk.length);
        firstData?.();
      },
      onEnd: () => resolve({ status, body: text, reset: null }),
      onReset: (code, reason) => resolve({ status, body: text, reset: [code, reason] }),
    };
  });
  return { stream, result };
}

describe('upstream forwarder', () => {
  it('rewrites model and Host, drops credentials and hop-by-hop headers', async () => {
    const { result } = send(
      { headers: { 'content-type': 'application/json', authorization: 'Bearer sk-tokios-secret', 'x-api-key': 'k', cookie: 'c', connection: 'x-secret', host: 'evil.example', 'x-custom': 'kept' } },
      { model: 'gemma-tunnel', messages: [] },
    );
    const { status, body } = await result;
    expect(status).toBe(200);
    expect(body).toContain('Hello from ollama.');
    const seen = upstream.requests.at(-1)!;
    expect((seen.json as { model: string }).model).toBe('gemma3:4b');
    expect(seen.headers.host).toBe(new URL(upstream.url).host);
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers['x-api-key']).toBeUndefined();
    expect(seen.headers.cookie).toBeUndefined();
    expect(seen.headers['x-custom']).toBe('kept');
    expect(records.at(-1)).toMatchObject({ path: '/v1/chat/completions', model: 'gemma3:4b', status: 200, promptTokens: 12 });
  });

  it("answers under the deployment's name: every model field rewritten, the upstream's content-length dropped", async () => {
    const whole = send({}, { model: 'gemma-tunnel', messages: [] });
    const { body } = await whole.result;
    expect(JSON.parse(body).model).toBe('gemma-tunnel');
    const streamed = send({ path: '/api/chat' }, { model: 'gemma-tunnel', messages: [] });
    const lines = (await streamed.result).body.trim().split('\n').map((line) => JSON.parse(line) as { model: string });
    expect(lines.length).toBeGreaterThan(2);
    expect(lines.every((line) => line.model === 'gemma-tunnel')).toBe(true);
  });

  it('sends a streamed request on a connection of its own, never on one that just carried an answer', async () => {
    // Plain requests share kept-alive connections; a stream after one must not take it over
    // (with an upstream that leaves Nagle on, its first tokens would wait for a delayed ACK).
    const portOf = async (body: object): Promise<number> => {
      const { result } = send({}, { model: 'gemma-tunnel', messages: [], ...body });
      expect((await result).status).toBe(200);
      return upstream.requests.at(-1)!.clientPort;
    };
    const plain = await portOf({ stream: false });
    const streamed = await portOf({ stream: true });
    const plainAgain = await portOf({});
    const streamedAgain = await portOf({ stream: true });
    expect(plainAgain).toBe(plain);
    expect(new Set([plain, streamed, streamedAgain]).size).toBe(3);
    expect(upstream.requests.at(-1)!.headers.connection).toBe('close');
  });

  it('tells an endpoint the upstream lacks (NotImplemented) from a model it lacks (its own 404)', async () => {
    const missing = await send({ path: '/v1/messages' }, { model: 'gemma-tunnel', messages: [] }).result;
    expect(missing.reset?.[0]).toBe(ResetCode.NotImplemented);
    expect(missing.reset?.[1]).toBe('the ollama upstream has no POST /v1/messages (it answered 404)');
    upstream.models = ['another:1b'];
    try {
      const unknown = await send({}, { model: 'gemma-tunnel', messages: [] }).result;
      expect(unknown.status).toBe(404);
      expect(unknown.body).toContain('model \\"gemma3:4b\\" not found');
    } finally {
      upstream.models = ['gemma3:4b'];
    }
  });

  it('resets disallowed targets without touching the upstream', async () => {
    const before = upstream.requests.length;
    for (const [method, path] of [['POST', '/api/pull'], ['POST', '/v1/%2e%2e/api/pull'], ['DELETE', '/api/delete'], ['POST', '/v1/chat/completions/../../api/create']]) {
      const { result } = send({ method: method!, path: path! }, { model: 'gemma-tunnel', name: 'x' });
      const { reset } = await result;
      expect(reset?.[0], path).toBe(ResetCode.PathNotAllowed);
    }
    expect(upstream.requests.length).toBe(before);
  });

  it('refuses a body that is not JSON on a model-routed path', async () => {
    const { result } = send({}, 'not json');
    expect((await result).reset?.[0]).toBe(ResetCode.BadRequest);
  });

  it('aborts the upstream request at once when the stream is reset', async () => {
    upstream.tokenIntervalMs = 50;
    try {
      const dataSeen = new Promise<void>((resolve) => (firstData = resolve));
      const { stream } = send({}, { model: 'gemma-tunnel', stream: true, max_tokens: 500, messages: [] });
      await dataSeen;
      firstData = null;
      const record = upstream.requests.at(-1)!;
      const tokensAtReset = record.tokensSent;
      stream.reset(ResetCode.Cancel, 'client disconnected');
      await expect.poll(() => record.aborted, { timeout: 5000, interval: 10 }).toBe(true);
      // The generation stopped with the stream (of 500 tokens asked for, a handful more at most).
      expect(record.tokensSent - tokensAtReset).toBeLessThan(20);
    } finally {
      upstream.tokenIntervalMs = 0;
    }
  });

  it('resets a stream whose target is an absolute URI; the upstream sees nothing, the tunnel carries on', async () => {
    const before = upstream.requests.length;
    const { result } = send({ path: 'http://127.0.0.1:1/api/pull' }, { model: 'gemma-tunnel' });
    const { reset } = await result;
    expect(reset?.[0]).toBe(ResetCode.BadRequest);
    expect(reset?.[1]).toMatch(/invalid path/);
    expect(upstream.requests.length).toBe(before);
    expect(pair.connector.closed).toBe(false);
    expect((await send({}, { model: 'gemma-tunnel', messages: [] }).result).status).toBe(200);
  });
});

describe('upstream forwarder: request bodies held at once', () => {
  it('returns credit only for body bytes it can hold, and refuses the streams past its limit', async () => {
    const small = await createSessionPair();
    const limited = new UpstreamForwarder({
      upstream: upstream.url, log: new Logger('test'), resolveModel: async () => ({ model: 'gemma3:4b' }), maxHeldBodyBytes: 1 << 20, upstreamKind: () => 'ollama',
      onUpstreamReachable: () => {}, onRecord: () => {}, onActivity: () => {},
    });
    small.connector.on('stream', (stream: TunnelStream, head: RequestHead) => limited.handle(stream, head));
    try {
      // Three bodies of 768 KiB that never end: together over the 1 MiB the connector may hold.
      const resets: Array<number | null> = [null, null, null];
      const streams = resets.map((_, i) => {
        const stream = small.gateway.openStream({ method: 'POST', path: '/v1/chat/completions', headers: {}, deployment: 'd' }, false);
        stream.handler = { onReset: (code) => (resets[i] = code) };
        stream.write(Buffer.concat([Buffer.from('{"model":"x","pad":"'), Buffer.alloc(768 * 1024, 0x61)]));
        return stream;
      });
      await expect.poll(() => resets.filter((code) => code === ResetCode.RefusedStream).length, { timeout: 10_000 }).toBeGreaterThan(0);
      expect(limited.heldBodies.held).toBeLessThanOrEqual(1 << 20);
      for (const stream of streams) stream.reset(ResetCode.Cancel, 'done');
      await expect.poll(() => limited.heldBodies.held, { timeout: 5000 }).toBe(0);
    } finally {
      limited.destroy();
      await small.close();
    }
  });
});

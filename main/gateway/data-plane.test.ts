import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../e2e/support/processes.js';
import { rawExchange, rawPost } from '../../e2e/support/raw-http.js';
import { CHAT_ONLY_UPSTREAM, RogueConnector, type RogueRequest } from '../../e2e/support/rogue-connector.js';
import { pollUntil } from '../../e2e/support/rogue-gateway.js';
import { DEFAULT_LIMITS, ResetCode, type HelloPayload } from '../../shared/tunnel-protocol.js';
import { addLogSink, Logger, type LogRecord } from '../logging/logger.js';
import { startGateway, type Gateway, type GatewayOptions } from './gateway-server.js';
import { IMPLICIT_ACCOUNT_ID } from './gateway-store.js';
import type { GatewayRequestRecord } from './request-observer.js';
import { mintSecret } from './secrets.js';

/**
 * The data plane with a real gateway and real tunnels; the connectors are scripted peers
 * speaking the frame format, so each test decides exactly what a connector does.
 */

interface Rig {
  gateway: Gateway;
  key: string;
  dir: { remove: () => void };
  /** Mints a token, registers `name` to it, and connects a scripted connector (saying `hello`). */
  deploy(name: string, hello?: Partial<HelloPayload>): Promise<{ token: string; connector: RogueConnector }>;
  post(body: string | object, headers?: Record<string, string>, path?: string): Promise<{ status: number; json: any; headers: Headers }>;
}

const connectors: RogueConnector[] = [];

async function startRig(offlineGraceMs: number, options: Partial<GatewayOptions> = {}): Promise<Rig> {
  const dir = tempDir();
  const gateway = await startGateway({ dataDir: `${dir.path}/gw`, port: 0, offlineGraceMs, maxBodyBytes: 4096, log: new Logger('test-gateway'), ...options });
  const key = (await gateway.admin.createKey(IMPLICIT_ACCOUNT_ID, { scope: 'admin' })).key!;
  const post: Rig['post'] = async (body, headers = {}, path = '/v1/chat/completions') => {
    const response = await fetch(gateway.url + path, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: response.status, json: await response.json().catch(() => null), headers: response.headers };
  };
  return {
    gateway,
    key,
    dir,
    post,
    async deploy(name, hello = {}) {
      const token = (await gateway.admin.createToken(IMPLICIT_ACCOUNT_ID, {})).token!;
      const registered = await fetch(`${gateway.url}/v1/deployments`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ name, token }) });
      expect(registered.status).toBe(201);
      const connector = await RogueConnector.connect(gateway.url, token, DEFAULT_LIMITS, hello);
      connectors.push(connector);
      await connector.serving();
      return { token, connector };
    },
  };
}

/** Answers every request with `{"from": label}`. */
function answerAs(connector: RogueConnector, label: string): void {
  connector.onRequest = (request) => connector.respond(request.streamId, 200, { 'content-type': 'application/json' }, [JSON.stringify({ from: label })]);
}

let rig: Rig;
let alpha: RogueConnector;
let alphaToken: string;

beforeAll(async () => {
  rig = await startRig(10_000);
  ({ connector: alpha, token: alphaToken } = await rig.deploy('alpha'));
  answerAs(alpha, 'alpha');
  answerAs((await rig.deploy('beta')).connector, 'beta');
});

afterAll(async () => {
  for (const connector of connectors) connector.close();
  await rig.gateway.destroy();
  rig.dir.remove();
});

describe('data plane: routing', () => {
  it('sends each request to the deployment its model names, with the path, query and headers the upstream needs', async () => {
    expect((await rig.post({ model: 'alpha', messages: [] })).json).toEqual({ from: 'alpha' });
    expect((await rig.post({ model: 'beta', messages: [] })).json).toEqual({ from: 'beta' });
    const before = alpha.requests.length;
    // Raw bytes: fetch would not send a Connection header of our choosing.
    const request = rawPost('/v1/chat/completions?trace=1', '{"model":"alpha"}', { authorization: `Bearer ${rig.key}`, connection: 'x-hop', 'x-hop': 'drop me', 'x-custom': 'kept', cookie: 'c=1' });
    expect((await rawExchange(Number(new URL(rig.gateway.url).port), request, { done: (t) => t.includes('"from"') })).text).toMatch(/^HTTP\/1\.1 200/);
    const { head, body } = alpha.requests[before]!;
    expect(head).toMatchObject({ method: 'POST', path: '/v1/chat/completions?trace=1', deployment: 'alpha' });
    expect(head.headers['x-custom']).toBe('kept');
    for (const name of ['authorization', 'cookie', 'connection', 'x-hop', 'host', 'content-length']) expect(head.headers[name], name).toBeUndefined();
    expect(JSON.parse(body.toString())).toEqual({ model: 'alpha' });
  });
});

describe('data plane: errors in the OpenAI shape', () => {
  const expectError = (answer: { status: number; json: any }, status: number, code: string): void => {
    expect(answer.status).toBe(status);
    expect(answer.json.error).toMatchObject({ code, type: expect.any(String), message: expect.any(String) });
  };

  it('401 without a key or with a wrong one', async () => {
    expectError(await rig.post({ model: 'alpha' }, { authorization: '' }), 401, 'missing_api_key');
    expectError(await rig.post({ model: 'alpha' }, { authorization: 'Bearer sk-tokios-wrong-wrong-wrong-wrong' }), 401, 'invalid_api_key');
  });

  it('404 for a model no deployment has, naming those that exist', async () => {
    const answer = await rig.post({ model: 'gpt-4o' });
    expectError(answer, 404, 'model_not_found');
    expect(answer.json.error.message).toContain('alpha, beta');
  });

  it('400 for a body that is not JSON or has no model, 413 past the size limit', async () => {
    expectError(await rig.post('{"model":"alpha",'), 400, 'invalid_json');
    expectError(await rig.post({ messages: [] }), 400, 'missing_model');
    expectError(await rig.post({ model: 7 }), 400, 'missing_model');
    expectError(await rig.post({ model: 'alpha', pad: 'x'.repeat(5000) }), 413, 'request_too_large');
  });

  it('the connector\'s reset codes become the matching HTTP errors', async () => {
    const cases: Array<[number, number, string]> = [[ResetCode.UpstreamUnreachable, 502, 'upstream_unreachable'], [ResetCode.PathNotAllowed, 403, 'path_not_allowed'], [ResetCode.BadRequest, 400, 'bad_request']];
    for (const [code, status, name] of cases) {
      alpha.onRequest = (request) => alpha.reset(request.streamId, code, 'because');
      const answer = await rig.post({ model: 'alpha' });
      expectError(answer, status, name);
      expect(answer.json.error.message).toBe("Deployment 'alpha': because");
    }
    answerAs(alpha, 'alpha');
  });
});

describe('data plane: when the connector is not there', () => {
  it('503 at once for a deployment whose connector never connected', async () => {
    const token = (await rig.gateway.admin.createToken(IMPLICIT_ACCOUNT_ID, {})).token!;
    await fetch(`${rig.gateway.url}/v1/deployments`, { method: 'POST', headers: { authorization: `Bearer ${rig.key}` }, body: JSON.stringify({ name: 'sleeping', token }) });
    const answer = await rig.post({ model: 'sleeping' });
    expect(answer.status).toBe(503);
    expect(answer.json.error.code).toBe('deployment_offline');
    expect(answer.headers.get('retry-after')).toBe('2');
  });

  it('a request for a tunnel that just dropped waits for the connector to come back, and is served by it', async () => {
    alpha.close();
    await pollUntil(() => rig.gateway.registries.forAccount(IMPLICIT_ACCOUNT_ID).pick('alpha') === null, 'the tunnel to drop');
    const pending = rig.post({ model: 'alpha' });
    const back = await RogueConnector.connect(rig.gateway.url, alphaToken);
    connectors.push(back);
    answerAs(back, 'alpha, back');
    expect((await pending).json).toEqual({ from: 'alpha, back' });
    alpha = back;
  });

  it('503 once the grace period passes with no connector', async () => {
    const short = await startRig(200);
    try {
      const { connector } = await short.deploy('flaky');
      connector.close();
      await pollUntil(() => short.gateway.registries.forAccount(IMPLICIT_ACCOUNT_ID).pick('flaky') === null, 'the tunnel to drop');
      const answer = await short.post({ model: 'flaky' });
      expect(answer.status).toBe(503);
      expect(answer.json.error.code).toBe('deployment_offline');
    } finally {
      await short.gateway.destroy();
      short.dir.remove();
    }
  });
});

describe('data plane: refused streams and cancellation', () => {
  it('retries a stream the connector refused without processing it, and gives up after three', async () => {
    let attempts = 0;
    alpha.onRequest = (request) => {
      attempts++;
      if (attempts === 1) alpha.reset(request.streamId, ResetCode.RefusedStream, 'too many concurrent streams');
      else alpha.respond(request.streamId, 200, { 'content-type': 'application/json' }, ['{"from":"retry"}']);
    };
    expect((await rig.post({ model: 'alpha' })).json).toEqual({ from: 'retry' });
    expect(attempts).toBe(2);

    attempts = 0;
    alpha.onRequest = (request) => {
      attempts++;
      alpha.reset(request.streamId, ResetCode.RefusedStream, 'connector is draining');
    };
    const answer = await rig.post({ model: 'alpha' });
    expect(answer.status).toBe(503);
    expect(answer.json.error).toMatchObject({ code: 'deployment_unavailable', message: expect.stringContaining('connector is draining') });
    expect(attempts).toBe(3);
    answerAs(alpha, 'alpha');
  });

  it('a client that goes away mid-answer cancels its stream at the connector', async () => {
    let streaming: RogueRequest | null = null;
    alpha.onRequest = (request) => {
      streaming = request;
      alpha.respond(request.streamId, 200, { 'content-type': 'text/event-stream' }, ['data: {"n":1}\n\n'], false);
    };
    const body = JSON.stringify({ model: 'alpha', stream: true });
    const req = http.request(`${rig.gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${rig.key}`, 'content-type': 'application/json' } });
    req.on('error', () => undefined);
    const firstEvent = new Promise<void>((resolve) => req.on('response', (res) => res.once('data', () => resolve())));
    req.end(body);
    await firstEvent;
    req.destroy();
    await pollUntil(() => streaming !== null && alpha.resets.has(streaming.streamId), 'the cancel to reach the connector');
    expect(alpha.resets.get(streaming!.streamId)).toEqual({ code: ResetCode.Cancel, reason: 'client disconnected' });
    answerAs(alpha, 'alpha');
  });
});

describe('data plane: held request bodies', () => {
  it('a body is held only until its answer begins (no retry is possible after that), not while the answer streams', async () => {
    // Room for one 3 KB body at a time: a second request fits only if the first, answering, let go of its body.
    const small = await startRig(1000, { maxHeldBodyBytes: 4096 });
    try {
      const { connector } = await small.deploy('long');
      // Answers begin and never end, like a long generation.
      connector.onRequest = (request) => connector.respond(request.streamId, 200, { 'content-type': 'text/event-stream' }, ['data: {"n":1}\n\n'], false);
      const streaming = new AbortController();
      const open = (): Promise<Response> =>
        fetch(`${small.gateway.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${small.key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'long', stream: true, prompt: 'x'.repeat(3000) }),
          signal: streaming.signal,
        });
      try {
        expect((await open()).status).toBe(200);
        expect((await open()).status).toBe(200);
      } finally {
        streaming.abort();
      }
    } finally {
      await small.gateway.destroy();
      small.dir.remove();
    }
  });
});

describe('data plane: translated routes facing hostile peers', () => {
  const CHAT_ONLY = CHAT_ONLY_UPSTREAM;
  const messages = (body: object, stream = false): string => JSON.stringify({ model: 'chat-only', max_tokens: 5, stream, ...body });
  const anthropic = { 'anthropic-version': '2023-06-01' };
  let translated: Rig;
  let connector: RogueConnector;
  let token: string;
  const errors: LogRecord[] = [];
  let detach = (): void => {};

  beforeAll(async () => {
    detach = addLogSink((record) => record.level === 'error' && errors.push(record));
    translated = await startRig(10_000, { maxBodyBytes: 16 << 20 });
    ({ connector, token } = await translated.deploy('chat-only', CHAT_ONLY));
  });

  afterAll(async () => {
    detach();
    await translated.gateway.destroy();
    translated.dir.remove();
  });

  it('a Messages turn of 150,000 tool results: 413 in Anthropic\'s shape naming the limit, also after waiting for its tunnel; no error escapes', async () => {
    const results = Array.from({ length: 150_000 }, () => ({ type: 'tool_result', tool_use_id: 't', content: '' }));
    const body = messages({ messages: [{ role: 'user', content: results }] });
    const expectTooLarge = (answer: { status: number; json: any }): void => {
      expect(answer.status).toBe(413);
      expect(answer.json).toMatchObject({ type: 'error', error: { type: 'request_too_large', message: expect.stringContaining('at most 8388608 bytes and 100000 JSON values; this one has') } });
    };
    expectTooLarge(await translated.post(body, anthropic, '/v1/messages'));

    // The same while its tunnel reconnects: each waits, then meets the limit — none hangs, none escapes.
    connector.close();
    await pollUntil(() => translated.gateway.registries.forAccount(IMPLICIT_ACCOUNT_ID).pick('chat-only') === null, 'the tunnel to drop');
    const waiting = Array.from({ length: 3 }, () => translated.post(body, anthropic, '/v1/messages'));
    connector = await RogueConnector.connect(translated.gateway.url, token, DEFAULT_LIMITS, CHAT_ONLY);
    connectors.push(connector);
    for (const answer of await Promise.all(waiting)) expectTooLarge(answer);
    expect(errors.map((e) => e.message)).toEqual([]);
  });

  it('a whole answer larger than the gateway collects to translate: 502 naming the deployment, before any parse', async () => {
    connector.onRequest = (request) => {
      const opening = '{"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"pad":[';
      void connector.answerInPieces(request.streamId, 'application/json', opening, Buffer.alloc(60 * 1024, '{},'), 6 << 20, '{}]}');
    };
    const answer = await translated.post(messages({ messages: [{ role: 'user', content: 'Hi' }] }), anthropic, '/v1/messages');
    expect(answer.status).toBe(502);
    expect(answer.json).toMatchObject({ type: 'error', error: { type: 'api_error', message: "Deployment 'chat-only' answered more than 4194304 bytes, more than the gateway collects to translate." } });
    // The deployment was told to stop sending.
    const streamId = connector.requests.at(-1)!.streamId;
    await pollUntil(() => connector.resets.has(streamId), 'the stream to be reset');
  });

  it('a stream line that never ends: the client gets the dialect\'s error event and the end of its answer', async () => {
    // 512-byte frames, as a rogue connector pinning the gateway's CPU would send them, for ever.
    connector.onRequest = (request) => void connector.answerInPieces(request.streamId, 'text/event-stream', 'data: {"choices":[{"index":0,"delta":{"content":"', Buffer.alloc(512, 0x61), Infinity);
    const response = await fetch(`${translated.gateway.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${translated.key}`, ...anthropic }, body: messages({ messages: [{ role: 'user', content: 'Hi' }] }, true) });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toMatch(/^event: message_start\n/);
    expect(text).toMatch(/event: error\ndata: \{"type":"error","error":\{"type":"api_error","message":"the upstream sent a stream line longer than 1048576 bytes"\}\}\n\n$/);
  });
});

describe('data plane: the request record', () => {
  it('carries no secret a client put in the path or the model, whoever sent it', async () => {
    const records: GatewayRequestRecord[] = [];
    const observed = await startRig(1000, { onRequest: (record) => records.push(record) });
    try {
      const leaked = mintSecret('api-key');
      await fetch(`${observed.gateway.url}/v1/models/${leaked}`).then((r) => r.arrayBuffer());
      await observed.post({ model: leaked });
      await pollUntil(() => records.length === 2, 'both records');
      expect(records.map((r) => [r.status, r.path, r.deployment])).toEqual([
        [401, '/v1/models/sk-tokios-[redacted]', null],
        [404, '/v1/chat/completions', 'sk-tokios-[redacted]'],
      ]);
    } finally {
      await observed.gateway.destroy();
      observed.dir.remove();
    }
  });
});

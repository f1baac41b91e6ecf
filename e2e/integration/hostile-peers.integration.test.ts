import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../main/tunnel/frame-codec.js';
import { DEFAULT_LIMITS, FLAG_END_STREAM, FrameType, ResetCode } from '../../shared/tunnel-protocol.js';
import { rss } from '../faults/fault-report.js';
import { chatBody, floodBodies, FORGED, pooledPost as pool, type PooledOutcome } from '../faults/data-path-abuse.js';
import { startFakeOllama, type FakeOllama } from '../support/fake-ollama.js';
import { startGatewayProcess, tempDir, tokios, writeConfig, type TokiosProcess } from '../support/processes.js';
import { openSocket, rawExchange, rawPost } from '../support/raw-http.js';
import { CHAT_ONLY_UPSTREAM, RogueConnector } from '../support/rogue-connector.js';
import { pollUntil, RogueGateway } from '../support/rogue-gateway.js';
import { TunnelRig } from '../support/tunnel-rig.js';

/**
 * Every peer may be hostile: a connector lying about its responses, a client sending what
 * the tunnel cannot carry or holding connections half-open, a gateway feeding a connector
 * poison. Real gateway and connector processes; the hostile side is written with `ws` and
 * speaks the real frame format. Each attack harms nothing beyond its own stream.
 */

let rig: TunnelRig;
let ollama: FakeOllama;
let rogue: RogueConnector;
let port: number;

beforeAll(async () => {
  rig = await new TunnelRig(['--max-body', '8000000', '--max-held-bodies', '12000000']).start();
  port = Number(new URL(rig.url).port);
  ollama = await startFakeOllama({ models: ['gemma3:4b', 'llama-evil'] });
  await rig.deploy('legit', ollama, { model: 'gemma3:4b' });
  const token = await rig.newToken();
  await rig.register('rogue', token);
  rogue = await RogueConnector.connect(rig.url, token);
  await rogue.serving();
});

afterAll(async () => {
  rogue?.close();
  await rig?.close();
  await ollama?.close();
});

/** One POST through `agent`, a keep-alive pool as client libraries and reverse proxies keep. */
const pooledPost = (agent: http.Agent, model: string): Promise<PooledOutcome> => pool(rig.url, rig.apiKey, agent, chatBody(model));

describe('a connector forging response framing', () => {
  const answerWith = (headers: Record<string, string | string[]>, parts: string[]): void => {
    rogue.onRequest = (request) => rogue.respond(request.streamId, 200, { 'content-type': 'application/json', ...headers }, parts);
  };

  it('cannot plant a response for the next request on a keep-alive connection', async () => {
    const auth = { authorization: `Bearer ${rig.apiKey}` };
    // The extra bytes in the same Data frame as the declared ones, and in a frame of their own.
    for (const parts of [[`hello${FORGED}`], ['hello', FORGED]]) {
      answerWith({ 'content-length': '5' }, parts);
      const pipelined = rawPost('/v1/chat/completions', chatBody('rogue'), auth) + rawPost('/v1/chat/completions', chatBody('legit'), auth);
      const { text } = await rawExchange(port, pipelined, { done: (t) => t.includes('Hello from ollama'), timeoutMs: 5000 });
      expect(text).not.toContain('forged');
      // The first answer ends where its length said; the second is the honest deployment's own.
      const [first, second] = text.split(/(?=HTTP\/1\.1 )/);
      expect(first).toMatch(/\r\n\r\nhello$/);
      expect(second).toContain('Hello from ollama');
    }
  });

  it('cannot plant one for a pooling client either, even timed for its next request', async () => {
    // The declared 5 bytes complete the response; the connector keeps the stream open and
    // sends its forgery once the client's next request (for the honest deployment) is out.
    let rogueStream = 0;
    rogue.onRequest = (request) => {
      rogueStream = request.streamId;
      rogue.respond(request.streamId, 200, { 'content-type': 'application/json', 'content-length': '5' }, ['hello'], false);
    };
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect(await pooledPost(agent, 'rogue')).toEqual({ status: 200, text: 'hello' });
      const before = ollama.requests.length;
      const next = pooledPost(agent, 'legit');
      await pollUntil(() => ollama.requests.length > before, 'the next request to reach the honest upstream');
      rogue.send(encodeFrame(FrameType.Data, FLAG_END_STREAM, rogueStream, FORGED));
      const answer = await next;
      expect(JSON.stringify(answer)).not.toContain('forged');
      // The pool goes on serving the honest deployment.
      expect(await pooledPost(agent, 'legit')).toMatchObject({ status: 200, text: expect.stringContaining('Hello from ollama') });
    } finally {
      agent.destroy();
    }
  });

  it('ending short of its content-length cuts that connection at once, before another answer can fill the gap', async () => {
    answerWith({ 'content-length': '100' }, ['short']);
    const auth = { authorization: `Bearer ${rig.apiKey}` };
    const pipelined = rawPost('/v1/chat/completions', chatBody('rogue'), auth) + rawPost('/v1/chat/completions', chatBody('legit'), auth);
    const { text, closed } = await rawExchange(port, pipelined, { done: (t) => t.includes('Hello from ollama'), timeoutMs: 5000 });
    expect(text).not.toContain('Hello from ollama');
    expect(closed).toBe(true);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect(await pooledPost(agent, 'rogue')).toEqual({ error: expect.not.stringContaining('timed out') });
      expect(await pooledPost(agent, 'legit')).toMatchObject({ status: 200, text: expect.stringContaining('Hello from ollama') });
    } finally {
      agent.destroy();
    }
  });

  it('declaring two different lengths gets the client a 502, not two Content-Length headers', async () => {
    const conflicting: Array<Record<string, string | string[]>> = [{ 'content-length': '5', 'Content-Length': '6' }, { 'content-length': ['5', '6'] }, { 'content-length': '5, 6' }];
    for (const headers of conflicting) {
      answerWith(headers, ['hello']);
      const response = await rig.fetch('/v1/chat/completions', chatBody('rogue'));
      expect(response.status).toBe(502);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('upstream_protocol_error');
    }
  });

  it('a length it keeps to is passed on as is', async () => {
    answerWith({ 'content-length': '5' }, ['hel', 'lo']);
    const response = await rig.fetch('/v1/chat/completions', chatBody('rogue'));
    expect(response.headers.get('content-length')).toBe('5');
    expect(await response.text()).toBe('hello');
  });
});

describe('requests the tunnel cannot carry', () => {
  it('are refused with 431 and 414 while a healthy stream on the same tunnel keeps streaming', async () => {
    ollama.tokenIntervalMs = 40;
    try {
      const streamed = new Promise<string>((resolve, reject) => {
        const body = chatBody('legit', { stream: true, max_tokens: 30 });
        const req = http.request(`${rig.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${rig.apiKey}`, 'content-type': 'application/json' } });
        req.on('response', (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve(text));
          res.on('aborted', () => reject(new Error(`stream aborted after: ${text.slice(-200)}`)));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
      });
      await pollUntil(() => (ollama.requests.at(-1)?.tokensSent ?? 0) > 2, 'the stream to start');

      const many: Record<string, string> = {};
      for (let i = 0; i < 250; i++) many[`x-h${i}`] = 'v';
      const manyHeaders = await rig.fetch('/v1/chat/completions', chatBody('legit'), { headers: many });
      expect(manyHeaders.status).toBe(431);
      expect(((await manyHeaders.json()) as { error: { code: string } }).error.code).toBe('request_header_fields_too_large');
      const longQuery = await rig.fetch(`/v1/chat/completions?q=${'a'.repeat(9000)}`, chatBody('legit'));
      expect(longQuery.status).toBe(414);
      expect(((await longQuery.json()) as { error: { message: string } }).error.message).toMatch(/at most 8192/);

      const text = await streamed;
      expect(text).toContain('data: [DONE]');
      expect(text).toContain(' word29');
    } finally {
      ollama.tokenIntervalMs = 0;
    }
  });
});

describe('bodies that cost memory', () => {
  it('finding the model in 4 MB of empty objects takes a bounded amount of gateway memory', async () => {
    const body = `{"model":"nope","a":[${'{},'.repeat(1_300_000)}{}]}`;
    const before = rss(rig.gateway.pid);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rss(rig.gateway.pid))), 10);
    try {
      const response = await rig.fetch('/v1/chat/completions', body);
      expect(response.status).toBe(404);
      await response.arrayBuffer();
    } finally {
      clearInterval(sampler);
    }
    // The body itself is 3.9 MB; parsing it into objects took over a hundred MB.
    expect(peak - before).toBeLessThan(40e6);
  });

  it('the same body to a deployment the gateway translates for is refused before it is parsed', async () => {
    const token = await rig.newToken();
    await rig.register('chat-only', token);
    const chatOnly = await RogueConnector.connect(rig.url, token, DEFAULT_LIMITS, CHAT_ONLY_UPSTREAM);
    try {
      await chatOnly.serving();
      const body = `{"model":"chat-only","max_tokens":5,"messages":[{"role":"user","content":[${'{},'.repeat(1_300_000)}{}]}]}`;
      const before = rss(rig.gateway.pid);
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, rss(rig.gateway.pid))), 10);
      try {
        const response = await rig.fetch('/v1/messages', body, { headers: { 'anthropic-version': '2023-06-01' } });
        expect(response.status).toBe(413);
        expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'request_too_large', message: expect.stringContaining('this one has 3900080 bytes and 1300008 values') } });
      } finally {
        clearInterval(sampler);
      }
      // Translating it parsed the whole body: over a hundred MB.
      expect(peak - before).toBeLessThan(40e6);
      expect(chatOnly.requests).toEqual([]);
    } finally {
      chatOnly.close();
    }
  });

  it('past the bytes of bodies held at once, a new request gets 503 naming the limit, and is served once there is room', async () => {
    // One client is slow to finish a 7 MB body; the gateway holds what came (its limit is 12 MB).
    const slow = await openSocket(port);
    const slowAnswer = new Promise<string>((resolve) => {
      let text = '';
      slow.setEncoding('latin1').on('data', (chunk: string) => (text += chunk));
      slow.on('close', () => resolve(text));
    });
    const full = rawPost('/v1/chat/completions', `{"model":"nope","pad":"${'x'.repeat(7_000_000)}"}`, { authorization: `Bearer ${rig.apiKey}`, connection: 'close' });
    slow.write(full.slice(0, 6_500_000));
    const secondHead = rawPost('/v1/chat/completions', '', { authorization: `Bearer ${rig.apiKey}`, 'content-length': '7000000' });
    let busy = '';
    await expect.poll(async () => (busy = (await rawExchange(port, secondHead, { done: (t) => t.includes('\r\n\r\n{'), timeoutMs: 2000 })).text), { timeout: 10_000, interval: 50 }).toMatch(/^HTTP\/1\.1 503/);
    expect(busy).toContain('gateway_busy');
    expect(busy).toContain('12000000 bytes');
    slow.end(full.slice(6_500_000));
    expect(await slowAnswer).toMatch(/^HTTP\/1\.1 404/);
    await expect.poll(async () => (await rawExchange(port, secondHead, { done: (t) => t.includes('\r\n\r\n'), timeoutMs: 2000 })).text, { timeout: 10_000, interval: 100 }).not.toMatch(/^HTTP\/1\.1 503/);
  });
});

describe('the pinned model', () => {
  it('is the only key that folds to "model" that reaches the upstream', async () => {
    const response = await rig.fetch('/v1/chat/completions', '{"model":"legit","Model":"llama-evil","MODEL":"llama-evil","\\u004dodel":"llama-evil","messages":[{"role":"user","content":"Hi"}]}');
    expect(response.status).toBe(200);
    const seen = JSON.parse(ollama.requestsTo('/v1/chat/completions').at(-1)!.body) as Record<string, unknown>;
    const models = Object.entries(seen).filter(([key]) => key.toLowerCase() === 'model');
    expect(models).toEqual([['model', 'gemma3:4b']]);
  });
});

describe('the control plane', () => {
  it('answers unauthenticated registrations before their body arrives, so half-sent bodies cost nothing', async () => {
    const count = 200;
    const before = rss(rig.gateway.pid);
    const partial = `POST /v1/deployments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 65000\r\n\r\n${'x'.repeat(30_000)}`;
    const answers = await Promise.all(Array.from({ length: count }, () => rawExchange(port, partial, { done: (t) => t.includes('\r\n\r\n{'), timeoutMs: 10_000 })));
    expect(answers.filter((a) => a.text.startsWith('HTTP/1.1 401')).length).toBe(count);
    expect(rss(rig.gateway.pid) - before).toBeLessThan(50e6);
  });

  it('caps connections from one address with a 503 that says so', async () => {
    const dir = tempDir();
    const { url, process } = await startGatewayProcess(dir.path, ['--max-connections-per-address', '20']);
    try {
      const capped = Number(new URL(url).port);
      const idle = await Promise.all(Array.from({ length: 20 }, () => openSocket(capped)));
      const refused = await Promise.all(Array.from({ length: 5 }, () => rawExchange(capped, '', { timeoutMs: 5000 })));
      for (const outcome of refused) {
        expect(outcome.text).toMatch(/^HTTP\/1\.1 503/);
        expect(outcome.text).toContain('20 connections from one address');
      }
      for (const socket of idle) socket.destroy();
      await expect.poll(async () => (await fetch(`${url}/healthz`).catch(() => null))?.status, { timeout: 5000 }).toBe(200);
      // Said once, not once per refusal.
      expect(process.stderr.match(/refused a connection from \S+: over 20 connections from one address/g)).toHaveLength(1);
    } finally {
      await process.stop();
      dir.remove();
    }
  });
});

describe('a gateway feeding a connector poison', () => {
  let gateway: RogueGateway;
  let upstream: FakeOllama;
  let connector: TokiosProcess;
  const dir = tempDir();

  beforeAll(async () => {
    gateway = await RogueGateway.start();
    upstream = await startFakeOllama({ models: ['gemma3:4b'] });
    const file = writeConfig(dir.path, 'tokios.json', { tunnel_token: 'tt-rogue-gateway-accepts-anything-000000000', upstream: upstream.url, model: 'gemma3:4b' });
    connector = tokios(['connect', '--config', file, '--gateway', gateway.url, '--max-held-bodies', String(8 << 20)]);
    await gateway.tunnel(0);
  });

  afterAll(async () => {
    connector?.signal('SIGKILL');
    await gateway?.close();
    await upstream?.close();
    dir.remove();
  });

  const alive = (): boolean => connector.child.exitCode === null && connector.child.signalCode === null;

  it('ten thousand nested arrays behind an escaped key reset one stream; the connector keeps serving', async () => {
    const tunnel = await gateway.tunnel(0);
    const poison = await tunnel.request({}, `{"a\\\\b":${'['.repeat(10_000)}${']'.repeat(10_000)},"model":"x"}`);
    expect(poison.reset).toEqual({ code: ResetCode.BadRequest, reason: expect.stringContaining('nested deeper than') });
    expect(alive()).toBe(true);

    // Deep, but not absurdly: spliced as sent, with the one pinned model.
    const nested = `${'['.repeat(400)}${']'.repeat(400)}`;
    const deep = await tunnel.request({}, `{"a\\\\b":${nested},"Model":"other","model":"x","messages":[{"role":"user","content":"Hi"}]}`);
    expect(deep.head?.status).toBe(200);
    expect(upstream.requestsTo('/v1/chat/completions').at(-1)!.body).toBe(`{"a\\\\b":${nested},"model":"gemma3:4b","messages":[{"role":"user","content":"Hi"}]}`);
    expect(tunnel.closed).toBeNull();
  });

  it('cannot get credentials or forwarding claims upstream by spelling header names in capitals', async () => {
    const tunnel = await gateway.tunnel(0);
    const headers = {
      'Content-Type': 'application/json', Authorization: 'Bearer sk-leaked', 'X-API-Key': 'k', Cookie: 'c=1', 'Proxy-Authorization': 'p',
      'X-Forwarded-For': '6.6.6.6', 'X-Real-IP': '6.6.6.6', Forwarded: 'for=6.6.6.6', Host: 'evil.example', 'X-Custom': 'kept',
    };
    const answer = await tunnel.request({ headers }, chatBody('x'));
    expect(answer.head?.status).toBe(200);
    const seen = upstream.requestsTo('/v1/chat/completions').at(-1)!.headers;
    for (const name of ['authorization', 'x-api-key', 'cookie', 'proxy-authorization', 'x-forwarded-for', 'x-real-ip', 'forwarded']) expect(seen[name], name).toBeUndefined();
    expect(seen.host).toBe(new URL(upstream.url).host);
    expect(seen['x-custom']).toBe('kept');
  });

  it('cannot make it buffer more request bodies than its limit, however much credit it spends', async () => {
    const tunnel = await gateway.tunnel(0);
    // What it holds is checked exactly in-process (upstream-forwarder.test.ts); resident memory
    // here lags garbage collection too much to assert on, so the faults suite reports it.
    const ids = await floodBodies(tunnel, 6, 32 << 20);
    const refused = ids.filter((id) => tunnel.streams.get(id)!.reset?.code === ResetCode.RefusedStream);
    expect(refused.length).toBeGreaterThan(0);
    expect(tunnel.streams.get(refused[0]!)!.reset!.reason).toContain('8 MiB of request bodies');
    expect(alive()).toBe(true);
    for (const id of ids) if (!tunnel.streams.get(id)!.reset) tunnel.data(id, '"}', true);
  });
});

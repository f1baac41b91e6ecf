import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { encodeFrame } from '../../main/tunnel/frame-codec.js';
import { FrameType, TUNNEL_SUBPROTOCOL } from '../../shared/tunnel-protocol.js';
import { startFakeOllama } from '../support/fake-ollama.js';
import { tokios, writeConfig } from '../support/processes.js';
import { TunnelRig } from '../support/tunnel-rig.js';
import { alive, eventually, percentile, rss, sleep, type FaultReport, type Scale } from './fault-report.js';
import { chat } from './network-faults.js';

/** Bad input from the internet side and from a hostile peer: nothing crashes, nothing leaks through. */

function raw(port: number, bytes: Buffer | string, waitMs = 1000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    let text = '';
    socket.setEncoding('latin1').on('data', (d: string) => (text += d));
    const done = (): void => resolve(text);
    socket.on('close', done);
    socket.on('error', done);
    setTimeout(() => {
      socket.destroy();
      done();
    }, waitMs);
  });
}

function upgrade(url: string, token: string | null, protocols = [TUNNEL_SUBPROTOCOL]): Promise<{ ws: WebSocket | null; status: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/tunnel`, protocols, { headers: token ? { authorization: `Bearer ${token}` } : {}, maxPayload: 64 << 20 });
    ws.on('open', () => resolve({ ws, status: 101 }));
    ws.on('unexpected-response', (_req, res) => {
      resolve({ ws: null, status: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.on('error', () => resolve({ ws: null, status: 0 }));
  });
}

/** Sends `message` on an authenticated tunnel; resolves with the close code the gateway chose. */
async function sendOnTunnel(url: string, token: string, message: Buffer | string, helloFirst: boolean): Promise<number> {
  const { ws } = await upgrade(url, token);
  if (!ws) return -1;
  return new Promise((resolve) => {
    ws.on('close', (code) => resolve(code));
    ws.on('error', () => undefined);
    if (helloFirst) {
      ws.send(encodeFrame(FrameType.Hello, 0, 0, JSON.stringify({ version: 'x', upstreamKind: 'unknown', models: [], model: null, limits: { maxConcurrentStreams: 10, maxHeaderBytes: 1024, streamWindow: 65536, connectionWindow: 1 << 20 } })));
    }
    ws.send(message);
    setTimeout(() => {
      ws.terminate();
      resolve(0);
    }, 3000);
  });
}

export async function tunnelGarbage(report: FaultReport, scale: Scale): Promise<void> {
  const rig = await new TunnelRig().start();
  const upstream = await startFakeOllama({ models: ['gemma3:4b'] });
  try {
    await rig.deploy('legit', upstream, { model: 'gemma3:4b' });
    const port = Number(new URL(rig.url).port);
    const token = await rig.newToken();
    const before = rss(rig.gateway.pid);
    const unauth: Array<[string, () => Promise<boolean>]> = [
      // Survival here is the gateway staying up (checked after each attack).
      ['random bytes instead of HTTP', async () => (await raw(port, randomBytes(4096)), true)],
      ['upgrade without a token', async () => (await upgrade(rig.url, null)).status === 401],
      ['upgrade with a wrong token', async () => (await upgrade(rig.url, `tt-${randomBytes(32).toString('base64url')}`)).status === 401],
      ['upgrade with an old protocol version', async () => (await upgrade(rig.url, token, ['tokios-tunnel.v0'])).status === 426],
      ['100 KB of headers', async () => /^HTTP\/1\.1 (431|400)/.test(await raw(port, `GET /v1/tunnel HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`))],
      ['a truncated upgrade request', async () => (await raw(port, 'GET /v1/tunnel HTTP/1.1\r\nUpgrade: websocket\r\n', 300), true)],
    ];
    const frames: Array<[string, Buffer | string, boolean]> = [
      ['random binary messages', randomBytes(512), false],
      ['a text message', 'hello', false],
      ['a truncated frame header', Buffer.from([5, 0, 0]), true],
      ['a frame longer than its message', Buffer.concat([encodeFrame(FrameType.Data, 0, 1, 'x').subarray(0, 6), Buffer.from([0xff, 0xff, 0xff, 0xff]), Buffer.from('x')]), true],
      ['an unknown frame type', encodeFrame(99, 0, 1, 'x'), true],
      ['data for a stream never opened', encodeFrame(FrameType.Data, 0, 7, 'x'), true],
      ['a response head for a stream never opened', encodeFrame(FrameType.ResponseHead, 0, 9, '{"status":200,"headers":{}}'), true],
      ['a window update overflowing the window', encodeFrame(FrameType.WindowUpdate, 0, 0, Buffer.from([0xff, 0xff, 0xff, 0xff])), true],
      ['a request head sent to the gateway', encodeFrame(FrameType.RequestHead, 0, 1, '{"method":"POST","path":"/api/pull","headers":{},"deployment":"legit"}'), true],
      ['a hello that is not JSON', encodeFrame(FrameType.Hello, 0, 0, '{not json'), false],
      ['a 6 MB message (over maxPayload)', Buffer.alloc(6 << 20, 1), true],
    ];
    const repeat = scale === 'full' ? 20 : 3;
    let tried = 0;
    let survived = 0;
    for (const [, attack] of unauth) {
      for (let i = 0; i < repeat; i++) {
        tried++;
        if ((await attack()) && alive(rig.gateway.pid)) survived++;
      }
    }
    for (const [, message, helloFirst] of frames) {
      for (let i = 0; i < repeat; i++) {
        tried++;
        const code = await sendOnTunnel(rig.url, token, message, helloFirst);
        // The gateway closed the tunnel with a reason (1002 protocol, 1009 too big, 1003 text) or ignored harmless late data.
        if (code !== -1 && alive(rig.gateway.pid)) survived++;
      }
    }
    const stillServes = (await chat(rig.url, rig.apiKey, 'legit')).status === 200;
    const unhandled = /Unhandled|uncaught|TypeError|RangeError/.test(rig.gateway.stderr) ? 1 : 0;
    const growth = rss(rig.gateway.pid) - before;
    report.add({
      area: 'bad input', scenario: 'garbage, truncated and oversized frames on /v1/tunnel, before and after authentication',
      tried, survived, lost: (stillServes ? 0 : 1) + unhandled + (growth > 100e6 ? 1 : 0) + (alive(rig.gateway.pid) ? 0 : 1),
      figures: `${unauth.length + frames.length} kinds; gateway alive and serving; 0 unhandled errors; RSS ${growth >= 0 ? '+' : ''}${(growth / 1e6).toFixed(1)} MB`,
    });

    // The other way round: a hostile "gateway" feeding a connector garbage.
    const hostile = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => TUNNEL_SUBPROTOCOL });
    await new Promise<void>((resolve) => hostile.once('listening', () => resolve()));
    let connections = 0;
    hostile.on('connection', (ws) => {
      connections++;
      const attacks = [randomBytes(256), encodeFrame(FrameType.RequestHead, 0, 1, '{"method":"POST","path":"/api/pull","headers":{},"deployment":"x"}'), encodeFrame(FrameType.Settings, 0, 0, '{"deployment":1}'), Buffer.from([8, 0, 0, 0, 0, 0, 0, 0, 0, 9])];
      ws.send(attacks[connections % attacks.length]!);
      ws.on('error', () => undefined);
    });
    const file = writeConfig(rig.dir.path, 'tokios-hostile.json', { tunnel_token: token, upstream: upstream.url, model: 'gemma3:4b' });
    const pullsBefore = upstream.requestsTo('/api/pull').length;
    const victim = tokios(['connect', '--config', file, '--gateway', `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`]);
    await eventually(() => connections >= 4, scale === 'full' ? 20_000 : 8000, 100);
    const connectorAlive = alive(victim.pid);
    const reachedUpstream = upstream.requestsTo('/api/pull').length - pullsBefore;
    victim.signal('SIGKILL');
    hostile.close();
    report.add({
      area: 'bad input', scenario: 'a hostile gateway sending a connector garbage and forbidden requests', tried: connections, survived: connectorAlive ? connections : 0,
      lost: (connectorAlive ? 0 : 1) + reachedUpstream + (/Unhandled|uncaught/.test(victim.stderr) ? 1 : 0),
      figures: `connector closed each tunnel with a reason and reconnected; ${reachedUpstream} requests reached the upstream`,
    });
  } finally {
    await rig.close();
    await upstream.close();
  }
}

export async function httpAbuse(report: FaultReport, scale: Scale): Promise<void> {
  const rig = await new TunnelRig().start();
  const upstream = await startFakeOllama({ models: ['gemma3:4b'] });
  try {
    await rig.deploy('legit', upstream, { model: 'gemma3:4b' });
    const port = Number(new URL(rig.url).port);
    const before = rss(rig.gateway.pid);
    const n = scale === 'full' ? 200 : 30;

    // Malformed JSON bodies: each gets a 400, none reaches the upstream.
    const upstreamBefore = upstream.requests.length;
    const bodies = ['{', '{"model": "legit",', '[]', '"legit"', '{"model": 1}', '\u0000\u0001', '{"model":"legit","messages":[}', 'x'.repeat(1000)];
    let badOk = 0;
    for (let i = 0; i < n; i++) {
      const response = await rig.fetch('/v1/chat/completions', bodies[i % bodies.length]!);
      if (response.status === 400) badOk++;
      await response.arrayBuffer();
    }
    report.add({ area: 'bad input', scenario: 'malformed JSON bodies', tried: n, survived: badOk, lost: upstream.requests.length - upstreamBefore, figures: 'each answered 400 in the OpenAI error shape; none forwarded' });

    // Huge headers.
    let huge = 0;
    for (let i = 0; i < Math.ceil(n / 10); i++) if (/^HTTP\/1\.1 431/.test(await raw(port, `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64_000)}\r\n\r\n`))) huge++;
    report.add({ area: 'bad input', scenario: '64 KB request headers', tried: Math.ceil(n / 10), survived: huge, lost: 0, figures: 'refused with 431 before any work' });

    // Slowloris: sockets dribbling headers; real clients are still served.
    const slow = Array.from({ length: scale === 'full' ? 200 : 50 }, () => {
      const socket = connect(port, '127.0.0.1', () => socket.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n'));
      const timer = setInterval(() => socket.writable && socket.write('X-a: b\r\n'), 1000);
      socket.resume(); // read, so the server's close is seen
      socket.on('error', () => undefined);
      socket.on('close', () => clearInterval(timer));
      return { socket, timer };
    });
    await sleep(500);
    const served = await Promise.all(Array.from({ length: 20 }, () => chat(rig.url, rig.apiKey, 'legit', { limitMs: 5000 })));
    const servedOk = served.filter((o) => o.status === 200).length;
    let closedByServer = 0;
    if (scale === 'full') {
      // The gateway closes them: a first request head is due within 5 s (later ones within the 20 s header timeout).
      await sleep(26_000);
      closedByServer = slow.filter((s) => s.socket.destroyed || s.socket.readyState !== 'open').length;
    }
    for (const s of slow) {
      clearInterval(s.timer);
      s.socket.destroy();
    }
    report.add({
      area: 'bad input', scenario: `slowloris: ${slow.length} sockets dribbling headers`, tried: served.length, survived: servedOk,
      lost: served.length - servedOk + (scale === 'full' ? slow.length - closedByServer : 0),
      figures: `normal requests served meanwhile${scale === 'full' ? `; ${closedByServer}/${slow.length} slow sockets closed (a first request head is due within 5 s)` : ''}`,
    });

    // Wrong keys: all refused, in the same time whatever they share with the real key.
    const near = rig.apiKey.slice(0, -4);
    const timings: Record<'near' | 'far', number[]> = { near: [], far: [] };
    let refused = 0;
    for (let i = 0; i < n * 2; i++) {
      const kind = i % 2 ? 'near' : 'far';
      const key = kind === 'near' ? `${near}${randomBytes(2).toString('hex')}` : `sk-tokios-${randomBytes(32).toString('base64url')}`;
      const started = performance.now();
      const response = await rig.fetch('/v1/chat/completions', { model: 'legit' }, { headers: { authorization: `Bearer ${key}` } });
      timings[kind].push(performance.now() - started);
      if (response.status === 401) refused++;
      await response.arrayBuffer();
    }
    const gap = Math.abs(percentile(timings.near, 50) - percentile(timings.far, 50)) * 1000;
    report.add({
      area: 'bad input', scenario: 'wrong API keys (half sharing all but 4 characters with the real one)', tried: n * 2, survived: refused, lost: n * 2 - refused,
      figures: `all 401; median time differs by ${gap.toFixed(0)} µs between near-misses and random keys (keys are compared as SHA-256 digests)`,
    });

    // Allowlist bypass attempts through the gateway.
    const targets = ['/api/pull', '/api/delete', '/api/create', '/api/copy', '/api/push', '/v1/../api/pull', '/v1/%2e%2e/api/pull', '/v1/%252e%252e/api/pull', '/API/PULL', '/v1\\..\\api\\pull', '//api/pull', `http://127.0.0.1:${upstream.port}/api/pull`, '/v1/chat/completions/../../api/delete', '/v1/chat/completions%2F..%2Fapi%2Fpull', '/v1/chat/completions?/../../api/pull'];
    const beforeBypass = upstream.requests.filter((r) => !r.path.startsWith('/v1/chat/completions')).length;
    let refusedTargets = 0;
    for (let i = 0; i < targets.length * (scale === 'full' ? 4 : 1); i++) {
      const target = targets[i % targets.length]!;
      const body = '{"model":"legit","name":"x"}';
      const answer = await raw(port, `POST ${target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${rig.apiKey}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
      if (/^HTTP\/1\.1 (400|404|405)/.test(answer) || (target.includes('?') && /^HTTP\/1\.1 (200|403)/.test(answer))) refusedTargets++;
    }
    const reached = upstream.requests.filter((r) => !r.path.startsWith('/v1/chat/completions')).length - beforeBypass;
    const growth = rss(rig.gateway.pid) - before;
    report.add({
      area: 'bad input', scenario: 'allowlist bypasses: encoded, double-encoded, mixed case, backslashes, absolute URIs, ..', tried: targets.length * (scale === 'full' ? 4 : 1), survived: refusedTargets,
      lost: reached + (alive(rig.gateway.pid) ? 0 : 1) + (/Unhandled|uncaught/.test(rig.gateway.stderr) ? 1 : 0),
      figures: `${reached} reached the upstream; gateway RSS ${growth >= 0 ? '+' : ''}${(growth / 1e6).toFixed(1)} MB over the whole run`,
    });
  } finally {
    await rig.close();
    await upstream.close();
  }
}

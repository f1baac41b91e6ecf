import http from 'node:http';
import type { Socket } from 'node:net';
import { cpuMs } from '../../bench/proc-stats.js';
import { encodeFrame } from '../../main/tunnel/frame-codec.js';
import { DEFAULT_LIMITS, FLAG_END_STREAM, FrameType, ResetCode } from '../../shared/tunnel-protocol.js';
import { startFakeOllama } from '../support/fake-ollama.js';
import { startGatewayProcess, tempDir, tokios, writeConfig } from '../support/processes.js';
import { openSocket, rawExchange, rawPost } from '../support/raw-http.js';
import { CHAT_ONLY_UPSTREAM, RogueConnector } from '../support/rogue-connector.js';
import { pollUntil, RogueGateway, type RogueTunnel } from '../support/rogue-gateway.js';
import { TunnelRig } from '../support/tunnel-rig.js';
import { alive, eventually, percentile, rss, type FaultReport, type Scale } from './fault-report.js';
import { chat } from './network-faults.js';

/**
 * Hostile peers on every side of the data path — a connector lying about its responses,
 * clients sending what costs memory or what the tunnel cannot carry, a gateway feeding a
 * connector poison — each harming nothing beyond its own stream. The attack helpers are
 * shared with e2e/integration/hostile-peers.integration.test.ts. (./hostile-peers.ts
 * holds the tunnel-level rows: log forging, stream-only resets.)
 */

/** What a hostile connector appends to a response, hoping a keep-alive client reads it as the next one. */
export const FORGED = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 19\r\n\r\n{"forged":"answer"}';

export const chatBody = (model: string, extra: Record<string, unknown> = {}): string => JSON.stringify({ model, max_tokens: 3, messages: [{ role: 'user', content: 'Hi' }], ...extra });

export type PooledOutcome = { status: number; text: string } | { error: string };

/** One POST through `agent` (a keep-alive pool, as a client library or reverse proxy keeps). */
export function pooledPost(base: string, key: string, agent: http.Agent, body: string, headers: Record<string, string> = {}): Promise<PooledOutcome> {
  return new Promise((resolve) => {
    const req = http.request(`${base}/v1/chat/completions`, { method: 'POST', agent, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('latin1').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', (error) => resolve({ error: error.message }));
      res.on('aborted', () => resolve({ error: 'aborted' }));
    });
    req.on('error', (error) => resolve({ error: error.message }));
    req.setTimeout(5000, () => req.destroy(new Error('timed out')));
    req.end(body);
  });
}

/**
 * Floods a connector with request bodies on `streams` streams, keeping to the windows it
 * grants and spending every byte of credit it returns, until `target` bytes went out or
 * every stream was refused. Resolves with the streams' ids.
 */
export async function floodBodies(tunnel: RogueTunnel, streams: number, target: number): Promise<number[]> {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const ids = Array.from({ length: streams }, () => tunnel.open());
  for (const id of ids) tunnel.data(id, '{"model":"x","pad":"');
  const sent = new Map<number, number>(ids.map((id) => [id, 0]));
  const share = target / streams;
  let connectionSent = 0;
  const window = tunnel.hello.limits;
  await pollUntil(() => {
    for (const id of ids) {
      const stream = tunnel.streams.get(id)!;
      while (!stream.reset && sent.get(id)! < share && sent.get(id)! + chunk.length <= window.streamWindow + stream.credit && connectionSent + chunk.length <= window.connectionWindow + tunnel.connectionCredit) {
        tunnel.data(id, chunk);
        sent.set(id, sent.get(id)! + chunk.length);
        connectionSent += chunk.length;
      }
    }
    return tunnel.closed !== null || ids.every((id) => tunnel.streams.get(id)!.reset || sent.get(id)! >= share);
  }, 'the flood to be taken or refused', 120_000);
  return ids;
}

/** Forged response framing from a connector, against keep-alive and pooling clients; and requests the tunnel cannot carry. */
export async function lyingConnector(report: FaultReport, scale: Scale): Promise<void> {
  const rig = await new TunnelRig().start();
  const upstream = await startFakeOllama({ models: ['gemma3:4b'] });
  let rogue: RogueConnector | null = null;
  try {
    await rig.deploy('legit', upstream, { model: 'gemma3:4b' });
    const token = await rig.newToken();
    await rig.register('rogue', token);
    rogue = await RogueConnector.connect(rig.url, token);
    await rogue.serving();
    const port = Number(new URL(rig.url).port);
    const auth = { authorization: `Bearer ${rig.apiKey}` };
    const before = rss(rig.gateway.pid);

    const variants: Array<[string, Record<string, string | string[]>, string[]]> = [
      ['extra bytes in the declared frame', { 'content-length': '5' }, [`hello${FORGED}`]],
      ['extra bytes in a frame of their own', { 'content-length': '5' }, ['hello', FORGED]],
      ['fewer bytes than declared', { 'content-length': '100' }, ['short']],
      ['two different lengths', { 'content-length': '5', 'Content-Length': '50' }, ['hello']],
    ];
    const rounds = scale === 'full' ? 10 : 1;
    let tried = 0;
    let clean = 0;
    let cut = 0;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let round = 0; round < rounds; round++) {
      for (const [, headers, parts] of variants) {
        rogue.onRequest = (request) => rogue!.respond(request.streamId, 200, { 'content-type': 'application/json', ...headers }, parts);
        // A keep-alive client pipelining a request for the honest deployment behind it…
        tried++;
        const pipelined = rawPost('/v1/chat/completions', chatBody('rogue'), auth) + rawPost('/v1/chat/completions', chatBody('legit'), auth);
        const raw = await rawExchange(port, pipelined, { done: (t) => t.includes('Hello from ollama'), timeoutMs: 5000 });
        // Clean: nothing forged arrived, and no other answer filled the gap a short response left.
        if (raw.closed) cut++;
        if (!raw.text.includes('forged') && !(parts[0] === 'short' && raw.text.includes('Hello from ollama'))) clean++;
        // …and a pooling client whose next request goes to the honest deployment.
        tried++;
        await pooledPost(rig.url, rig.apiKey, agent, chatBody('rogue'));
        const next = await pooledPost(rig.url, rig.apiKey, agent, chatBody('legit'));
        if ('status' in next && next.status === 200 && next.text.includes('Hello from ollama')) clean++;
      }
    }
    agent.destroy();

    // The forgery timed for the pooling client's next request.
    let rogueStream = 0;
    rogue.onRequest = (request) => {
      rogueStream = request.streamId;
      rogue!.respond(request.streamId, 200, { 'content-type': 'application/json', 'content-length': '5' }, ['hello'], false);
    };
    const timed = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < rounds; i++) {
      tried++;
      await pooledPost(rig.url, rig.apiKey, timed, chatBody('rogue'));
      const seen = upstream.requests.length;
      const next = pooledPost(rig.url, rig.apiKey, timed, chatBody('legit'));
      await pollUntil(() => upstream.requests.length > seen, 'the next request to reach the honest upstream');
      rogue.send(encodeFrame(FrameType.Data, FLAG_END_STREAM, rogueStream, FORGED));
      if (!JSON.stringify(await next).includes('forged')) clean++;
    }
    timed.destroy();
    const growth = rss(rig.gateway.pid) - before;
    report.add({
      area: 'bad input', scenario: 'a connector forging response framing (extra, missing or conflicting Content-Length) against keep-alive and pooling clients',
      tried, survived: clean, lost: tried - clean + (alive(rig.gateway.pid) ? 0 : 1),
      figures: `0 forged bytes reached a client: answers over their length ended at it, ${cut} ending short had their connection cut; the honest deployment served after each; gateway RSS ${mb(growth)}`,
    });

    // Requests a tunnel cannot carry, while a healthy stream runs on the same tunnel.
    upstream.tokenIntervalMs = 20;
    try {
      const streams = Array.from({ length: scale === 'full' ? 5 : 2 }, () => chat(rig.url, rig.apiKey, 'legit', { stream: true, tokens: 60, limitMs: 30_000 }));
      await pollUntil(() => upstream.requests.filter((r) => r.tokensSent > 0 && r.finishedAt === null).length > 0, 'the healthy streams to start');
      const many: Record<string, string> = {};
      for (let i = 0; i < 250; i++) many[`x-h${i}`] = 'v';
      const bad = scale === 'full' ? 20 : 4;
      let refused = 0;
      for (let i = 0; i < bad; i++) {
        const response = i % 2 ? await rig.fetch('/v1/chat/completions', chatBody('legit'), { headers: many }) : await rig.fetch(`/v1/chat/completions?q=${'a'.repeat(9000)}`, chatBody('legit'));
        if (response.status === (i % 2 ? 431 : 414)) refused++;
        await response.arrayBuffer();
      }
      const outcomes = await Promise.all(streams);
      const intact = outcomes.filter((o) => o.status === 200 && o.text.includes('data: [DONE]')).length;
      report.add({
        area: 'bad input', scenario: 'requests a tunnel cannot carry (250 headers, a 9,000-character query) beside healthy streams',
        tried: bad + outcomes.length, survived: refused + intact, lost: outcomes.length - intact,
        figures: `${refused}/${bad} refused 431/414 at the gateway; ${intact}/${outcomes.length} parallel streams on the same tunnel finished`,
      });
    } finally {
      upstream.tokenIntervalMs = 0;
    }
  } finally {
    rogue?.close();
    await rig.close();
    await upstream.close();
  }
}

/** Bodies that cost memory, half-sent unauthenticated bodies, connection floods, and model keys spelled to slip past the pin. */
export async function costlyClients(report: FaultReport, scale: Scale): Promise<void> {
  const rig = await new TunnelRig().start();
  const upstream = await startFakeOllama({ models: ['gemma3:4b', 'llama-evil'] });
  try {
    await rig.deploy('legit', upstream, { model: 'gemma3:4b' });
    const port = Number(new URL(rig.url).port);

    // Keys that fold to "model", against the pinned model.
    const spellings = ['Model', 'MODEL', 'mODEL', '\\u004dodel', 'm\\u006fdel', 'MoDeL', '\\u006d\\u006f\\u0064\\u0065\\u006c'];
    let pinned = 0;
    const tries = spellings.length * (scale === 'full' ? 4 : 1);
    for (let i = 0; i < tries; i++) {
      const key = spellings[i % spellings.length]!;
      const body = i % 2 ? `{"${key}":"llama-evil","model":"legit","messages":[]}` : `{"model":"legit","${key}":"llama-evil","messages":[]}`;
      const seenBefore = upstream.requests.length;
      const response = await rig.fetch('/v1/chat/completions', body);
      await response.arrayBuffer();
      // An escaped exact "model" written last routes by it, as JSON says (404 here): fine too, as long as
      // whatever reached the upstream carried the pinned model alone.
      const reached = upstream.requests.slice(seenBefore).map((r) => Object.entries(parseObject(r.body)).filter(([k]) => k.toLowerCase() === 'model'));
      if (reached.every((models) => models.length === 1 && models[0]![1] === 'gemma3:4b') && (response.status === 200 || response.status === 404)) pinned++;
    }
    report.add({
      area: 'bad input', scenario: 'model keys spelled to slip past a pinned model (Model, MODEL, \\u004dodel…)', tried: tries, survived: pinned, lost: tries - pinned,
      figures: `the upstream saw exactly one model, the pinned one, ${pinned}/${tries} times`,
    });

    // Half-sent registrations without credentials.
    const partials = scale === 'full' ? 3000 : 100;
    const rssBefore = rss(rig.gateway.pid);
    let rssPeak = rssBefore;
    const samplePartials = setInterval(() => (rssPeak = Math.max(rssPeak, rssOf(rig.gateway.pid))), 20);
    const partial = `POST /v1/deployments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 65000\r\n\r\n${'x'.repeat(30_000)}`;
    let early = 0;
    for (let sent = 0; sent < partials; sent += 1000) {
      const batch = await Promise.all(Array.from({ length: Math.min(1000, partials - sent) }, () => rawExchange(port, partial, { done: (t) => t.includes('\r\n\r\n{'), timeoutMs: 10_000 })));
      early += batch.filter((a) => a.text.startsWith('HTTP/1.1 401')).length;
    }
    clearInterval(samplePartials);
    const partialGrowth = rssPeak - rssBefore;
    const malformed = await rig.fetch('/v1/deployments/%ZZ', undefined, { method: 'DELETE' });
    report.add({
      area: 'bad input', scenario: `${partials} unauthenticated registrations, each 30 KB into a 65 KB body`, tried: partials, survived: early,
      lost: (partials - early) + (partialGrowth > 50e6 ? 1 : 0) + (malformed.status === 400 ? 0 : 1),
      figures: `${early}/${partials} answered 401 before their body was sent; gateway RSS peak ${mb(partialGrowth)} while up to ${Math.min(1000, partials)} were open; DELETE /v1/deployments/%ZZ answered ${malformed.status}`,
    });

    // ~11M empty objects (33 MB) in full, 1M quick: the model is found without building them.
    const objects = scale === 'full' ? 11_000_000 : 1_000_000;
    const huge = `{"model":"legit-not-here","a":[${'{},'.repeat(objects - 1)}{}]}`;
    const before = rss(rig.gateway.pid);
    let peak = before;
    const latencies: number[] = [];
    let sampling = true;
    const sampleRss = setInterval(() => (peak = Math.max(peak, rssOf(rig.gateway.pid))), 20);
    const sampler = (async () => {
      while (sampling) {
        const started = performance.now();
        await fetch(`${rig.url}/healthz`).then((r) => r.arrayBuffer(), () => undefined);
        latencies.push(performance.now() - started);
      }
    })();
    const hugeAnswer = await rig.fetch('/v1/chat/completions', huge);
    await hugeAnswer.arrayBuffer();
    sampling = false;
    await sampler;
    clearInterval(sampleRss);
    const stillServes = (await chat(rig.url, rig.apiKey, 'legit')).status === 200;
    const growth = peak - before;
    report.add({
      area: 'bad input', scenario: `a ${(huge.length / 1e6).toFixed(0)} MB body of ${(objects / 1e6).toFixed(1)}M empty objects`, tried: 1,
      survived: hugeAnswer.status === 404 && stillServes ? 1 : 0, lost: (stillServes ? 0 : 1) + (growth > 200e6 ? 1 : 0),
      figures: `answered ${hugeAnswer.status}; gateway RSS peak ${mb(growth)} (the body itself is ${(huge.length / 1e6).toFixed(0)} MB); /healthz during it p50 ${percentile(latencies, 50).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms (${latencies.length} probes); ${stillServes ? 'the deployment served right after' : 'the deployment did NOT serve after'}`,
    });
  } finally {
    await rig.close();
    await upstream.close();
  }

  // One address opening more connections than a gateway allows it.
  const dir = tempDir();
  const cap = 50;
  const { url, process } = await startGatewayProcess(dir.path, ['--max-connections-per-address', String(cap)]);
  try {
    const capped = Number(new URL(url).port);
    const extra = scale === 'full' ? 200 : 10;
    const held = await Promise.all(Array.from({ length: cap }, () => openSocket(capped)));
    const refused = await Promise.all(Array.from({ length: extra }, () => rawExchange(capped, '', { timeoutMs: 5000 })));
    const clear = refused.filter((o) => o.text.startsWith('HTTP/1.1 503') && o.text.includes('too_many_connections')).length;
    for (const socket of held) socket.destroy();
    let healthy = false;
    for (let i = 0; i < 50 && !healthy; i++) healthy = (await fetch(`${url}/healthz`).catch(() => null))?.status === 200;
    const lines = (process.stderr.match(/refused a connection from/g) ?? []).length;
    report.add({
      area: 'bad input', scenario: `${cap + extra} connections from one address against a cap of ${cap}`, tried: extra, survived: clear, lost: (extra - clear) + (healthy ? 0 : 1),
      figures: `${clear}/${extra} over the cap refused with a 503 naming the limit; ${lines} log line(s) for them; served again once they closed`,
    });
  } finally {
    await process.stop();
    dir.remove();
  }
}

/**
 * Messages clients of a deployment whose upstream speaks only Chat Completions, so the
 * gateway translates: a client sending what costs a parse (many blocks, many empty
 * objects), some while the tunnel reconnects, and a rogue connector answering with a line
 * that never ends or a whole answer far too large to translate.
 */
export async function translatedRoutes(report: FaultReport, scale: Scale): Promise<void> {
  const full = scale === 'full';
  const rig = await new TunnelRig().start();
  try {
    const token = await rig.newToken();
    await rig.register('chat-only', token);
    let rogue = await RogueConnector.connect(rig.url, token, DEFAULT_LIMITS, CHAT_ONLY_UPSTREAM);
    await rogue.serving();
    const gateway = rig.gateway.pid;
    const messages = async (body: string): Promise<{ status: number; text: string }> => {
      try {
        const response = await rig.fetch('/v1/messages', body, { headers: { 'anthropic-version': '2023-06-01' }, signal: AbortSignal.timeout(30_000) });
        return { status: response.status, text: await response.text() };
      } catch (error) {
        return { status: 0, text: String(error) };
      }
    };
    const request = (extra: Record<string, unknown>): string => JSON.stringify({ model: 'chat-only', max_tokens: 5, messages: [{ role: 'user', content: 'Hi' }], ...extra });
    const tooLarge = (answer: { status: number; text: string }): boolean => answer.status === 413 && answer.text.includes('"type":"request_too_large"') && answer.text.includes('100000 JSON values');

    // Many blocks: once a RangeError from the translator (an unhandled rejection while waiting
    // for a reconnecting tunnel; 11 in a minute exited the gateway). Three of every four wait.
    const blocks = request({ messages: [{ role: 'user', content: Array.from({ length: 150_000 }, () => ({ type: 'tool_result', tool_use_id: 't', content: '' })) }] });
    let tried = 0;
    let clear = 0;
    for (let round = 0; round < (full ? 4 : 1); round++) {
      tried++;
      if (tooLarge(await messages(blocks))) clear++;
      const closed = (): number => (rig.gateway.stderr.match(/tunnel \S+ closed/g) ?? []).length;
      const before = closed();
      rogue.close();
      await eventually(() => closed() > before, 5000);
      const waiting = Array.from({ length: 3 }, () => messages(blocks));
      tried += waiting.length;
      rogue = await RogueConnector.connect(rig.url, token, DEFAULT_LIMITS, CHAT_ONLY_UPSTREAM);
      for (const answer of await Promise.all(waiting)) if (tooLarge(answer)) clear++;
    }
    const errors = (rig.gateway.stderr.match(/ ERROR /g) ?? []).length;
    report.add({
      area: 'bad input', scenario: `Messages requests of 150,000 tool_result blocks (${(blocks.length / 1e6).toFixed(1)} MB) to a translated deployment, 3 of every 4 while its tunnel reconnects`,
      tried, survived: clear, lost: tried - clear + errors + (alive(gateway) ? 0 : 1),
      figures: `${clear}/${tried} answered 413 in Anthropic's shape naming the limits, none hung; ${errors} ERROR lines; gateway ${alive(gateway) ? 'alive' : 'DEAD'}`,
    });

    // Empty objects: the parse that built 1.2 GB.
    const objects = full ? 11_000_000 : 1_300_000;
    const empty = `{"model":"chat-only","max_tokens":5,"messages":[{"role":"user","content":[${'{},'.repeat(objects - 1)}{}]}]}`;
    const load = await whileMeasuring(rig.url, gateway, () => messages(empty));
    report.add({
      area: 'bad input', scenario: `a ${(empty.length / 1e6).toFixed(0)} MB body of ${(objects / 1e6).toFixed(1)}M empty objects to a translated deployment (/v1/messages)`,
      tried: 1, survived: tooLarge(load.result) ? 1 : 0, lost: (alive(gateway) ? 0 : 1) + (load.rssGrowth > 200e6 ? 1 : 0),
      figures: `answered ${load.result.status} before any parse; gateway RSS peak ${mb(load.rssGrowth)}; /healthz during it max ${load.slowestHealth.toFixed(0)} ms; CPU ${load.cpu.toFixed(0)} ms`,
    });

    // A rogue connector: one SSE line that never ends, in 512-byte frames, as long as it may.
    const lineBytes = (full ? 16 : 2) << 20;
    let sentOfLine = Promise.resolve(0);
    rogue.onRequest = (incoming) => {
      sentOfLine = rogue.answerInPieces(incoming.streamId, 'text/event-stream', 'data: {"choices":[{"index":0,"delta":{"content":"', Buffer.alloc(512, 0x61), lineBytes);
    };
    const line = await whileMeasuring(rig.url, gateway, () => messages(request({ stream: true })));
    const lineFailed = line.result.status === 200 && line.result.text.includes('event: error') && line.result.text.includes('longer than 1048576 bytes');
    report.add({
      area: 'bad input', scenario: `a rogue connector answering a translated stream with one ${lineBytes >> 20} MB SSE line in 512-byte frames`,
      tried: 1, survived: lineFailed ? 1 : 0, lost: alive(gateway) ? 0 : 1,
      figures: `the client got Anthropic's error event (line longer than 1 MiB) and the end of its answer; the connector's stream was reset after ${((await sentOfLine) / 1048576).toFixed(1)} MiB; gateway CPU ${line.cpu.toFixed(0)} ms, RSS peak ${mb(line.rssGrowth)}, /healthz during it max ${line.slowestHealth.toFixed(0)} ms`,
    });

    // A rogue connector: a whole answer padded with empty objects, for the gateway to collect and parse.
    const answerBytes = (full ? 32 : 8) << 20;
    let sentOfAnswer = Promise.resolve(0);
    rogue.onRequest = (incoming) => {
      const opening = '{"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"pad":[';
      sentOfAnswer = rogue.answerInPieces(incoming.streamId, 'application/json', opening, Buffer.alloc(63 * 1024, '{},'), answerBytes, '{}]}');
    };
    const whole = await whileMeasuring(rig.url, gateway, () => messages(request({})));
    const refused = whole.result.status === 502 && whole.result.text.includes("Deployment 'chat-only' answered more than 4194304 bytes");
    report.add({
      area: 'bad input', scenario: `a rogue connector answering a translated request with a ${answerBytes >> 20} MB whole answer of empty objects`,
      tried: 1, survived: refused ? 1 : 0, lost: (alive(gateway) ? 0 : 1) + (whole.rssGrowth > 100e6 ? 1 : 0),
      figures: `answered 502 naming the deployment once 4 MiB had come, the connector's stream reset after ${((await sentOfAnswer) / 1048576).toFixed(1)} MiB; gateway RSS peak ${mb(whole.rssGrowth)}`,
    });
    rogue.close();
  } finally {
    await rig.close();
  }
}

/** Idle unauthenticated sockets from several addresses holding a gateway's every connection, while a connector and a client arrive. */
export async function idleConnections(report: FaultReport, scale: Scale): Promise<void> {
  const rig = await new TunnelRig(['--max-connections', '40', '--max-connections-per-address', '10']).start();
  const held: Socket[] = [];
  try {
    const token = await rig.newToken();
    await rig.register('arriving', token);
    const port = Number(new URL(rig.url).port);
    const rounds = scale === 'full' ? 5 : 1;
    let tunnels = 0;
    let healthy = 0;
    for (let round = 0; round < rounds; round++) {
      // Fill every slot again: 10 from each of 4 addresses (all of 127.0.0.0/8 is loopback).
      for (const socket of held.splice(0)) socket.destroy();
      for (let a = 0; a < 4; a++) held.push(...(await Promise.all(Array.from({ length: 10 }, () => openSocket(port, `127.0.0.${10 + a}`)))));
      for (const socket of held) socket.on('error', () => undefined);
      const connector = await RogueConnector.connect(rig.url, token).catch(() => null);
      if (connector && (await connector.serving().then(() => true, () => false))) tunnels++;
      connector?.close();
      if ((await fetch(`${rig.url}/healthz`).catch(() => null))?.status === 200) healthy++;
    }
    const closed = held.filter((s) => s.destroyed || s.readableEnded).length;
    report.add({
      area: 'bad input', scenario: 'idle unauthenticated sockets from 4 addresses holding all 40 connections (10 per address), then a connector and a client arrive',
      tried: rounds * 2, survived: tunnels + healthy, lost: rounds * 2 - tunnels - healthy + (alive(rig.gateway.pid) ? 0 : 1),
      figures: `${tunnels}/${rounds} tunnels accepted and ${healthy}/${rounds} /healthz answered 200, each by closing the socket idle longest (${closed} of the last 40 closed); a connection must send its first request within 5 s`,
    });
  } finally {
    for (const socket of held) socket.destroy();
    await rig.close();
  }
}

/** Runs `work` while sampling the gateway's memory and timing its /healthz: peak RSS growth, the slowest probe, CPU used. */
async function whileMeasuring<T>(base: string, pid: number, work: () => Promise<T>): Promise<{ result: T; rssGrowth: number; slowestHealth: number; cpu: number }> {
  const before = rss(pid);
  const cpuBefore = cpuMs(pid);
  let peak = before;
  let slowest = 0;
  let sampling = true;
  const sampleRss = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 20);
  const probes = (async () => {
    while (sampling) {
      const started = performance.now();
      await fetch(`${base}/healthz`).then((r) => r.arrayBuffer(), () => undefined);
      slowest = Math.max(slowest, performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  try {
    const result = await work();
    return { result, rssGrowth: peak - before, slowestHealth: slowest, cpu: alive(pid) ? cpuMs(pid) - cpuBefore : 0 };
  } finally {
    sampling = false;
    clearInterval(sampleRss);
    await probes;
  }
}

/** A gateway feeding a connector poison: nesting that overflowed its stack, capitalised credentials, more body than it may hold. */
export async function poisoningGateway(report: FaultReport, scale: Scale): Promise<void> {
  const gateway = await RogueGateway.start();
  const upstream = await startFakeOllama({ models: ['gemma3:4b'] });
  const dir = tempDir();
  // Quick runs hold a smaller cap to flood past it; full runs meet the default (128 MiB).
  const cap = scale === 'full' ? null : 4 << 20;
  const file = writeConfig(dir.path, 'tokios.json', { tunnel_token: 'tt-rogue-gateway-accepts-anything-000000000', upstream: upstream.url, model: 'gemma3:4b' });
  const connector = tokios(['connect', '--config', file, '--gateway', gateway.url, ...(cap ? ['--max-held-bodies', String(cap)] : [])]);
  const running = (): boolean => connector.child.exitCode === null && connector.child.signalCode === null;
  try {
    const tunnel = await gateway.tunnel(0);
    const before = rssOf(connector.pid);
    const poison = `{"a\\\\b":${'['.repeat(10_000)}${']'.repeat(10_000)},"model":"x"}`;
    const rounds = scale === 'full' ? 50 : 3;
    let refused = 0;
    let served = 0;
    for (let i = 0; i < rounds; i++) {
      const answer = await tunnel.request({}, poison);
      if (answer.reset?.code === ResetCode.BadRequest) refused++;
      const normal = await tunnel.request({}, chatBody('x'));
      if (normal.head?.status === 200) served++;
    }
    report.add({
      area: 'bad input', scenario: 'a gateway sending a connector 10,000 nested arrays behind an escaped key', tried: rounds, survived: Math.min(refused, served),
      lost: (running() ? 0 : 1) + (tunnel.closed ? 1 : 0),
      figures: `${refused}/${rounds} reset that stream with a 400-style code; ${served}/${rounds} normal requests served between them; connector ${running() ? 'alive' : 'DEAD'}, tunnel ${tunnel.closed ? 'closed' : 'up'}; RSS ${mb(rssOf(connector.pid) - before)}`,
    });

    const headers = { 'Content-Type': 'application/json', Authorization: 'Bearer sk-leaked', 'X-API-Key': 'k', Cookie: 'c=1', 'X-Forwarded-For': '6.6.6.6', 'X-Real-IP': '6.6.6.6', Host: 'evil.example' };
    let dropped = 0;
    for (let i = 0; i < rounds; i++) {
      const count = upstream.requests.length;
      await tunnel.request({ headers }, chatBody('x'));
      const seen = upstream.requests.length > count ? upstream.requests.at(-1)!.headers : null;
      if (seen && ['authorization', 'x-api-key', 'cookie', 'x-forwarded-for', 'x-real-ip'].every((name) => seen[name] === undefined) && seen.host === new URL(upstream.url).host) dropped++;
    }
    report.add({
      area: 'bad input', scenario: 'a gateway sending credentials and forwarding headers in capitals', tried: rounds, survived: dropped, lost: rounds - dropped,
      figures: `none of Authorization, X-API-Key, Cookie, X-Forwarded-For, X-Real-IP reached the upstream; Host rewritten (${dropped}/${rounds})`,
    });

    const floodBefore = rssOf(connector.pid);
    let floodPeak = floodBefore;
    const sampler = setInterval(() => (floodPeak = Math.max(floodPeak, rssOf(connector.pid))), 20);
    const target = scale === 'full' ? 384 << 20 : 24 << 20;
    const ids = await floodBodies(tunnel, 8, target).finally(() => clearInterval(sampler));
    const refusedStreams = ids.filter((id) => tunnel.streams.get(id)!.reset?.code === ResetCode.RefusedStream).length;
    // A stream is fine either way: refused once over the limit, or taken whole while there was room.
    const settled = ids.filter((id) => tunnel.streams.get(id)!.reset?.code === ResetCode.RefusedStream || !tunnel.streams.get(id)!.reset).length;
    for (const id of ids) if (!tunnel.streams.get(id)!.reset) tunnel.data(id, '"}', true);
    const limit = cap ?? 128 << 20;
    const growth = floodPeak - floodBefore;
    report.add({
      area: 'bad input', scenario: `a gateway pushing ${target >> 20} MiB of request bodies at a connector, spending all the credit it returns`, tried: ids.length, survived: settled,
      // Resident memory lags garbage collection, so it is a figure; the held bytes themselves
      // are checked exactly in upstream-forwarder.test.ts.
      lost: (running() ? 0 : 1) + (refusedStreams === 0 ? 1 : 0),
      figures: `${refusedStreams}/${ids.length} streams refused past the ${limit >> 20} MiB held-bodies limit (the rest taken whole while there was room); connector RSS peak ${mb(growth)}; ${running() ? 'alive' : 'DEAD'}`,
    });
  } finally {
    connector.signal('SIGKILL');
    await connector.exited;
    await gateway.close();
    await upstream.close();
    dir.remove();
  }
}

/** Resident memory of `pid`, or 0 once it has exited (a crash is counted where it matters). */
function rssOf(pid: number): number {
  return alive(pid) ? rss(pid) : 0;
}

function parseObject(text: string): object {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null ? value : {};
  } catch {
    return {};
  }
}

function mb(bytes: number): string {
  return `${bytes >= 0 ? '+' : ''}${(bytes / 1e6).toFixed(1)} MB`;
}

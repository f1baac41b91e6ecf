import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { decodeFrames, encodeFrame, encodeGoAway } from '../../main/tunnel/frame-codec.js';
import { DEFAULT_LIMITS, FLAG_END_STREAM, FrameType, GoAwayCode, ResetCode, TUNNEL_SUBPROTOCOL, type RequestHead } from '../../shared/tunnel-protocol.js';
import { startFakeOllama } from '../support/fake-ollama.js';
import { tempDir, tokios, writeConfig } from '../support/processes.js';
import { TunnelRig } from '../support/tunnel-rig.js';
import { alive, eventually, type FaultReport, type Scale } from './fault-report.js';
import { chat } from './network-faults.js';

/**
 * Hostile peers speaking the real frame format, written with `ws`: a rogue gateway in
 * front of a real `tokios connect`, a rogue connector behind a real `tokios gateway`.
 * What one of their streams carries must stay on that stream; what they say must not
 * forge a line in the other side's log; what they repeat must not flood it.
 */

interface Frame {
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
}

/** One end of a tunnel driven by hand: every frame the other side sent, and a way to send frames. */
class FramePeer {
  readonly frames: Frame[] = [];
  closed = false;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => decodeFrames(data, (type, flags, id, payload) => this.frames.push({ type, flags, id, payload: Buffer.from(payload) })));
    ws.on('close', () => (this.closed = true));
    ws.on('error', () => undefined);
  }

  send(...frames: Buffer[]): void {
    this.ws.send(Buffer.concat(frames));
  }

  find(type: number, id: number): Frame | undefined {
    return this.frames.find((f) => f.type === type && f.id === id);
  }

  /** The stream ended (END flag on a head or data) or was reset. */
  finished(id: number): 'ended' | 'reset' | null {
    for (const f of this.frames) {
      if (f.id !== id) continue;
      if (f.type === FrameType.Reset) return 'reset';
      if ((f.type === FrameType.Data || f.type === FrameType.ResponseHead) && f.flags & FLAG_END_STREAM) return 'ended';
    }
    return null;
  }

  body(id: number): string {
    return this.frames.filter((f) => f.type === FrameType.Data && f.id === id).map((f) => f.payload.toString()).join('');
  }
}

const json = (value: unknown): string => JSON.stringify(value);

/** A line a peer would like to see in our log, as if we had written it. */
function forgedLine(component: string): string {
  return `\n${new Date().toISOString()} ERROR [${component}:1] FORGED by a peer`;
}

/** Lines of `log` that start like a record but were written by a peer. */
function forgedLines(log: string): number {
  return log.split('\n').filter((line) => /^\S+ ERROR \[\w+:1\] FORGED by a peer/.test(line)).length;
}

/** Heads a client could send that the tunnel cannot carry; each must reset its own stream only. */
const BAD_HEADS: Array<[string, Omit<RequestHead, 'deployment'>]> = [
  ['250 headers', { method: 'POST', path: '/v1/chat/completions', headers: Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`x-h${i}`, 'v'])) }],
  ['a \\u0001 header value', { method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json', 'x-evil': 'a\u0001b' } }],
  ['a 9,000-character path', { method: 'POST', path: `/v1/chat/completions?q=${'a'.repeat(9000)}`, headers: {} }],
];

/** A rogue gateway: bad heads beside a healthy stream, then reasons that try to forge log lines. */
export async function rogueGateway(report: FaultReport, scale: Scale): Promise<void> {
  const upstream = await startFakeOllama({ models: ['gemma3:4b'], tokenIntervalMs: 10 });
  const dir = tempDir();
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => TUNNEL_SUBPROTOCOL });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const peers: FramePeer[] = [];
  server.on('connection', (ws) => peers.push(new FramePeer(ws)));
  const file = writeConfig(dir.path, 'tokios-rogue-gateway.json', { tunnel_token: `tt-${randomBytes(32).toString('base64url')}`, upstream: upstream.url, model: 'gemma3:4b' });
  const connector = tokios(['connect', '--config', file, '--gateway', `http://127.0.0.1:${(server.address() as AddressInfo).port}`]);
  try {
    if (!(await eventually(() => peers[0]?.frames.some((f) => f.type === FrameType.Hello) ?? false, 15_000))) throw new Error(`the connector never said hello:\n${connector.output}`);
    const peer = peers[0]!;
    peer.send(encodeFrame(FrameType.Settings, 0, 0, json({ deployment: `legit${forgedLine('connector')}`, serving: true, limits: DEFAULT_LIMITS, heartbeatMs: 10_000, tunnelId: 'rogue' })));

    const rounds = scale === 'full' ? 10 : 2;
    let survived = 0;
    let healthyCut = 0;
    let badReset = 0;
    const upstreamBefore = upstream.requests.length;
    for (let round = 0; round < rounds; round++) {
      const healthy = 1 + round * 8;
      peer.send(
        encodeFrame(FrameType.RequestHead, 0, healthy, json({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, deployment: 'legit' })),
        encodeFrame(FrameType.Data, FLAG_END_STREAM, healthy, json({ model: 'legit', stream: true, max_tokens: 20, messages: [{ role: 'user', content: 'Hi' }] })),
      );
      // The healthy answer has started streaming: now the bad heads arrive beside it.
      await eventually(() => peer.find(FrameType.ResponseHead, healthy) !== undefined, 10_000);
      const bad = BAD_HEADS.map((_, i) => healthy + 2 * (i + 1));
      peer.send(...BAD_HEADS.map(([, head], i) => encodeFrame(FrameType.RequestHead, FLAG_END_STREAM, bad[i]!, json({ ...head, deployment: 'legit' }))));
      await eventually(() => peer.finished(healthy) !== null && bad.every((id) => peer.finished(id) !== null), 10_000);
      const healthyOk = peer.finished(healthy) === 'ended' && peer.body(healthy).includes('[DONE]');
      const resets = bad.filter((id) => peer.find(FrameType.Reset, id)?.payload.readUInt32BE(0) === ResetCode.BadRequest).length;
      badReset += resets;
      if (!healthyOk) healthyCut++;
      if (healthyOk && resets === bad.length && !peer.closed) survived++;
    }
    const reachedUpstream = upstream.requests.length - upstreamBefore - rounds;
    report.add({
      area: 'bad input', scenario: 'a rogue gateway: heads with 250 headers, a \\u0001 value, a 9,000-character path, beside a healthy stream', tried: rounds, survived,
      lost: healthyCut + (peers.length === 1 && !peer.closed ? 0 : 1) + Math.max(0, reachedUpstream) + (alive(connector.pid) ? 0 : 1),
      figures: `${badReset}/${rounds * BAD_HEADS.length} bad streams reset alone (BadRequest), ${rounds - healthyCut}/${rounds} parallel streams completed; 1 tunnel, ${peers.length - 1} reconnects; ${Math.max(0, reachedUpstream)} bad requests reached the upstream`,
    });

    // Reasons with line breaks: a go-away, then a close.
    peer.send(encodeFrame(FrameType.GoAway, 0, 0, encodeGoAway({ lastStreamId: 1 + rounds * 8, code: GoAwayCode.Drain, reason: `drain${forgedLine('connector')}` })));
    await connector.waitFor(/asked this tunnel to drain/);
    peer.ws.close(1000, `bye${forgedLine('connector')}`.slice(0, 120));
    await connector.waitFor(/tunnel closed \(bye/);
    const kinds = ['settings deployment', 'go-away reason', 'close reason'];
    const logged = (connector.stderr.match(/FORGED by a peer/g) ?? []).length;
    const forged = forgedLines(connector.stderr);
    report.add({
      area: 'bad input', scenario: 'a rogue gateway forging connector log lines (a deployment name, go-away and close reasons with line breaks)', tried: kinds.length,
      survived: Math.max(0, Math.min(logged, kinds.length) - forged), lost: forged,
      figures: `${logged} peer strings logged, ${forged} forged lines`,
    });
  } finally {
    connector.signal('SIGKILL');
    await connector.exited;
    server.close();
    dir.remove();
    await upstream.close();
  }
}

/** A rogue connector: a response head writeHead would refuse beside a healthy stream; forged log lines; a flood of wrong tokens. */
export async function rogueConnector(report: FaultReport, scale: Scale): Promise<void> {
  const rig = await new TunnelRig().start();
  try {
    const token = await rig.newToken();
    await rig.register('rogue', token);
    const ws = new WebSocket(`${rig.url.replace('http', 'ws')}/v1/tunnel`, TUNNEL_SUBPROTOCOL, { headers: { authorization: `Bearer ${token}` } });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const peer = new FramePeer(ws);
    peer.send(encodeFrame(FrameType.Hello, 0, 0, json({ version: `x${forgedLine('gateway')}`.slice(0, 64), upstreamKind: 'unknown', models: [], model: `m${forgedLine('gateway')}`, limits: DEFAULT_LIMITS })));
    await rig.gateway.waitFor(/ready: connector x/);

    const rounds = scale === 'full' ? 10 : 2;
    let survived = 0;
    let healthyCut = 0;
    let refused = 0;
    for (let round = 0; round < rounds; round++) {
      const seen = peer.frames.filter((f) => f.type === FrameType.RequestHead).length;
      const healthyAnswer = chat(rig.url, rig.apiKey, 'rogue', { stream: true, limitMs: 10_000 });
      await eventually(() => peer.frames.filter((f) => f.type === FrameType.RequestHead).length > seen, 10_000);
      const healthy = peer.frames.filter((f) => f.type === FrameType.RequestHead).at(-1)!.id;
      peer.send(encodeFrame(FrameType.ResponseHead, 0, healthy, json({ status: 200, headers: { 'content-type': 'text/event-stream' } })), encodeFrame(FrameType.Data, 0, healthy, 'data: {"n":1}\n\n'));
      const badAnswer = chat(rig.url, rig.apiKey, 'rogue', { limitMs: 10_000 });
      await eventually(() => peer.frames.filter((f) => f.type === FrameType.RequestHead).length > seen + 1, 10_000);
      const bad = peer.frames.filter((f) => f.type === FrameType.RequestHead).at(-1)!.id;
      peer.send(encodeFrame(FrameType.ResponseHead, FLAG_END_STREAM, bad, json({ status: 200, headers: { 'x-evil': 'a\u0001b' } })));
      const badOutcome = await badAnswer;
      peer.send(encodeFrame(FrameType.Data, FLAG_END_STREAM, healthy, 'data: [DONE]\n\n'));
      const healthyOutcome = await healthyAnswer;
      const healthyOk = healthyOutcome.status === 200 && healthyOutcome.error === null && healthyOutcome.text === 'data: {"n":1}\n\ndata: [DONE]\n\n';
      if (!healthyOk) healthyCut++;
      if (badOutcome.status === 502) refused++;
      if (healthyOk && badOutcome.status === 502 && !peer.closed) survived++;
    }
    report.add({
      area: 'bad input', scenario: 'a rogue connector: a response head with a \\u0001 header value beside a healthy stream', tried: rounds, survived,
      lost: healthyCut + (peer.closed ? 1 : 0) + (alive(rig.gateway.pid) ? 0 : 1),
      figures: `${refused}/${rounds} bad heads answered 502 on their own request; ${rounds - healthyCut}/${rounds} parallel streams completed; the tunnel stayed up`,
    });

    // Reasons with line breaks, then a flood of wrong tokens from one address.
    peer.send(encodeFrame(FrameType.GoAway, 0, 0, encodeGoAway({ lastStreamId: 0, code: GoAwayCode.Drain, reason: `drain${forgedLine('gateway')}` })));
    await rig.gateway.waitFor(/draining at the connector's request/);
    ws.close(1000, `bye${forgedLine('gateway')}`.slice(0, 120));
    await rig.gateway.waitFor(/closed \(1000: bye/);
    const flood = scale === 'full' ? 200 : 30;
    const wrong = `tt-${randomBytes(32).toString('base64url')}`;
    for (let i = 0; i < flood; i++) {
      await new Promise<void>((resolve) => {
        const attempt = new WebSocket(`${rig.url.replace('http', 'ws')}/v1/tunnel`, TUNNEL_SUBPROTOCOL, { headers: { authorization: `Bearer ${wrong}` } });
        attempt.on('unexpected-response', () => {
          attempt.terminate();
          resolve();
        });
        attempt.on('error', () => resolve());
      });
    }
    await eventually(() => /rejected: unknown tunnel token/.test(rig.gateway.stderr), 5000);
    const floodLines = (rig.gateway.stderr.match(/rejected: unknown tunnel token/g) ?? []).length;
    const logged = (rig.gateway.stderr.match(/FORGED by a peer/g) ?? []).length;
    const forged = forgedLines(rig.gateway.stderr);
    const kinds = ['hello version', 'hello model', 'go-away reason', 'close reason'];
    report.add({
      area: 'bad input', scenario: `a rogue connector forging gateway log lines (hello, go-away and close reasons with line breaks); ${flood} wrong tunnel tokens in a row`,
      tried: kinds.length + 1, survived: Math.max(0, Math.min(logged, kinds.length) - forged) + (floodLines <= 2 ? 1 : 0), lost: forged + (floodLines <= 2 ? 0 : 1),
      figures: `${logged} peer strings logged, ${forged} forged lines; ${flood} rejected tokens wrote ${floodLines} log line(s), the rest summed up in one line per 10 s`,
    });
  } finally {
    await rig.close();
  }
}

import { validateHeaderName, validateHeaderValue } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { acceptStreams, createSessionPair, type SessionPair } from '../../e2e/support/session-pair.js';
import { SeededRandom } from '../../e2e/support/seeded-random.js';
import { DEFAULT_LIMITS, FrameType, ResetCode, type RequestHead } from '../../shared/tunnel-protocol.js';
import { encodeFrame, encodeReset, FrameError, StreamError } from './frame-codec.js';
import { parseHello, parseRequestHead, parseResponseHead, parseSettings } from './payload-validation.js';
import type { TunnelStream } from './tunnel-session.js';

/**
 * Random-input tests with fixed seeds and bounded counts: the same inputs on every run,
 * a few seconds at most. Invariants: no exception but the protocol's own escapes; what a
 * validator accepts, Node's HTTP layer accepts too; damage confined to one stream stays
 * there, and damage to the framing closes the tunnel cleanly with a reason.
 */

const requestHead: RequestHead = {
  method: 'POST',
  path: '/v1/chat/completions?x=1',
  headers: { 'content-type': 'application/json', 'x-request-id': 'abc', accept: 'text/event-stream' },
  deployment: 'gemma',
};
const validPayloads: Array<[string, Buffer, (payload: Buffer) => unknown]> = [
  ['request head', Buffer.from(JSON.stringify(requestHead)), (p) => parseRequestHead(p, DEFAULT_LIMITS.maxHeaderBytes)],
  ['response head', Buffer.from(JSON.stringify({ status: 200, headers: { 'content-type': 'text/event-stream', 'set-cookie': ['a=1', 'b=2'] } })), (p) => parseResponseHead(p, DEFAULT_LIMITS.maxHeaderBytes)],
  ['hello', Buffer.from(JSON.stringify({ version: '0.1.0', upstreamKind: 'ollama', models: ['gemma3:4b'], model: 'gemma3:4b', limits: DEFAULT_LIMITS })), parseHello],
  ['settings', Buffer.from(JSON.stringify({ deployment: 'gemma', serving: true, limits: DEFAULT_LIMITS, heartbeatMs: 10_000, tunnelId: 'tun_1', accepts: ['status'] })), parseSettings],
];

/** Mutations that keep JSON valid but put hostile values where strings go. */
const HOSTILE_STRINGS = ['a\u0001b', 'line\r\nbreak', '\u0000', 'é', '€', ' ', '', 'x'.repeat(9000), 'bad name', '"quoted"', '\u2028'];

function hostileVariant(random: SeededRandom, payload: Buffer): Buffer {
  const value = JSON.parse(payload.toString()) as Record<string, unknown>;
  const target = random.pick(Object.keys(value));
  const hostile = random.pick(HOSTILE_STRINGS);
  if (target === 'headers' && typeof value.headers === 'object' && value.headers !== null) {
    const headers = value.headers as Record<string, unknown>;
    if (random.next() < 0.5) headers[hostile] = 'v';
    else headers[random.pick(Object.keys(headers))] = random.next() < 0.8 ? hostile : [hostile];
  } else {
    value[target] = random.next() < 0.8 ? hostile : random.pick([null, 7, [], {}, true]);
  }
  return Buffer.from(JSON.stringify(value));
}

describe('validator fuzz', () => {
  it('turns any mutation of a head, hello or settings into a value Node accepts or a protocol error', () => {
    const random = new SeededRandom(0x5eed);
    for (const [what, valid, parse] of validPayloads) {
      const outcomes = { accepted: 0, refused: 0 };
      for (let i = 0; i < 1500; i++) {
        const input = i % 2 === 0 ? random.mutate(valid) : hostileVariant(random, valid);
        let value: unknown;
        try {
          value = parse(input);
        } catch (error) {
          // Heads fail per stream, the handshake per tunnel; nothing else may escape.
          const expected = what.endsWith('head') ? StreamError : FrameError;
          if (!(error instanceof expected)) throw new Error(`${what}: ${String(error)} for ${JSON.stringify(input.toString('latin1'))}`, { cause: error });
          outcomes.refused++;
          continue;
        }
        outcomes.accepted++;
        const headers = (value as { headers?: Record<string, string | string[]> }).headers;
        // What passes the tunnel never makes writeHead (or an HTTP client) throw later.
        for (const [name, v] of Object.entries(headers ?? {})) {
          validateHeaderName(name);
          for (const item of Array.isArray(v) ? v : [v]) validateHeaderValue(name, item);
        }
      }
      expect(outcomes.accepted, what).toBeGreaterThan(50);
      expect(outcomes.refused, what).toBeGreaterThan(50);
    }
  });
});

let pair: SessionPair | null = null;
afterEach(async () => {
  await pair?.close();
  pair = null;
});

/** The whole body of `stream`, or the reason it was reset. */
function body(stream: TunnelStream): Promise<{ text: string } | { reset: string }> {
  return new Promise((resolve) => {
    let text = '';
    stream.handler = {
      onData: (chunk) => {
        text += chunk.toString();
        stream.consumed(chunk.length);
      },
      onEnd: () => resolve({ text }),
      onReset: (_code, reason) => resolve({ reset: reason }),
    };
  });
}

/** Resolves once the peer of `socket` has handled everything sent before (or the socket closed). */
function roundTrip(socket: SessionPair['gatewaySocket']): Promise<void> {
  return new Promise((resolve) => {
    if (socket.readyState !== 1) return resolve();
    const done = (): void => {
      socket.off('pong', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('pong', done);
    socket.on('close', done);
    socket.ping();
  });
}

describe('session fuzz', () => {
  it('confines mutated frames on one stream to that stream, or closes the tunnel cleanly with a reason', async () => {
    const random = new SeededRandom(0x7e57);
    const outcomes = { confined: 0, tunnelClosed: 0 };
    for (let round = 0; round < 120; round++) {
      pair ??= await createSessionPair();
      const current = pair;
      const fromConnector = round % 2 === 0;
      // Frame-level damage in about a third of the rounds; the rest mutates payloads only.
      const framing = random.next() < 0.35;
      const accepted = acceptStreams(current, 2);
      const healthy = current.gateway.openStream(requestHead, true);
      const victim = current.gateway.openStream(requestHead, false);
      const [servedHealthy, servedVictim] = await accepted;
      const healthyBody = body(healthy);
      void body(victim);
      void body(servedVictim!);
      servedHealthy!.sendHead({ status: 200, headers: { 'content-type': 'text/plain' } });
      servedHealthy!.write(Buffer.from(`round ${round};`));

      const receiver = fromConnector ? current.gateway : current.connector;
      let closedWith: [number, string] | null = null;
      receiver.once('close', (code, reason) => (closedWith = [code, reason]));
      const frames = fromConnector
        ? [
            // A rogue connector answering the victim stream.
            encodeFrame(FrameType.ResponseHead, 0, victim.id, framing ? JSON.stringify({ status: 200, headers: {} }) : random.mutate(validPayloads[1]![1])),
            encodeFrame(FrameType.Data, 0, victim.id, random.bytes(random.int(64))),
          ]
        : [
            // A rogue gateway sending the victim stream body and a reset.
            encodeFrame(FrameType.Data, 0, victim.id, random.bytes(random.int(64))),
            encodeFrame(FrameType.Reset, 0, victim.id, framing ? encodeReset(ResetCode.Cancel, 'gone') : Buffer.concat([encodeReset(ResetCode.Cancel, ''), random.bytes(random.int(32))])),
          ];
      const message = framing ? random.mutate(Buffer.concat(frames)) : Buffer.concat(frames);
      const attacker = fromConnector ? current.connectorSocket : current.gatewaySocket;
      attacker.send(message);
      await roundTrip(attacker);
      servedHealthy!.end(Buffer.from('done'));
      const result = await healthyBody;

      if (!('reset' in result) && !current.gateway.closed && !current.connector.closed) {
        // The tunnel carried on: the healthy stream is untouched, byte for byte.
        expect(result, `round ${round} framing=${framing} from ${fromConnector ? "connector" : "gateway"}: ${message.toString("hex")}`).toEqual({ text: `round ${round};done` });
        outcomes.confined++;
        continue;
      }
      // Only damage to the framing may close the tunnel, and then cleanly, with a reason.
      await expect.poll(() => closedWith).not.toBeNull();
      expect(framing, `round ${round}: payload damage closed the tunnel: ${JSON.stringify(closedWith)}`).toBe(true);
      const [code, reason] = closedWith!;
      expect(code).toBe(1002);
      expect(reason.length).toBeGreaterThan(0);
      if ('reset' in result) expect(result.reset).toMatch(/^tunnel closed: /);
      outcomes.tunnelClosed++;
      await current.close();
      pair = null;
    }
    expect(outcomes.confined).toBeGreaterThan(60);
    expect(outcomes.tunnelClosed).toBeGreaterThan(5);
  });
});

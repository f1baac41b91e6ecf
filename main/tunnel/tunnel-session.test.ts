import { afterEach, describe, expect, it } from 'vitest';
import { acceptStreams, createSessionPair, type SessionPair } from '../../e2e/support/session-pair.js';
import { DEFAULT_LIMITS, FrameType, GoAwayCode, ResetCode, type RequestHead, type ResponseHead } from '../../shared/tunnel-protocol.js';
import { encodeFrame, encodeGoAway } from './frame-codec.js';
import type { StreamHandler, TunnelStream } from './tunnel-session.js';

const head: RequestHead = { method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, deployment: 'test' };
const ok: ResponseHead = { status: 200, headers: { 'content-type': 'text/plain' } };

let pair: SessionPair | null = null;
afterEach(async () => {
  await pair?.close();
  pair = null;
});

/** The next stream the connector accepts, with its body collected from the first byte. */
function nextStream(pair: SessionPair): Promise<{ stream: TunnelStream; head: RequestHead; body: Promise<Buffer> }> {
  return new Promise((resolve) =>
    pair.connector.once('stream', (stream, h) => resolve({ stream, head: h, body: collect(stream) })),
  );
}

/** Collects the stream's body; `extra` gets the other callbacks (head, drain). */
function collect(stream: TunnelStream, consume = true, extra: Partial<StreamHandler> = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    if (stream.remoteEnded) return resolve(Buffer.alloc(0));
    stream.handler = {
      ...extra,
      onData: (chunk) => {
        chunks.push(Buffer.from(chunk));
        if (consume) stream.consumed(chunk.length);
      },
      onEnd: () => resolve(Buffer.concat(chunks)),
      onReset: (_code, reason) => reject(new Error(reason)),
    };
  });
}

describe('tunnel session', () => {
  it('carries a request and a streamed response over one stream', async () => {
    pair = await createSessionPair();
    const incoming = nextStream(pair);
    const stream = pair.gateway.openStream(head, false);
    stream.end(Buffer.from('{"model":"x"}'));
    const { stream: served, head: seen, body: received } = await incoming;
    expect(seen).toEqual(head);
    const body = await received;
    expect(body.toString()).toBe('{"model":"x"}');
    served.sendHead(ok);
    for (let i = 0; i < 5; i++) served.write(Buffer.from(`chunk${i};`));
    served.end();
    let gotHead!: Promise<ResponseHead>;
    const response = new Promise<Buffer>((resolveBody, rejectBody) => {
      gotHead = new Promise((resolveHead) => collect(stream, true, { onHead: resolveHead }).then(resolveBody, rejectBody));
    });
    expect(await gotHead).toEqual(ok);
    expect((await response).toString()).toBe('chunk0;chunk1;chunk2;chunk3;chunk4;');
    await new Promise((resolve) => setImmediate(resolve));
    expect(pair.gateway.streamCount).toBe(0);
    expect(pair.connector.streamCount).toBe(0);
  });

  it('stops a writer at the stream window until the reader consumes', async () => {
    pair = await createSessionPair({ gatewayLimits: { streamWindow: 64 * 1024 }, connectorLimits: { streamWindow: 64 * 1024 } });
    const incoming = nextStream(pair);
    const stream = pair.gateway.openStream(head, true);
    const { stream: served } = await incoming;
    served.sendHead(ok);
    let received = 0;
    const pending: number[] = [];
    stream.handler = {
      onData: (chunk) => {
        received += chunk.length;
        pending.push(chunk.length);
      },
    };
    const chunk = Buffer.alloc(16 * 1024, 1);
    let accepted = 0;
    while (served.write(chunk)) accepted++;
    // 64 KiB window, 16 KiB writes: the fourth write fills it and says so.
    expect(accepted).toBe(3);
    await expect.poll(() => received).toBe(64 * 1024);
    const drained = new Promise<void>((resolve) => (served.handler = { onDrain: resolve }));
    for (const n of pending.splice(0)) stream.consumed(n);
    await drained;
  });

  it('resets a stream both ways with a code and reason', async () => {
    pair = await createSessionPair();
    const incoming = nextStream(pair);
    const stream = pair.gateway.openStream(head, true);
    const { stream: served } = await incoming;
    const seen = new Promise<[number, string]>((resolve) => (served.handler = { onReset: (code, reason) => resolve([code, reason]) }));
    stream.reset(ResetCode.Cancel, 'client disconnected');
    expect(await seen).toEqual([ResetCode.Cancel, 'client disconnected']);

    const incoming2 = nextStream(pair);
    const stream2 = pair.gateway.openStream(head, true);
    const { stream: served2 } = await incoming2;
    const seen2 = new Promise<[number, string]>((resolve) => (stream2.handler = { onReset: (code, reason) => resolve([code, reason]) }));
    served2.reset(ResetCode.UpstreamUnreachable, 'refused');
    expect(await seen2).toEqual([ResetCode.UpstreamUnreachable, 'refused']);
  });

  it('refuses new streams after go-away and lets the ones in flight finish', async () => {
    pair = await createSessionPair();
    const incoming = nextStream(pair);
    const inflight = pair.gateway.openStream(head, true);
    const { stream: served } = await incoming;
    const goaway = new Promise((resolve) => pair!.gateway.once('goaway', resolve));
    const drained = pair.connector.goAway('shutting down');
    await goaway;
    expect(pair.gateway.canOpenStream).toBe(false);
    served.sendHead(ok);
    served.end(Buffer.from('done'));
    expect((await collect(inflight)).toString()).toBe('done');
    await drained;
  });

  it('closes the tunnel with a reason on a malformed frame, without throwing', async () => {
    pair = await createSessionPair();
    const closed = new Promise<[number, string]>((resolve) => pair!.connector.once('close', (code, reason) => resolve([code, reason])));
    // A response head from the gateway side is a protocol violation for the connector.
    pair.gatewaySocket.send(encodeFrame(FrameType.ResponseHead, 0, 1, '{"status":200,"headers":{}}'));
    const [code, reason] = await closed;
    expect(code).toBe(1002);
    expect(reason).toMatch(/response head sent to the connector/);
  });

  it('refuses streams beyond the concurrency limit: the gateway stops opening, the connector refuses the extra one', async () => {
    pair = await createSessionPair({ connectorLimits: { maxConcurrentStreams: 2 } });
    const a = pair.gateway.openStream(head, true);
    const b = pair.gateway.openStream(head, true);
    expect(a.id).not.toBe(b.id);
    expect(pair.gateway.canOpenStream).toBe(false);
    expect(() => pair!.gateway.openStream(head, true)).toThrow(/cannot take new streams/);

    // A gateway that ignores the announced limit (here: told a bigger one afterwards) gets
    // the extra stream refused by the connector, retryable, while the first two carry on.
    const served: TunnelStream[] = [];
    pair.connector.on('stream', (stream) => served.push(stream));
    const raised = new Promise((resolve) => pair!.gateway.once('hello', resolve));
    pair.connector.sendHello({ version: 'test', upstreamKind: 'unknown', models: [], model: null, limits: { ...DEFAULT_LIMITS, maxConcurrentStreams: 10 } });
    await raised;
    const extra = pair.gateway.openStream(head, true);
    const refused = new Promise<[number, string]>((resolve) => (extra.handler = { onReset: (code, reason) => resolve([code, reason]) }));
    expect(await refused).toEqual([ResetCode.RefusedStream, 'too many concurrent streams']);
    expect(extra.state).toBe('closed');
    expect(pair.connector.streamCount).toBe(2);
    await expect.poll(() => served.length).toBe(2);
    served[0]!.sendHead(ok);
    served[0]!.end(Buffer.from('a done'));
    expect((await collect(a)).toString()).toBe('a done');
  });

  it('declares a silent peer dead after twice the heartbeat', async () => {
    pair = await createSessionPair({ heartbeatMs: 50 });
    // The connector stops hearing anything: its socket no longer reads.
    (pair.connectorSocket as unknown as { _socket: { pause(): void } })._socket.pause();
    const started = Date.now();
    const reason = await new Promise<string>((resolve) => pair!.connector.once('close', (_code, why) => resolve(why)));
    expect(reason).toMatch(/no heartbeat/);
    expect(Date.now() - started).toBeLessThan(500);
  });
});

/** What a stream's owner heard: data bytes, end, or a reset. */
function watch(stream: TunnelStream, consume: boolean): { bytes: () => number; reset: Promise<[number, string]>; ended: Promise<void> } {
  let bytes = 0;
  let onReset!: (value: [number, string]) => void;
  let onEnd!: () => void;
  const reset = new Promise<[number, string]>((resolve) => (onReset = resolve));
  const ended = new Promise<void>((resolve) => (onEnd = resolve));
  stream.handler = {
    onData: (chunk) => {
      bytes += chunk.length;
      if (consume) stream.consumed(chunk.length);
    },
    onEnd: () => onEnd(),
    onReset: (code, reason) => onReset([code, reason]),
  };
  return { bytes: () => bytes, reset, ended };
}

describe('tunnel session: flow control and a misbehaving peer', () => {
  it('holds all streams to the connection-wide window until the reader consumes', async () => {
    // The gateway accepts 64 KiB in flight over the whole tunnel, 256 KiB per stream.
    pair = await createSessionPair({ gatewayLimits: { connectionWindow: 64 * 1024 } });
    const accepted = acceptStreams(pair, 2);
    const streams = [pair.gateway.openStream(head, true), pair.gateway.openStream(head, true)];
    const served = await accepted;
    let received = 0;
    const pending: Array<[TunnelStream, number]> = [];
    for (const stream of streams) {
      stream.handler = {
        onData: (chunk) => {
          received += chunk.length;
          pending.push([stream, chunk.length]);
        },
      };
    }
    // Not ended: a stream that closes frees its unconsumed bytes, which is not what is measured here.
    for (const stream of served) {
      stream.sendHead(ok);
      stream.write(Buffer.alloc(48 * 1024, 7));
    }
    // 96 KiB written, the connection window lets 64 KiB through, whichever stream it is.
    await expect.poll(() => received).toBe(64 * 1024);
    expect(pair.connector.hasConnectionCredit).toBe(false);
    for (const [stream, n] of pending.splice(0)) stream.consumed(n);
    await expect.poll(() => received).toBe(96 * 1024);
    expect(pair.gateway.closed).toBe(false);
  });

  it('resets a stream whose peer overruns its window, tells both owners, and keeps the tunnel', async () => {
    pair = await createSessionPair({ connectorLimits: { streamWindow: 16 * 1024 } });
    const accepted = acceptStreams(pair, 2);
    const overrun = pair.gateway.openStream(head, false);
    const healthy = pair.gateway.openStream(head, true);
    const [servedOverrun, servedHealthy] = await accepted;
    const gatewaySide = watch(overrun, true);
    const connectorSide = watch(servedOverrun!, false);
    // A gateway ignoring the window: 16 KiB + 1 byte on a stream that allows 16 KiB.
    pair.gatewaySocket.send(Buffer.concat([encodeFrame(FrameType.Data, 0, overrun.id, Buffer.alloc(16 * 1024)), encodeFrame(FrameType.Data, 0, overrun.id, Buffer.alloc(1))]));
    expect(await gatewaySide.reset).toEqual([ResetCode.FlowControl, 'peer overran the stream flow-control window']);
    expect(await connectorSide.reset).toEqual([ResetCode.FlowControl, 'peer overran the stream flow-control window']);
    servedHealthy!.sendHead(ok);
    servedHealthy!.end(Buffer.from('fine'));
    expect((await collect(healthy)).toString()).toBe('fine');
    expect(pair.connector.closed).toBe(false);
  });

  it('closes the tunnel with a reason when the peer overruns the connection window', async () => {
    pair = await createSessionPair({ connectorLimits: { connectionWindow: 32 * 1024, streamWindow: 32 * 1024 } });
    const accepted = acceptStreams(pair, 3);
    const ids = [1, 2, 3].map(() => pair!.gateway.openStream(head, false).id);
    for (const stream of await accepted) watch(stream, false);
    const closed = new Promise<[number, string]>((resolve) => pair!.connector.once('close', (code, reason) => resolve([code, reason])));
    // Each stream stays inside its own window; together they pass the connection's.
    pair.gatewaySocket.send(Buffer.concat(ids.map((id) => encodeFrame(FrameType.Data, 0, id, Buffer.alloc(12 * 1024)))));
    const [code, reason] = await closed;
    expect(code).toBe(1002);
    expect(reason).toMatch(/overran the connection flow-control window/);
  });

  it('gives connection credit back for data that arrives after a reset', async () => {
    pair = await createSessionPair({ connectorLimits: { connectionWindow: 32 * 1024, streamWindow: 32 * 1024 } });
    const accepted = acceptStreams(pair, 1);
    const stream = pair.gateway.openStream(head, false);
    const [served] = await accepted;
    const heard = watch(stream, true);
    served!.reset(ResetCode.Cancel, 'not interested');
    await heard.reset;
    // The gateway had already sent more body: four times the connection window in all,
    // in messages of 8 KiB. Each must be credited back, or the window runs out.
    for (let i = 0; i < 16; i++) pair.gatewaySocket.send(encodeFrame(FrameType.Data, 0, stream.id, Buffer.alloc(8 * 1024)));
    const next = nextStream(pair);
    const fresh = pair.gateway.openStream(head, false);
    fresh.end(Buffer.alloc(20 * 1024, 1));
    const { body } = await next;
    expect((await body).length).toBe(20 * 1024);
    expect(pair.connector.closed).toBe(false);
  });

  it('refuses, on go-away, the streams above the last id the peer accepted; the others finish', async () => {
    pair = await createSessionPair();
    const accepted = acceptStreams(pair, 2);
    const kept = pair.gateway.openStream(head, true);
    const above = pair.gateway.openStream(head, true);
    const [servedKept] = await accepted;
    const refused = watch(above, true);
    // As a connector draining before it saw the second head would say it.
    pair.connectorSocket.send(encodeFrame(FrameType.GoAway, 0, 0, encodeGoAway({ lastStreamId: kept.id, code: GoAwayCode.Drain, reason: 'draining' })));
    expect(await refused.reset).toEqual([ResetCode.RefusedStream, 'connector is draining']);
    expect(kept.isClosed).toBe(false);
    expect(pair.gateway.canOpenStream).toBe(false);
    servedKept!.sendHead(ok);
    servedKept!.end(Buffer.from('kept'));
    expect((await collect(kept)).toString()).toBe('kept');
  });

  it('resets only the stream whose head the connector cannot carry; a parallel stream streams on', async () => {
    pair = await createSessionPair();
    const incoming = nextStream(pair);
    const healthy = pair.gateway.openStream(head, true);
    const { stream: served } = await incoming;
    served.sendHead(ok);
    served.write(Buffer.from('first;'));
    const manyHeaders = Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`x-h${i}`, 'v']));
    const bad: Array<[string, RequestHead]> = [
      ['250 headers', { ...head, headers: manyHeaders }],
      ['a control character in a header value', { ...head, headers: { 'x-evil': 'a\u0001b' } }],
      ['a 9,000-character path', { ...head, path: `/v1/chat/completions?q=${'a'.repeat(9000)}` }],
      ['a header name with a space', { ...head, headers: { 'bad name': 'x' } }],
    ];
    const errors: string[] = [];
    pair.connector.on('stream-error', (_id, reason) => errors.push(reason));
    for (const [, badHead] of bad) {
      const stream = pair.gateway.openStream(badHead, true);
      const [code] = await watch(stream, true).reset;
      expect(code).toBe(ResetCode.BadRequest);
    }
    expect(errors).toEqual([
      'request head has more than 200 headers',
      'request head header x-evil has a character HTTP does not allow',
      'request head has a path longer than 8192 characters',
      'request head has an invalid header name',
    ]);
    const rest = collect(healthy);
    served.end(Buffer.from('second'));
    expect((await rest).toString()).toBe('second');
    expect(pair.connector.closed).toBe(false);
  });

  it('resets only the stream whose handler throws (a response head writeHead would refuse)', async () => {
    pair = await createSessionPair();
    const accepted = acceptStreams(pair, 2);
    const throwing = pair.gateway.openStream(head, true);
    const healthy = pair.gateway.openStream(head, true);
    const [servedThrowing, servedHealthy] = await accepted;
    const connectorSide = watch(servedThrowing!, true);
    let ownerHeard: [number, string] | null = null;
    throwing.handler = {
      onHead: () => {
        throw new TypeError('Invalid character in header content ["x-evil"]');
      },
      onReset: (code, reason) => (ownerHeard = [code, reason]),
    };
    const errors: string[] = [];
    pair.gateway.on('stream-error', (_id, reason) => errors.push(reason));
    servedThrowing!.sendHead(ok);
    servedHealthy!.sendHead(ok);
    servedHealthy!.write(Buffer.from('still '));
    servedHealthy!.end(Buffer.from('here'));
    expect((await collect(healthy)).toString()).toBe('still here');
    const reason = 'stream handler failed: Invalid character in header content ["x-evil"]';
    expect(await connectorSide.reset).toEqual([ResetCode.Internal, reason]);
    expect(ownerHeard).toEqual([ResetCode.Internal, reason]);
    expect(errors).toEqual([reason]);
    expect(pair.gateway.closed).toBe(false);
  });

  it('refuses a response head Node would refuse, on that stream only', async () => {
    pair = await createSessionPair();
    const accepted = acceptStreams(pair, 1);
    const stream = pair.gateway.openStream(head, true);
    const [served] = await accepted;
    const gatewaySide = watch(stream, true);
    const connectorSide = watch(served!, true);
    served!.sendHead({ status: 200, headers: { 'x-evil': 'a\u0001b' } });
    const expected: [number, string] = [ResetCode.Protocol, 'response head header x-evil has a character HTTP does not allow'];
    expect(await gatewaySide.reset).toEqual(expected);
    expect(await connectorSide.reset).toEqual(expected);
    expect(pair.gateway.closed).toBe(false);
  });
});

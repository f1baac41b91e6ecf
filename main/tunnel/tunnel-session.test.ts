import { afterEach, describe, expect, it } from 'vitest';
import { createSessionPair, type SessionPair } from '../../e2e/support/session-pair.js';
import { FrameType, ResetCode, type RequestHead, type ResponseHead } from '../../shared/tunnel-protocol.js';
import { encodeFrame } from './frame-codec.js';
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
    pair.connector.once('stream', (stream: TunnelStream, h: RequestHead) => resolve({ stream, head: h, body: collect(stream) })),
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
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received).toBe(64 * 1024);
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
    const closed = new Promise<[number, string]>((resolve) => pair!.connector.once('close', (code: number, reason: string) => resolve([code, reason])));
    // A response head from the gateway side is a protocol violation for the connector.
    pair.gatewaySocket.send(encodeFrame(FrameType.ResponseHead, 0, 1, '{"status":200,"headers":{}}'));
    const [code, reason] = await closed;
    expect(code).toBe(1002);
    expect(reason).toMatch(/response head sent to the connector/);
  });

  it('refuses streams beyond the concurrency limit the connector announced', async () => {
    pair = await createSessionPair({ connectorLimits: { maxConcurrentStreams: 2 } });
    const a = pair.gateway.openStream(head, true);
    const b = pair.gateway.openStream(head, true);
    expect(a.id).not.toBe(b.id);
    expect(pair.gateway.canOpenStream).toBe(false);
  });

  it('declares a silent peer dead after twice the heartbeat', async () => {
    pair = await createSessionPair({ heartbeatMs: 50 });
    // The connector stops hearing anything: its socket no longer reads.
    (pair.connectorSocket as unknown as { _socket: { pause(): void } })._socket.pause();
    const started = Date.now();
    const reason = await new Promise<string>((resolve) => pair!.connector.once('close', (_code: number, why: string) => resolve(why)));
    expect(reason).toMatch(/no heartbeat/);
    expect(Date.now() - started).toBeLessThan(500);
  });
});

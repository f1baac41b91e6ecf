import type { AddressInfo } from 'node:net';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import { decodeFrames, encodeFrame } from '../../main/tunnel/frame-codec.js';
import { DEFAULT_LIMITS, FLAG_END_STREAM, FrameType, TUNNEL_SUBPROTOCOL, type HelloPayload, type RequestHead, type ResponseHead } from '../../shared/tunnel-protocol.js';

/**
 * A gateway written by hand with `ws`, speaking the real frame format, for connectors to
 * dial: it accepts any token, binds the tunnel to a deployment, and then sends whatever
 * requests a test scripts — including what an honest gateway never would.
 */

/** Polls `check` every 10 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function pollUntil(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export interface RogueStream {
  head: ResponseHead | null;
  body: Buffer[];
  ended: boolean;
  reset: { code: number; reason: string } | null;
  /** Window credit the connector returned for this stream. */
  credit: number;
}

export class RogueTunnel {
  readonly streams = new Map<number, RogueStream>();
  /** Connection-wide credit the connector returned. */
  connectionCredit = 0;
  closed: { code: number; reason: string } | null = null;
  private nextId = 1;

  constructor(
    readonly ws: WebSocket,
    readonly hello: HelloPayload,
  ) {
    ws.on('message', (data: Buffer) => {
      decodeFrames(data, (type, flags, streamId, payload) => this.onFrame(type, flags, streamId, payload));
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
    });
    ws.on('error', () => undefined);
  }

  /** Opens a stream with `head`; the body follows with {@link data}. */
  open(head: Partial<RequestHead> = {}, end = false): number {
    const id = this.nextId;
    this.nextId += 2;
    this.streams.set(id, { head: null, body: [], ended: false, reset: null, credit: 0 });
    const full: RequestHead = { method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, deployment: 'rogue', ...head };
    this.ws.send(encodeFrame(FrameType.RequestHead, end ? FLAG_END_STREAM : 0, id, JSON.stringify(full)));
    return id;
  }

  data(streamId: number, bytes: Buffer | string, end = false): void {
    this.ws.send(encodeFrame(FrameType.Data, end ? FLAG_END_STREAM : 0, streamId, bytes));
  }

  /** A whole request: head, body, end. Resolves with the stream once it ends or is reset. */
  async request(head: Partial<RequestHead>, body: Buffer | string): Promise<RogueStream> {
    const id = this.open(head);
    this.data(id, body, true);
    const stream = this.streams.get(id)!;
    await pollUntil(() => stream.ended || stream.reset !== null || this.closed !== null, `the answer on stream ${id}`);
    return stream;
  }

  private onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (type === FrameType.WindowUpdate) {
      const increment = payload.readUInt32BE(0);
      if (streamId === 0) this.connectionCredit += increment;
      else {
        const stream = this.streams.get(streamId);
        if (stream) stream.credit += increment;
      }
      return;
    }
    const stream = this.streams.get(streamId);
    if (!stream) return;
    if (type === FrameType.ResponseHead) stream.head = JSON.parse(payload.toString()) as ResponseHead;
    else if (type === FrameType.Data && payload.length > 0) stream.body.push(Buffer.from(payload));
    else if (type === FrameType.Reset) stream.reset = { code: payload.readUInt32BE(0), reason: payload.subarray(4).toString() };
    if ((type === FrameType.ResponseHead || type === FrameType.Data) && flags & FLAG_END_STREAM) stream.ended = true;
  }
}

export class RogueGateway {
  url = '';
  private readonly server: WebSocketServer;
  private readonly tunnels: RogueTunnel[] = [];

  private constructor() {
    this.server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 64 << 20, handleProtocols: () => TUNNEL_SUBPROTOCOL });
    this.server.on('connection', (ws) => {
      ws.once('message', (data: Buffer) => {
        let hello: HelloPayload | null = null;
        decodeFrames(data, (type, _flags, _id, payload) => {
          if (type === FrameType.Hello) hello = JSON.parse(payload.toString()) as HelloPayload;
        });
        if (!hello) return ws.terminate();
        const tunnel = new RogueTunnel(ws, hello);
        ws.send(encodeFrame(FrameType.Settings, 0, 0, JSON.stringify({ deployment: 'rogue', serving: true, limits: DEFAULT_LIMITS, heartbeatMs: 60_000, tunnelId: 'rogue' })));
        this.tunnels.push(tunnel);
      });
    });
  }

  static async start(): Promise<RogueGateway> {
    const gateway = new RogueGateway();
    await new Promise<void>((resolve) => gateway.server.once('listening', () => resolve()));
    gateway.url = `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`;
    return gateway;
  }

  /** The `index`-th tunnel a connector opened (waits for it). */
  async tunnel(index = 0, timeoutMs = 15_000): Promise<RogueTunnel> {
    await pollUntil(() => this.tunnels.length > index, `tunnel ${index} from a connector`, timeoutMs);
    return this.tunnels[index]!;
  }

  get tunnelCount(): number {
    return this.tunnels.length;
  }

  async close(): Promise<void> {
    for (const tunnel of this.tunnels) tunnel.ws.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

import WebSocket from 'ws';
import { decodeFrames, encodeFrame, parseWindowUpdate } from '../../main/tunnel/frame-codec.js';
import { DEFAULT_LIMITS, FLAG_END_STREAM, FrameType, TUNNEL_SUBPROTOCOL, type HelloPayload, type RequestHead, type SettingsPayload, type TunnelLimits } from '../../shared/tunnel-protocol.js';
import { pollUntil } from './rogue-gateway.js';

/**
 * A connector written by hand with `ws`, speaking the real frame format, that answers the
 * gateway's requests however a test tells it to — including the ways a compromised or
 * broken connector would (lying about lengths, refusing, resetting).
 */

/** A Hello for a llama.cpp build that serves Chat Completions only: the gateway translates Messages and Responses for it. */
export const CHAT_ONLY_UPSTREAM: Partial<HelloPayload> = { upstreamKind: 'llamacpp', endpoints: ['/v1/chat/completions'], models: ['m'], model: 'm' };

export interface RogueRequest {
  streamId: number;
  head: RequestHead;
  body: Buffer;
}

export class RogueConnector {
  /** Requests whose body ended, in arrival order. */
  readonly requests: RogueRequest[] = [];
  /** Resets the gateway sent, by stream. */
  readonly resets = new Map<number, { code: number; reason: string }>();
  settings: SettingsPayload | null = null;
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Called for every request once its body ended; unanswered when not set. */
  onRequest: ((request: RogueRequest) => void) | null = null;
  private readonly open = new Map<number, { head: RequestHead; chunks: Buffer[] }>();
  /** Response bytes the gateway lets this side send: on the connection, and per stream once it granted more. */
  private connectionCredit = DEFAULT_LIMITS.connectionWindow;
  private readonly streamCredit = new Map<number, number>();
  private creditWaiters: Array<() => void> = [];

  private constructor(private readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.once('close', () => this.wake());
    ws.on('error', () => undefined);
    ws.on('message', (data: Buffer) => {
      decodeFrames(data, (type, flags, streamId, payload) => this.onFrame(type, flags, streamId, Buffer.from(payload)));
    });
  }

  /** Dials `gatewayUrl`'s tunnel with `token` and says Hello (an OpenAI-compatible upstream unless `hello` says otherwise). */
  static async connect(gatewayUrl: string, token: string, limits: TunnelLimits = DEFAULT_LIMITS, hello: Partial<HelloPayload> = {}): Promise<RogueConnector> {
    const ws = new WebSocket(`${gatewayUrl.replace(/^http/, 'ws')}/v1/tunnel`, TUNNEL_SUBPROTOCOL, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const rogue = new RogueConnector(ws);
    rogue.send(encodeFrame(FrameType.Hello, 0, 0, JSON.stringify({ version: 'rogue', upstreamKind: 'openai', models: [], model: null, limits, ...hello })));
    return rogue;
  }

  /** Resolves once the gateway says this tunnel serves a deployment. */
  serving(): Promise<void> {
    return pollUntil(() => this.settings?.serving === true, 'the gateway to bind this tunnel');
  }

  /** The request numbered `index` (from 0) to arrive. */
  async request(index: number): Promise<RogueRequest> {
    await pollUntil(() => this.requests.length > index, `request ${index}`);
    return this.requests[index]!;
  }

  send(...frames: Buffer[]): void {
    this.ws.send(Buffer.concat(frames));
  }

  /** A response head, then each of `parts` as its own Data frame (each its own message), then the end. */
  respond(streamId: number, status: number, headers: Record<string, string | string[]>, parts: Array<Buffer | string>, end = true): void {
    this.send(encodeFrame(FrameType.ResponseHead, 0, streamId, JSON.stringify({ status, headers })));
    for (const part of parts) this.send(encodeFrame(FrameType.Data, 0, streamId, part));
    if (end) this.send(encodeFrame(FrameType.Data, FLAG_END_STREAM, streamId));
  }

  /**
   * Sends `chunk` as one Data frame once the gateway's windows allow it, as an honest
   * connector must (past them the gateway closes the tunnel). False when the stream or
   * tunnel went away first.
   */
  async sendWithinWindow(streamId: number, chunk: Buffer | string): Promise<boolean> {
    const bytes = Buffer.from(chunk);
    for (;;) {
      if (this.ws.readyState !== WebSocket.OPEN || this.resets.has(streamId)) return false;
      const stream = this.streamCredit.get(streamId) ?? this.settings?.limits.streamWindow ?? DEFAULT_LIMITS.streamWindow;
      if (Math.min(stream, this.connectionCredit) >= bytes.length) {
        this.streamCredit.set(streamId, stream - bytes.length);
        this.connectionCredit -= bytes.length;
        this.send(encodeFrame(FrameType.Data, 0, streamId, bytes));
        return true;
      }
      await new Promise<void>((resolve) => this.creditWaiters.push(resolve));
    }
  }

  /**
   * Answers `streamId` 200 with `type`: `opening`, then `piece` again and again within the
   * gateway's windows until `bytes` of them went or the gateway reset the stream, then
   * `closing` and the end. Resolves with how many bytes of pieces went.
   */
  async answerInPieces(streamId: number, type: string, opening: string, piece: Buffer, bytes: number, closing = ''): Promise<number> {
    this.send(encodeFrame(FrameType.ResponseHead, 0, streamId, JSON.stringify({ status: 200, headers: { 'content-type': type } })));
    await this.sendWithinWindow(streamId, opening);
    let sent = 0;
    while (sent < bytes && (await this.sendWithinWindow(streamId, piece))) sent += piece.length;
    if (closing) await this.sendWithinWindow(streamId, closing);
    if (!this.resets.has(streamId)) this.send(encodeFrame(FrameType.Data, FLAG_END_STREAM, streamId));
    return sent;
  }

  reset(streamId: number, code: number, reason: string): void {
    const reasonBytes = Buffer.from(reason);
    const payload = Buffer.alloc(4 + reasonBytes.length);
    payload.writeUInt32BE(code, 0);
    reasonBytes.copy(payload, 4);
    this.send(encodeFrame(FrameType.Reset, 0, streamId, payload));
  }

  close(): void {
    this.ws.terminate();
  }

  private wake(): void {
    for (const wake of this.creditWaiters.splice(0)) wake();
  }

  private onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (type === FrameType.Settings) this.settings = JSON.parse(payload.toString()) as SettingsPayload;
    else if (type === FrameType.RequestHead) this.open.set(streamId, { head: JSON.parse(payload.toString()) as RequestHead, chunks: [] });
    else if (type === FrameType.Data) this.open.get(streamId)?.chunks.push(payload);
    else if (type === FrameType.Reset) this.resets.set(streamId, { code: payload.readUInt32BE(0), reason: payload.subarray(4).toString() });
    else if (type === FrameType.WindowUpdate) {
      const increment = parseWindowUpdate(payload);
      if (streamId === 0) this.connectionCredit += increment;
      else this.streamCredit.set(streamId, (this.streamCredit.get(streamId) ?? this.settings?.limits.streamWindow ?? DEFAULT_LIMITS.streamWindow) + increment);
    }
    if (type === FrameType.WindowUpdate || type === FrameType.Reset) this.wake();
    if ((type === FrameType.RequestHead || type === FrameType.Data) && flags & FLAG_END_STREAM) {
      const stream = this.open.get(streamId);
      if (!stream) return;
      this.open.delete(streamId);
      const request = { streamId, head: stream.head, body: Buffer.concat(stream.chunks) };
      this.requests.push(request);
      this.onRequest?.(request);
    }
  }
}

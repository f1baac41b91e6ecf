import { EventEmitter } from 'node:events';
import type WebSocket from 'ws';
import {
  CloseCode,
  DEFAULT_HEARTBEAT_MS,
  FLAG_END_STREAM,
  FrameType,
  GoAwayCode,
  ResetCode,
  type HelloPayload,
  type RequestHead,
  type SettingsPayload,
  type StatusPayload,
  type TunnelLimits,
} from '../../shared/tunnel-protocol.js';
import { FlowWindow } from './flow-window.js';
import { decodeFrames, encodeGoAway, encodeReset, encodeWindowUpdate, FrameBatch, FrameError, parseGoAway, parseReset, parseWindowUpdate, StreamError, type GoAway } from './frame-codec.js';
import { parseHello, parseRequestHead, parseResponseHead, parseSettings, parseStatus } from './payload-validation.js';
import { TunnelStream, type StreamCarrier } from './tunnel-stream.js';

export type { StreamHandler, StreamState, TunnelStream } from './tunnel-stream.js';
export type { GoAway } from './frame-codec.js';

/**
 * The multiplexer both ends share: streams over one WebSocket, with per-stream and
 * connection-wide credit windows, resets, go-away and a heartbeat. The gateway opens
 * streams (`role: 'gateway'`); the connector accepts them (`'stream'` events).
 *
 * What the peer sends is checked at two depths: a frame that breaks the protocol (bad
 * framing, an unknown type, a connection window overrun, a malformed handshake) closes
 * the tunnel with a reason; a head one stream cannot accept, or a stream handler that
 * throws, resets that stream only.
 */
export interface TunnelSessionOptions {
  role: 'gateway' | 'connector';
  /** What this side accepts; announced to the peer in Hello / Settings. */
  limits: TunnelLimits;
  heartbeatMs?: number;
}

export interface TunnelSessionEvents {
  /** Gateway side: the connector's handshake. */
  hello: [hello: HelloPayload];
  /** Connector side: the gateway's binding and limits (after Hello, and on every change). */
  settings: [settings: SettingsPayload];
  /** Gateway side: the connector's upstream went down or came back. */
  status: [status: StatusPayload];
  /** Connector side: the gateway opened a stream. */
  stream: [stream: TunnelStream, head: RequestHead];
  /** The peer takes no new streams; those above `lastStreamId` were refused. */
  goaway: [goAway: GoAway];
  /** A heartbeat's round trip, in ms. */
  rtt: [ms: number];
  /** The peer broke the protocol; the tunnel is closing with this reason. */
  'protocol-error': [reason: string];
  /** One stream was reset for its own fault (a head refused, a handler that threw); the tunnel carries on. */
  'stream-error': [streamId: number, reason: string];
  close: [code: number, reason: string];
}

export class TunnelSession extends EventEmitter<TunnelSessionEvents> implements StreamCarrier {
  readonly role: 'gateway' | 'connector';
  readonly localLimits: TunnelLimits;

  private readonly ws: WebSocket;
  private readonly streams = new Map<number, TunnelStream>();
  private nextStreamId = 1;
  /** Highest stream id seen or opened; smaller unknown ids belong to closed streams. */
  private highestStreamId = 0;
  private readonly batch = new FrameBatch();
  private flushScheduled = false;
  /** Streams with data (or an end) to send at the end of this turn. */
  private readonly dirty = new Set<TunnelStream>();
  private readonly connection: FlowWindow;
  /** Streams with data queued, waiting for connection credit. */
  private readonly connBlocked = new Set<TunnelStream>();
  private idleWaiters: Array<() => void> = [];
  private peer: TunnelLimits;
  private rtt: number | null = null;
  private isClosed = false;
  private weDrain = false;
  private peerDrains = false;
  private heartbeatMs: number;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private lastReceived = Date.now();
  private closeReason = '';

  constructor(ws: WebSocket, options: TunnelSessionOptions) {
    super();
    this.ws = ws;
    this.role = options.role;
    this.localLimits = options.limits;
    // Until the peer's Hello/Settings arrives, assume it accepts what we do.
    this.peer = { ...options.limits };
    this.connection = new FlowWindow(options.limits.connectionWindow, options.limits.connectionWindow);
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;

    ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('ping', () => {
      this.lastReceived = Date.now();
    });
    ws.on('pong', (data: Buffer) => this.onPong(data));
    ws.on('close', (code: number, reason: Buffer) => this.onClose(code, reason.toString()));
    ws.on('error', (error: Error) => {
      this.closeReason ||= error.message;
    });
    this.startHeartbeat();
  }

  /** What the peer accepts; our own values until its Hello/Settings arrives. */
  get peerLimits(): TunnelLimits {
    return this.peer;
  }

  /** Smoothed round-trip time of the last heartbeats, in ms (null until measured). */
  get rttMs(): number | null {
    return this.rtt;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** We sent go-away: no new streams either way. */
  get draining(): boolean {
    return this.weDrain;
  }

  /** The peer sent go-away: do not open new streams on this session. */
  get peerDraining(): boolean {
    return this.peerDrains;
  }

  get streamCount(): number {
    return this.streams.size;
  }

  /** True when a new stream may be opened on this session now. */
  get canOpenStream(): boolean {
    return !this.isClosed && !this.weDrain && !this.peerDrains && this.streams.size < this.peer.maxConcurrentStreams;
  }

  sendHello(hello: HelloPayload): void {
    this.queue(FrameType.Hello, 0, 0, Buffer.from(JSON.stringify(hello)));
  }

  /** Connector side; only to a gateway whose Settings accept `status`. */
  sendStatus(status: StatusPayload): void {
    this.queue(FrameType.Status, 0, 0, Buffer.from(JSON.stringify(status)));
  }

  sendSettings(settings: SettingsPayload): void {
    this.setHeartbeat(settings.heartbeatMs);
    this.queue(FrameType.Settings, 0, 0, Buffer.from(JSON.stringify(settings)));
  }

  /** Gateway side: opens a stream carrying `head`. Check {@link canOpenStream} first. */
  openStream(head: RequestHead, endStream: boolean): TunnelStream {
    if (this.role !== 'gateway') throw new Error('only the gateway opens streams');
    if (!this.canOpenStream) throw new Error('tunnel cannot take new streams');
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    this.highestStreamId = id;
    const stream = new TunnelStream(this, id, { sendWindow: this.peer.streamWindow, recvWindow: this.localLimits.streamWindow, awaitingHead: true, remoteEnded: false });
    this.streams.set(id, stream);
    stream.sendHead(head, endStream);
    return stream;
  }

  /**
   * Stops new streams in both directions and tells the peer; streams in flight finish.
   * Resolves when the last one has.
   */
  goAway(reason: string): Promise<void> {
    if (!this.weDrain && !this.isClosed) {
      this.weDrain = true;
      this.queue(FrameType.GoAway, 0, 0, encodeGoAway({ lastStreamId: this.highestStreamId, code: GoAwayCode.Drain, reason }));
    }
    return this.idle();
  }

  /** Resolves once no stream is open (or the session closed). */
  idle(): Promise<void> {
    if (this.streams.size === 0 || this.isClosed) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Closes the WebSocket cleanly; open streams are reset. */
  close(code: number = CloseCode.Normal, reason = ''): void {
    if (this.isClosed) return;
    this.flush();
    this.closeReason ||= reason;
    try {
      this.ws.close(code, reason.slice(0, 120));
    } catch {
      this.ws.terminate();
    }
    // The close handshake may never finish on a dead link.
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }

  /** Drops the connection at once. */
  destroy(reason = 'destroyed'): void {
    this.closeReason ||= reason;
    this.ws.terminate();
    this.onClose(CloseCode.GoingAway, reason);
  }

  // ---- sending (StreamCarrier) -------------------------------------------------------

  /** @internal */
  queue(type: number, flags: number, streamId: number, payload: Buffer | null): void {
    if (this.isClosed) return;
    this.batch.add(type, flags, streamId, payload);
    this.scheduleFlush();
  }

  /**
   * @internal Data written during this turn goes out at its end: every chunk a stream
   * produced in the turn becomes one Data frame (as far as its windows allow), and all
   * frames one message.
   */
  markDirty(stream: TunnelStream): void {
    this.dirty.add(stream);
    if (!this.isClosed) this.scheduleFlush();
  }

  /** @internal */
  get hasConnectionCredit(): boolean {
    return this.connection.sendable > 0;
  }

  /** @internal */
  releaseConnectionCredit(bytes: number): void {
    if (bytes <= 0 || this.isClosed) return;
    const increment = this.connection.consume(bytes);
    if (increment > 0) this.queue(FrameType.WindowUpdate, 0, 0, encodeWindowUpdate(increment));
  }

  /** @internal */
  streamClosed(stream: TunnelStream, unconsumed: number): void {
    if (this.streams.get(stream.id) !== stream) return;
    this.streams.delete(stream.id);
    this.connBlocked.delete(stream);
    // Data that arrived but was never consumed still frees connection credit.
    this.releaseConnectionCredit(unconsumed);
    if (this.streams.size === 0) this.wakeIdle();
  }

  /** @internal */
  handlerFailed(stream: TunnelStream, reason: string): void {
    this.emit('stream-error', stream.id, reason);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flushNow);
  }

  private readonly flushNow = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  private flush(): void {
    if (this.dirty.size > 0) {
      const pumped = [...this.dirty];
      this.dirty.clear();
      if (!this.isClosed) {
        for (const stream of pumped) if (stream.pump(this.batch, this.connection)) this.connBlocked.add(stream);
      }
      // After the batch is built: a writer woken here may write again, for the next turn.
      for (const stream of pumped) stream.checkDrain();
    }
    const message = this.batch.take();
    if (!message || this.ws.readyState !== 1) return;
    this.ws.send(message, { binary: true, compress: false });
  }

  private wakeIdle(): void {
    for (const wake of this.idleWaiters.splice(0)) wake();
  }

  // ---- receiving -------------------------------------------------------------------

  private onMessage(data: Buffer, isBinary: boolean): void {
    this.lastReceived = Date.now();
    if (this.isClosed) return;
    if (!isBinary) return this.fail('text message on the tunnel');
    try {
      decodeFrames(data, this.onFrame);
    } catch (error) {
      this.fail(error instanceof FrameError ? error.message : `tunnel error: ${(error as Error).message}`);
    }
  }

  private readonly onFrame = (type: number, flags: number, streamId: number, payload: Buffer): void => {
    if (this.isClosed) return;
    switch (type) {
      case FrameType.Data:
        return this.onData(flags, streamId, payload);
      case FrameType.WindowUpdate:
        return this.onWindowUpdate(streamId, payload);
      case FrameType.ResponseHead:
        return this.onResponseHead(flags, streamId, payload);
      case FrameType.RequestHead:
        return this.onRequestHead(flags, streamId, payload);
      case FrameType.Reset:
        return this.onReset(streamId, payload);
      case FrameType.GoAway:
        return this.onGoAway(streamId, payload);
      case FrameType.Hello: {
        if (this.role !== 'gateway' || streamId !== 0) throw new FrameError('unexpected hello frame');
        const hello = parseHello(payload);
        this.adoptPeerLimits(hello.limits);
        this.emit('hello', hello);
        return;
      }
      case FrameType.Settings: {
        if (this.role !== 'connector' || streamId !== 0) throw new FrameError('unexpected settings frame');
        const settings = parseSettings(payload);
        this.adoptPeerLimits(settings.limits);
        this.setHeartbeat(settings.heartbeatMs);
        this.emit('settings', settings);
        return;
      }
      case FrameType.Status: {
        if (this.role !== 'gateway' || streamId !== 0) throw new FrameError('unexpected status frame');
        this.emit('status', parseStatus(payload));
        return;
      }
      default:
        throw new FrameError(`unexpected frame type ${type}`);
    }
  };

  /** The peer announced what it accepts; our send window follows its connection window. */
  private adoptPeerLimits(limits: TunnelLimits): void {
    if (!this.connection.grant(limits.connectionWindow - this.peer.connectionWindow)) throw new FrameError('connection window overflow');
    this.peer = limits;
  }

  /** The open stream `id` refers to; undefined for a stream already closed; throws for one that never existed. */
  private knownStream(streamId: number, what: string): TunnelStream | undefined {
    if (streamId === 0) throw new FrameError(`${what} frame on stream 0`);
    const stream = this.streams.get(streamId);
    if (stream) return stream;
    if (streamId > this.highestStreamId || streamId % 2 === 0) throw new FrameError(`${what} frame for unknown stream ${streamId}`);
    return undefined;
  }

  private onData(flags: number, streamId: number, payload: Buffer): void {
    const stream = this.knownStream(streamId, 'data');
    if (payload.length > 0 && !this.connection.receive(payload.length)) throw new FrameError('peer overran the connection flow-control window');
    // Late data for a stream already reset (or refused): give the connection credit back.
    if (!stream) return this.releaseConnectionCredit(payload.length);
    stream.receiveData(payload, (flags & FLAG_END_STREAM) !== 0);
  }

  private onWindowUpdate(streamId: number, payload: Buffer): void {
    const increment = parseWindowUpdate(payload);
    if (streamId === 0) {
      if (!this.connection.grant(increment)) throw new FrameError('connection window overflow');
      for (const stream of [...this.connBlocked]) {
        this.connBlocked.delete(stream);
        stream.resume();
        if (this.connection.sendable <= 0) break;
      }
      return;
    }
    this.knownStream(streamId, 'window update')?.grant(increment);
  }

  private onRequestHead(flags: number, streamId: number, payload: Buffer): void {
    if (this.role !== 'connector') throw new FrameError('request head sent to the gateway');
    if (streamId % 2 === 0 || streamId <= this.highestStreamId) throw new FrameError(`request head reuses stream id ${streamId}`);
    this.highestStreamId = streamId;
    let head: RequestHead;
    try {
      head = parseRequestHead(payload, this.localLimits.maxHeaderBytes);
    } catch (error) {
      if (!(error instanceof StreamError)) throw error;
      // A request this side cannot carry: refuse it; its late body frames are dropped.
      this.queue(FrameType.Reset, 0, streamId, encodeReset(ResetCode.BadRequest, error.message));
      this.emit('stream-error', streamId, error.message);
      return;
    }
    if (this.weDrain || this.streams.size >= this.localLimits.maxConcurrentStreams) {
      // Never processed, so the gateway may safely send it elsewhere.
      this.queue(FrameType.Reset, 0, streamId, encodeReset(ResetCode.RefusedStream, this.weDrain ? 'connector is draining' : 'too many concurrent streams'));
      return;
    }
    const stream = new TunnelStream(this, streamId, {
      sendWindow: this.peer.streamWindow,
      recvWindow: this.localLimits.streamWindow,
      awaitingHead: false,
      remoteEnded: (flags & FLAG_END_STREAM) !== 0,
    });
    this.streams.set(streamId, stream);
    this.emit('stream', stream, head);
  }

  private onResponseHead(flags: number, streamId: number, payload: Buffer): void {
    if (this.role !== 'gateway') throw new FrameError('response head sent to the connector');
    const stream = this.knownStream(streamId, 'response head');
    if (!stream) return;
    let head;
    try {
      head = parseResponseHead(payload, this.localLimits.maxHeaderBytes);
    } catch (error) {
      if (!(error instanceof StreamError)) throw error;
      this.emit('stream-error', streamId, error.message);
      return stream.refuseHead(error.message);
    }
    stream.receiveHead(head, (flags & FLAG_END_STREAM) !== 0);
  }

  private onReset(streamId: number, payload: Buffer): void {
    const { code, reason } = parseReset(payload);
    this.knownStream(streamId, 'reset')?.receiveReset(code, reason);
  }

  private onGoAway(streamId: number, payload: Buffer): void {
    const goAway = parseGoAway(streamId, payload);
    this.peerDrains = true;
    if (this.role === 'gateway') {
      // Streams the connector never accepted were not processed: refuse them so the
      // gateway retries them elsewhere.
      for (const stream of [...this.streams.values()]) {
        if (stream.id > goAway.lastStreamId) stream.receiveReset(ResetCode.RefusedStream, 'connector is draining');
      }
    }
    this.emit('goaway', goAway);
    if (goAway.code !== GoAwayCode.Drain) this.close(CloseCode.Protocol, goAway.reason);
  }

  /** A protocol violation: tell the peer why, then close. Never throws. */
  private fail(reason: string): void {
    if (this.isClosed) return;
    this.queue(FrameType.GoAway, 0, 0, encodeGoAway({ lastStreamId: this.highestStreamId, code: GoAwayCode.Protocol, reason }));
    this.emit('protocol-error', reason);
    this.close(CloseCode.Protocol, reason);
  }

  private onClose(code: number, reason: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.stopHeartbeat();
    const why = reason || this.closeReason || `tunnel closed (${code})`;
    for (const stream of [...this.streams.values()]) stream.receiveReset(ResetCode.Internal, `tunnel closed: ${why}`);
    this.wakeIdle();
    this.emit('close', code, why);
  }

  // ---- heartbeat -------------------------------------------------------------------

  private setHeartbeat(ms: number): void {
    if (ms === this.heartbeatMs) return;
    this.heartbeatMs = ms;
    this.stopHeartbeat();
    this.startHeartbeat();
  }

  private startHeartbeat(): void {
    if (this.isClosed) return;
    this.heartbeatTimer = setInterval(() => {
      const silentFor = Date.now() - this.lastReceived;
      if (silentFor > 2 * this.heartbeatMs) {
        this.destroy(`no heartbeat for ${silentFor} ms`);
        return;
      }
      if (this.ws.readyState !== 1) return;
      const stamp = Buffer.allocUnsafe(8);
      stamp.writeDoubleBE(performance.now(), 0);
      this.ws.ping(stamp);
    }, this.heartbeatMs);
    this.heartbeatTimer.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private onPong(data: Buffer): void {
    this.lastReceived = Date.now();
    if (data.length !== 8) return;
    const rtt = performance.now() - data.readDoubleBE(0);
    if (!(rtt >= 0 && rtt < 600_000)) return;
    this.rtt = this.rtt === null ? rtt : this.rtt * 0.7 + rtt * 0.3;
    this.emit('rtt', rtt);
  }

  /** Sends a ping now (used right after connecting so RTT shows up at once). */
  ping(): void {
    if (this.ws.readyState !== 1) return;
    const stamp = Buffer.allocUnsafe(8);
    stamp.writeDoubleBE(performance.now(), 0);
    this.ws.ping(stamp);
  }
}


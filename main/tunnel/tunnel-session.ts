import { EventEmitter } from 'node:events';
import type WebSocket from 'ws';
import {
  CloseCode,
  DEFAULT_HEARTBEAT_MS,
  FLAG_END_STREAM,
  FrameType,
  GoAwayCode,
  MAX_DATA_FRAME_BYTES,
  ResetCode,
  type HelloPayload,
  type RequestHead,
  type ResetCodeValue,
  type ResponseHead,
  type SettingsPayload,
  type TunnelLimits,
} from '../../shared/tunnel-protocol.js';
import { decodeFrames, FrameBatch, FrameError } from './frame-codec.js';
import { parseHello, parseRequestHead, parseResponseHead, parseSettings } from './payload-validation.js';

/**
 * The multiplexer both ends share: streams over one WebSocket, with per-stream and
 * connection-wide credit windows, resets, go-away and a heartbeat. The gateway opens
 * streams (`role: 'gateway'`); the connector accepts them (`'stream'` events).
 *
 * Events: 'hello' (gateway side), 'settings' (connector side), 'stream' (connector
 * side), 'goaway' (peer stops taking new streams), 'rtt' (ms), 'close' (code, reason).
 */
export interface TunnelSessionOptions {
  role: 'gateway' | 'connector';
  /** What this side accepts; announced to the peer in Hello / Settings. */
  limits: TunnelLimits;
  heartbeatMs?: number;
}

const MAX_WINDOW = 0x7fffffff;

export class TunnelSession extends EventEmitter {
  readonly role: 'gateway' | 'connector';
  readonly localLimits: TunnelLimits;
  /** What the peer accepts; starts at our own values until its Hello/Settings arrives. */
  peerLimits: TunnelLimits;
  /** Smoothed round-trip time of the last heartbeats, in ms (null until measured). */
  rttMs: number | null = null;
  closed = false;
  /** We sent go-away: no new streams either way. */
  draining = false;
  /** The peer sent go-away: do not open new streams on this session. */
  peerDraining = false;

  private readonly ws: WebSocket;
  private readonly streams = new Map<number, TunnelStream>();
  private nextStreamId = 1;
  /** Highest stream id seen or opened; smaller unknown ids belong to closed streams. */
  private highestStreamId = 0;
  private readonly batch = new FrameBatch();
  private flushScheduled = false;
  private connSendWindow: number;
  private connRecvWindow: number;
  private connUnacked = 0;
  /** Streams with data queued, waiting for connection credit. */
  private readonly connBlocked = new Set<TunnelStream>();
  private heartbeatMs: number;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private lastReceived = Date.now();
  private closeReason = '';

  constructor(ws: WebSocket, options: TunnelSessionOptions) {
    super();
    this.ws = ws;
    this.role = options.role;
    this.localLimits = options.limits;
    this.peerLimits = { ...options.limits };
    this.connSendWindow = options.limits.connectionWindow;
    this.connRecvWindow = options.limits.connectionWindow;
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

  get streamCount(): number {
    return this.streams.size;
  }

  /** True when a new stream may be opened on this session now. */
  get canOpenStream(): boolean {
    return !this.closed && !this.draining && !this.peerDraining && this.streams.size < this.peerLimits.maxConcurrentStreams;
  }

  sendHello(hello: HelloPayload): void {
    this.queue(FrameType.Hello, 0, 0, Buffer.from(JSON.stringify(hello)));
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
    const stream = new TunnelStream(this, id, this.peerLimits.streamWindow, this.localLimits.streamWindow);
    this.streams.set(id, stream);
    stream.sendHead(head, endStream);
    return stream;
  }

  /**
   * Stops new streams in both directions and tells the peer; streams in flight finish.
   * Resolves when the last one has.
   */
  goAway(reason: string): Promise<void> {
    if (!this.draining && !this.closed) {
      this.draining = true;
      const payload = Buffer.alloc(8 + Buffer.byteLength(reason));
      payload.writeUInt32BE(this.highestStreamId, 0);
      payload.writeUInt32BE(GoAwayCode.Drain, 4);
      payload.write(reason, 8);
      this.queue(FrameType.GoAway, 0, 0, payload);
    }
    return this.idle();
  }

  /** Resolves once no stream is open (or the session closed). */
  idle(): Promise<void> {
    if (this.streams.size === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.streams.size === 0 || this.closed) {
          this.off('stream-closed', check);
          this.off('close', check);
          resolve();
        }
      };
      this.on('stream-closed', check);
      this.on('close', check);
    });
  }

  /** Closes the WebSocket cleanly; open streams are reset. */
  close(code: number = CloseCode.Normal, reason = ''): void {
    if (this.closed) return;
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

  // ---- sending ---------------------------------------------------------------------

  /** @internal */
  queue(type: number, flags: number, streamId: number, payload: Buffer | null): void {
    if (this.closed) return;
    this.batch.add(type, flags, streamId, payload);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushNow);
    }
  }

  private readonly flushNow = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  /**
   * Data written during this turn goes out at its end: every chunk a stream produced in the
   * turn becomes one Data frame (as far as its windows allow), and all frames one message.
   */
  private readonly dirty = new Set<TunnelStream>();

  /** @internal The stream has data (or an end) to send. */
  markDirty(stream: TunnelStream): void {
    this.dirty.add(stream);
    if (!this.flushScheduled && !this.closed) {
      this.flushScheduled = true;
      setImmediate(this.flushNow);
    }
  }

  private flush(): void {
    if (this.dirty.size > 0) {
      for (const stream of this.dirty) this.pump(stream);
      this.dirty.clear();
      for (const stream of [...this.drainWaiters]) stream.checkDrain();
    }
    const message = this.batch.take();
    if (!message || this.ws.readyState !== 1) return;
    this.ws.send(message, { binary: true, compress: false });
  }

  /** @internal */
  get hasConnectionCredit(): boolean {
    return this.connSendWindow > 0;
  }

  /** Streams whose writer waits for 'drain'. */
  readonly drainWaiters = new Set<TunnelStream>();

  /** @internal Sends as much of the stream's queued data as both windows allow. */
  pump(stream: TunnelStream): void {
    if (stream.isClosed) return;
    if (this.connSendWindow <= 0) this.connBlocked.add(stream);
    while (stream.queuedBytes > 0) {
      const allowed = Math.min(stream.sendWindow, this.connSendWindow, MAX_DATA_FRAME_BYTES);
      if (allowed <= 0) {
        if (this.connSendWindow <= 0) this.connBlocked.add(stream);
        return;
      }
      const { parts, length } = stream.takeQueued(allowed);
      stream.sendWindow -= length;
      this.connSendWindow -= length;
      const end = stream.queuedBytes === 0 && stream.endQueued;
      if (!this.closed) this.batch.addParts(FrameType.Data, end ? FLAG_END_STREAM : 0, stream.id, parts, length);
      if (end) stream.onLocalEndSent();
    }
    if (stream.endQueued && !stream.localEnded) {
      this.queue(FrameType.Data, FLAG_END_STREAM, stream.id, null);
      stream.onLocalEndSent();
    }
  }

  /** @internal Credits the peer for `bytes` consumed on `stream`. */
  credit(stream: TunnelStream | null, bytes: number): void {
    if (bytes <= 0 || this.closed) return;
    this.connUnacked += bytes;
    if (this.connUnacked >= this.localLimits.connectionWindow / 4) {
      this.connRecvWindow += this.connUnacked;
      this.sendWindowUpdate(0, this.connUnacked);
      this.connUnacked = 0;
    }
    if (stream && !stream.remoteEnded && !stream.isClosed) {
      stream.recvUnacked += bytes;
      if (stream.recvUnacked >= this.localLimits.streamWindow / 4) {
        stream.recvWindow += stream.recvUnacked;
        this.sendWindowUpdate(stream.id, stream.recvUnacked);
        stream.recvUnacked = 0;
      }
    }
  }

  private sendWindowUpdate(streamId: number, increment: number): void {
    const payload = Buffer.allocUnsafe(4);
    payload.writeUInt32BE(increment, 0);
    this.queue(FrameType.WindowUpdate, 0, streamId, payload);
  }

  /** @internal */
  sendReset(streamId: number, code: ResetCodeValue, reason: string): void {
    const payload = Buffer.allocUnsafe(4 + Buffer.byteLength(reason));
    payload.writeUInt32BE(code, 0);
    payload.write(reason, 4);
    this.queue(FrameType.Reset, 0, streamId, payload);
  }

  /** @internal */
  removeStream(stream: TunnelStream): void {
    if (this.streams.get(stream.id) !== stream) return;
    this.streams.delete(stream.id);
    this.connBlocked.delete(stream);
    // Data that arrived but was never consumed still frees connection credit.
    if (stream.recvBuffered > 0) this.credit(null, stream.recvBuffered);
    stream.recvBuffered = 0;
    this.emit('stream-closed', stream);
  }

  // ---- receiving -------------------------------------------------------------------

  private onMessage(data: Buffer, isBinary: boolean): void {
    this.lastReceived = Date.now();
    if (this.closed) return;
    if (!isBinary) return this.fail('text message on the tunnel');
    try {
      decodeFrames(data, this.onFrame);
    } catch (error) {
      this.fail(error instanceof FrameError ? error.message : `tunnel error: ${(error as Error).message}`);
    }
  }

  private readonly onFrame = (type: number, flags: number, streamId: number, payload: Buffer): void => {
    if (this.closed) return;
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
      case FrameType.Hello:
        if (this.role !== 'gateway' || streamId !== 0) throw new FrameError('unexpected hello frame');
        {
          const hello = parseHello(payload);
          this.adoptPeerLimits(hello.limits);
          this.emit('hello', hello);
        }
        return;
      case FrameType.Settings: {
        if (this.role !== 'connector' || streamId !== 0) throw new FrameError('unexpected settings frame');
        const settings = parseSettings(payload);
        this.adoptPeerLimits(settings.limits);
        this.setHeartbeat(settings.heartbeatMs);
        this.emit('settings', settings);
        return;
      }
      default:
        throw new FrameError(`unexpected frame type ${type}`);
    }
  };

  /** The peer announced what it accepts; our send window follows its connection window. */
  private adoptPeerLimits(limits: TunnelLimits): void {
    this.connSendWindow += limits.connectionWindow - this.peerLimits.connectionWindow;
    this.peerLimits = limits;
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
    const length = payload.length;
    if (length > 0) {
      this.connRecvWindow -= length;
      if (this.connRecvWindow < 0) throw new FrameError('peer overran the connection flow-control window');
    }
    if (!stream) {
      // Late data for a stream we already reset: give the connection credit back.
      this.credit(null, length);
      return;
    }
    if (stream.remoteEnded) throw new FrameError(`data after end of stream ${streamId}`);
    if (this.role === 'gateway' && !stream.headReceived) throw new FrameError(`data before response head on stream ${streamId}`);
    if (length > 0) {
      stream.recvWindow -= length;
      if (stream.recvWindow < 0) {
        this.credit(null, length);
        stream.reset(ResetCode.FlowControl, 'peer overran the stream flow-control window');
        return;
      }
      stream.recvBuffered += length;
      stream.handler.onData?.(payload);
    }
    if (flags & FLAG_END_STREAM) stream.onRemoteEnd();
  }

  private onWindowUpdate(streamId: number, payload: Buffer): void {
    if (payload.length !== 4) throw new FrameError('window update must carry 4 bytes');
    const increment = payload.readUInt32BE(0);
    if (increment === 0) throw new FrameError('window update of 0');
    if (streamId === 0) {
      this.connSendWindow += increment;
      if (this.connSendWindow > MAX_WINDOW) throw new FrameError('connection window overflow');
      for (const stream of [...this.connBlocked]) {
        this.connBlocked.delete(stream);
        stream.resume();
        if (this.connSendWindow <= 0) break;
      }
      return;
    }
    const stream = this.knownStream(streamId, 'window update');
    if (!stream) return;
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW) {
      stream.reset(ResetCode.FlowControl, 'stream window overflow');
      return;
    }
    stream.resume();
  }

  private onRequestHead(flags: number, streamId: number, payload: Buffer): void {
    if (this.role !== 'connector') throw new FrameError('request head sent to the gateway');
    if (streamId % 2 === 0 || streamId <= this.highestStreamId) throw new FrameError(`request head reuses stream id ${streamId}`);
    this.highestStreamId = streamId;
    const head = parseRequestHead(payload, this.localLimits.maxHeaderBytes);
    if (this.draining || this.streams.size >= this.localLimits.maxConcurrentStreams) {
      // Never processed, so the gateway may safely send it elsewhere.
      this.sendReset(streamId, ResetCode.RefusedStream, this.draining ? 'connector is draining' : 'too many concurrent streams');
      return;
    }
    const stream = new TunnelStream(this, streamId, this.peerLimits.streamWindow, this.localLimits.streamWindow);
    this.streams.set(streamId, stream);
    if (flags & FLAG_END_STREAM) stream.remoteEnded = true;
    this.emit('stream', stream, head);
  }

  private onResponseHead(flags: number, streamId: number, payload: Buffer): void {
    if (this.role !== 'gateway') throw new FrameError('response head sent to the connector');
    const stream = this.knownStream(streamId, 'response head');
    if (!stream) return;
    if (stream.headReceived) throw new FrameError(`second response head on stream ${streamId}`);
    stream.headReceived = true;
    const head = parseResponseHead(payload, this.localLimits.maxHeaderBytes);
    stream.handler.onHead?.(head);
    if (flags & FLAG_END_STREAM) stream.onRemoteEnd();
  }

  private onReset(streamId: number, payload: Buffer): void {
    if (payload.length < 4) throw new FrameError('reset must carry a code');
    const stream = this.knownStream(streamId, 'reset');
    if (!stream) return;
    const code = payload.readUInt32BE(0) as ResetCodeValue;
    stream.onRemoteReset(code, payload.subarray(4).toString('utf8').slice(0, 500));
  }

  private onGoAway(streamId: number, payload: Buffer): void {
    if (streamId !== 0 || payload.length < 8) throw new FrameError('malformed go-away');
    const lastStreamId = payload.readUInt32BE(0);
    const code = payload.readUInt32BE(4);
    const reason = payload.subarray(8).toString('utf8').slice(0, 500);
    this.peerDraining = true;
    if (this.role === 'gateway') {
      // Streams the connector never accepted were not processed: refuse them so the
      // gateway retries them elsewhere.
      for (const stream of [...this.streams.values()]) {
        if (stream.id > lastStreamId) stream.onRemoteReset(ResetCode.RefusedStream, 'connector is draining');
      }
    }
    this.emit('goaway', { lastStreamId, code, reason });
    if (code !== GoAwayCode.Drain) this.close(CloseCode.Protocol, reason);
  }

  /** A protocol violation: tell the peer why, then close. Never throws. */
  private fail(reason: string): void {
    if (this.closed) return;
    const payload = Buffer.alloc(8 + Buffer.byteLength(reason));
    payload.writeUInt32BE(this.highestStreamId, 0);
    payload.writeUInt32BE(GoAwayCode.Protocol, 4);
    payload.write(reason, 8);
    this.queue(FrameType.GoAway, 0, 0, payload);
    this.emit('protocol-error', reason);
    this.close(CloseCode.Protocol, reason);
  }

  private onClose(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.stopHeartbeat();
    const why = reason || this.closeReason || `tunnel closed (${code})`;
    for (const stream of [...this.streams.values()]) stream.onRemoteReset(ResetCode.Internal, `tunnel closed: ${why}`);
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
    if (this.closed) return;
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
    this.rttMs = this.rttMs === null ? rtt : this.rttMs * 0.7 + rtt * 0.3;
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

/**
 * What a stream's owner hears. One plain object per stream rather than an EventEmitter:
 * streams are made per request, so their bookkeeping stays as small as the work allows.
 * Set it (`stream.handler = …`) in the same tick the stream arrives.
 */
export interface StreamHandler {
  onHead?(head: ResponseHead): void;
  onData?(chunk: Buffer): void;
  onEnd?(): void;
  onReset?(code: ResetCodeValue, reason: string): void;
  /** Window credit arrived after `write` returned false. */
  onDrain?(): void;
}

const NO_HANDLER: StreamHandler = {};

/**
 * One request/response exchange. The writer side mirrors http.ServerResponse: `write`
 * returns false once the peer's window is used up and `onDrain` follows; the reader side
 * gets `onHead`, `onData`, `onEnd` and `onReset`, and calls `consumed(n)` once it has
 * handed n bytes on, which is what returns credit to the peer.
 */
export class TunnelStream {
  handler: StreamHandler = NO_HANDLER;
  readonly id: number;
  sendWindow: number;
  recvWindow: number;
  recvUnacked = 0;
  /** Bytes received and not yet reported as consumed. */
  recvBuffered = 0;
  headReceived = false;
  localEnded = false;
  remoteEnded = false;
  endQueued = false;
  /** Set once reset either way; the code and reason say why. */
  resetCode: ResetCodeValue | null = null;
  resetReason = '';

  private readonly session: TunnelSession;
  private queued: Buffer[] = [];
  queuedBytes = 0;
  private wantDrain = false;
  private closedFlag = false;

  constructor(session: TunnelSession, id: number, sendWindow: number, recvWindow: number) {
    this.session = session;
    this.id = id;
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  sendHead(head: RequestHead | ResponseHead, endStream = false): void {
    if (this.closedFlag) return;
    const type = 'status' in head ? FrameType.ResponseHead : FrameType.RequestHead;
    this.session.queue(type, endStream ? FLAG_END_STREAM : 0, this.id, Buffer.from(JSON.stringify(head)));
    if (endStream) this.onLocalEndSent();
  }

  /**
   * Queues body bytes; they leave at the end of this turn. False means the peer cannot take
   * more than is queued already: wait for `onDrain` before writing more.
   */
  write(chunk: Buffer): boolean {
    if (this.closedFlag || this.endQueued || chunk.length === 0) return !this.closedFlag;
    this.queued.push(chunk);
    this.queuedBytes += chunk.length;
    this.session.markDirty(this);
    if (this.queuedBytes >= this.sendWindow || !this.session.hasConnectionCredit) {
      this.wantDrain = true;
      this.session.drainWaiters.add(this);
      return false;
    }
    return true;
  }

  end(chunk?: Buffer): void {
    if (this.closedFlag || this.endQueued) return;
    if (chunk && chunk.length > 0) {
      this.queued.push(chunk);
      this.queuedBytes += chunk.length;
    }
    this.endQueued = true;
    this.session.markDirty(this);
  }

  /** Ends the stream at once, both ways, telling the peer why. */
  reset(code: ResetCodeValue, reason: string): void {
    if (this.closedFlag) return;
    this.resetCode = code;
    this.resetReason = reason;
    this.session.sendReset(this.id, code, reason);
    this.finish();
  }

  /** The consumer handed `bytes` on; returns credit to the peer. */
  consumed(bytes: number): void {
    // A closed stream already returned its connection credit in full.
    if (bytes <= 0 || this.closedFlag) return;
    this.recvBuffered -= bytes;
    this.session.credit(this, bytes);
  }

  /** @internal Up to `max` queued bytes, as the chunks (or part of one) they came in. */
  takeQueued(max: number): { parts: Buffer[]; length: number } {
    const parts: Buffer[] = [];
    let length = 0;
    while (this.queued.length > 0 && length < max) {
      const first = this.queued[0]!;
      const room = max - length;
      if (first.length <= room) {
        this.queued.shift();
        parts.push(first);
        length += first.length;
      } else {
        parts.push(first.subarray(0, room));
        this.queued[0] = first.subarray(room);
        length += room;
      }
    }
    this.queuedBytes -= length;
    return { parts, length };
  }

  /** @internal Window credit arrived. */
  resume(): void {
    if (this.closedFlag) return;
    if (this.queuedBytes > 0 || (this.endQueued && !this.localEnded)) this.session.markDirty(this);
    this.checkDrain();
  }

  /** @internal Tells a waiting writer it may write again, once the peer can take more. */
  checkDrain(): void {
    if (this.wantDrain && !this.closedFlag && this.queuedBytes < this.sendWindow && this.session.hasConnectionCredit) {
      this.wantDrain = false;
      this.session.drainWaiters.delete(this);
      this.handler.onDrain?.();
    }
  }

  /** @internal */
  onLocalEndSent(): void {
    this.localEnded = true;
    if (this.remoteEnded) this.finish();
  }

  /** @internal */
  onRemoteEnd(): void {
    this.remoteEnded = true;
    this.handler.onEnd?.();
    if (this.localEnded) this.finish();
  }

  /** @internal */
  onRemoteReset(code: ResetCodeValue, reason: string): void {
    if (this.closedFlag) return;
    this.resetCode = code;
    this.resetReason = reason;
    this.finish();
    this.handler.onReset?.(code, reason);
  }

  private finish(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.queued = [];
    this.queuedBytes = 0;
    this.session.drainWaiters.delete(this);
    this.session.removeStream(this);
  }
}

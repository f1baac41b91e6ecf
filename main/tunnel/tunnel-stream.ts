import { FLAG_END_STREAM, FrameType, MAX_DATA_FRAME_BYTES, type RequestHead, type ResetCodeValue, type ResponseHead, ResetCode } from '../../shared/tunnel-protocol.js';
import { FlowWindow } from './flow-window.js';
import { encodeReset, encodeWindowUpdate, type FrameBatch, FrameError } from './frame-codec.js';

/**
 * One request/response exchange on a tunnel, with one explicit state, as HTTP/2 streams
 * have (RFC 9113 §5.1, without idle and reserved: a stream exists from its head on):
 *
 *     open ──we sent END──▶ half-closed-local ──peer sent END──▶ closed
 *     open ──peer sent END──▶ half-closed-remote ──we sent END──▶ closed
 *     any ──reset either way──▶ closed (with the reset's code and reason)
 *
 * The writer side mirrors http.ServerResponse: `write` returns false once the peer's
 * window is used up and `onDrain` follows. The reader side gets `onHead`, `onData`,
 * `onEnd` and `onReset`, and calls `consumed(n)` once it has handed n bytes on, which is
 * what returns credit to the peer. Whatever a handler throws resets this stream only.
 */

export type StreamState = 'open' | 'half-closed-local' | 'half-closed-remote' | 'closed';

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

/** What a stream needs from the session that carries it. */
export interface StreamCarrier {
  /** Queues a frame; it leaves at the end of this event-loop turn. */
  queue(type: number, flags: number, streamId: number, payload: Buffer | null): void;
  /** The stream has data or an end to send at the end of this turn. */
  markDirty(stream: TunnelStream): void;
  /** Whether the connection-wide send window has room. */
  readonly hasConnectionCredit: boolean;
  /** `bytes` of received data left the connection window (consumed, or dropped unread). */
  releaseConnectionCredit(bytes: number): void;
  /** The stream reached `closed`; `unconsumed` bytes it received were never consumed. */
  streamClosed(stream: TunnelStream, unconsumed: number): void;
  /** The stream's handler threw; the stream has been reset. */
  handlerFailed(stream: TunnelStream, reason: string): void;
}

const NO_HANDLER: StreamHandler = {};

export class TunnelStream {
  handler: StreamHandler = NO_HANDLER;
  readonly id: number;

  private current: StreamState;
  private resetWith: { code: ResetCodeValue; reason: string } | null = null;
  private readonly carrier: StreamCarrier;
  private readonly window: FlowWindow;
  /** Gateway side: the response head must come before any data. */
  private awaitingHead: boolean;
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  /** `end()` was called: END_STREAM leaves with the last queued byte. */
  private ending = false;
  private wantDrain = false;
  /** Bytes received and not yet reported as consumed. */
  private unconsumed = 0;

  /** @internal Made by the session only. */
  constructor(carrier: StreamCarrier, id: number, options: { sendWindow: number; recvWindow: number; awaitingHead: boolean; remoteEnded: boolean }) {
    this.carrier = carrier;
    this.id = id;
    this.window = new FlowWindow(options.sendWindow, options.recvWindow);
    this.awaitingHead = options.awaitingHead;
    this.current = options.remoteEnded ? 'half-closed-remote' : 'open';
  }

  get state(): StreamState {
    return this.current;
  }

  get isClosed(): boolean {
    return this.current === 'closed';
  }

  /** The peer will send nothing more (it ended its side, or the stream closed). */
  get remoteEnded(): boolean {
    return this.current === 'half-closed-remote' || this.current === 'closed';
  }

  /** How the stream was reset (either way), or null when it was not. */
  get resetInfo(): { code: ResetCodeValue; reason: string } | null {
    return this.resetWith;
  }

  /** Our side is done: ended, ending, or closed. */
  private get localDone(): boolean {
    return this.ending || this.current === 'half-closed-local' || this.current === 'closed';
  }

  // ---- the owner's side --------------------------------------------------------------

  sendHead(head: RequestHead | ResponseHead, endStream = false): void {
    if (this.localDone) return;
    const type = 'status' in head ? FrameType.ResponseHead : FrameType.RequestHead;
    this.carrier.queue(type, endStream ? FLAG_END_STREAM : 0, this.id, Buffer.from(JSON.stringify(head)));
    if (endStream) this.localEndSent();
  }

  /**
   * Queues body bytes; they leave at the end of this turn. False means the peer cannot take
   * more than is queued already: wait for `onDrain` before writing more.
   */
  write(chunk: Buffer): boolean {
    if (this.localDone || chunk.length === 0) return !this.isClosed;
    this.queued.push(chunk);
    this.queuedBytes += chunk.length;
    this.carrier.markDirty(this);
    if (this.queuedBytes >= this.window.sendable || !this.carrier.hasConnectionCredit) {
      this.wantDrain = true;
      return false;
    }
    return true;
  }

  end(chunk?: Buffer): void {
    if (this.localDone) return;
    if (chunk && chunk.length > 0) {
      this.queued.push(chunk);
      this.queuedBytes += chunk.length;
    }
    this.ending = true;
    this.carrier.markDirty(this);
  }

  /** Ends the stream at once, both ways, telling the peer why. */
  reset(code: ResetCodeValue, reason: string): void {
    if (this.isClosed) return;
    this.resetWith = { code, reason };
    this.carrier.queue(FrameType.Reset, 0, this.id, encodeReset(code, reason));
    this.close();
  }

  /** The consumer handed `bytes` on; returns credit to the peer. */
  consumed(bytes: number): void {
    // A closed stream already returned its connection credit in full.
    if (bytes <= 0 || this.isClosed) return;
    this.unconsumed -= bytes;
    this.carrier.releaseConnectionCredit(bytes);
    if (this.remoteEnded) return; // the peer sends nothing more: no credit to give
    const increment = this.window.consume(bytes);
    if (increment > 0) this.carrier.queue(FrameType.WindowUpdate, 0, this.id, encodeWindowUpdate(increment));
  }

  // ---- driven by the session ---------------------------------------------------------

  /**
   * @internal Moves queued bytes into `batch` as far as this stream's and the connection's
   * windows allow. True when it stopped for want of connection credit.
   */
  pump(batch: FrameBatch, connection: FlowWindow): boolean {
    if (this.isClosed) return false;
    while (this.queuedBytes > 0) {
      const allowed = Math.min(this.window.sendable, connection.sendable, MAX_DATA_FRAME_BYTES);
      if (allowed <= 0) return connection.sendable <= 0;
      const { parts, length } = this.takeQueued(allowed);
      this.window.spend(length);
      connection.spend(length);
      const end = this.queuedBytes === 0 && this.ending;
      batch.addParts(FrameType.Data, end ? FLAG_END_STREAM : 0, this.id, parts, length);
      if (end) {
        this.localEndSent();
        return false;
      }
    }
    if (this.ending) {
      batch.add(FrameType.Data, FLAG_END_STREAM, this.id, null);
      this.localEndSent();
    }
    return false;
  }

  /** @internal Window credit arrived (for this stream or the connection). */
  resume(): void {
    if (this.isClosed) return;
    if (this.queuedBytes > 0 || this.ending) this.carrier.markDirty(this);
    this.checkDrain();
  }

  /** @internal Tells a waiting writer it may write again, once the peer can take more. */
  checkDrain(): void {
    if (!this.wantDrain || this.isClosed || this.queuedBytes >= this.window.sendable || !this.carrier.hasConnectionCredit) return;
    this.wantDrain = false;
    try {
      this.handler.onDrain?.();
    } catch (error) {
      this.handlerThrew(error);
    }
  }

  /** @internal The peer granted `increment` bytes on this stream. */
  grant(increment: number): void {
    if (!this.window.grant(increment)) return this.abort(ResetCode.FlowControl, 'stream window overflow');
    this.resume();
  }

  /** @internal Gateway side: the response head (already validated). */
  receiveHead(head: ResponseHead, end: boolean): void {
    if (!this.awaitingHead) throw new FrameError(`second response head on stream ${this.id}`);
    this.awaitingHead = false;
    try {
      this.handler.onHead?.(head);
    } catch (error) {
      return this.handlerThrew(error);
    }
    if (end) this.receiveEnd();
  }

  /** @internal Gateway side: a head the peer sent but this side cannot accept. */
  refuseHead(reason: string): void {
    if (!this.awaitingHead) throw new FrameError(`second response head on stream ${this.id}`);
    this.awaitingHead = false;
    this.abort(ResetCode.Protocol, reason);
  }

  /** @internal A Data frame; its bytes are already counted against the connection window. */
  receiveData(payload: Buffer, end: boolean): void {
    if (this.current === 'half-closed-remote') throw new FrameError(`data after end of stream ${this.id}`);
    if (this.awaitingHead) throw new FrameError(`data before response head on stream ${this.id}`);
    const length = payload.length;
    if (length > 0) {
      if (!this.window.receive(length)) {
        this.carrier.releaseConnectionCredit(length);
        return this.abort(ResetCode.FlowControl, 'peer overran the stream flow-control window');
      }
      this.unconsumed += length;
      try {
        this.handler.onData?.(payload);
      } catch (error) {
        return this.handlerThrew(error);
      }
    }
    if (end) this.receiveEnd();
  }

  /** @internal The peer reset the stream, or the tunnel closed under it. */
  receiveReset(code: ResetCodeValue, reason: string): void {
    if (this.isClosed) return;
    this.resetWith = { code, reason };
    this.close();
    this.notifyReset(code, reason);
  }

  // ---- transitions -------------------------------------------------------------------

  private receiveEnd(): void {
    if (this.current === 'open') {
      this.current = 'half-closed-remote';
      this.notifyEnd();
    } else if (this.current === 'half-closed-local') {
      this.notifyEnd();
      this.close();
    }
  }

  private localEndSent(): void {
    this.ending = false;
    if (this.current === 'open') this.current = 'half-closed-local';
    else if (this.current === 'half-closed-remote') this.close();
  }

  /** Resets the stream toward the peer and tells this side's owner, who did not ask for it. */
  private abort(code: ResetCodeValue, reason: string): void {
    if (this.isClosed) return;
    this.reset(code, reason);
    this.notifyReset(code, reason);
  }

  private close(): void {
    if (this.isClosed) return;
    this.current = 'closed';
    this.queued = [];
    this.queuedBytes = 0;
    this.wantDrain = false;
    const unconsumed = this.unconsumed;
    this.unconsumed = 0;
    this.carrier.streamClosed(this, unconsumed);
  }

  private notifyEnd(): void {
    try {
      this.handler.onEnd?.();
    } catch (error) {
      this.handlerThrew(error);
    }
  }

  private notifyReset(code: ResetCodeValue, reason: string): void {
    try {
      this.handler.onReset?.(code, reason);
    } catch (error) {
      this.carrier.handlerFailed(this, `stream handler failed: ${(error as Error)?.message ?? String(error)}`);
    }
  }

  /** A handler threw: this stream is reset, the tunnel and its other streams carry on. */
  private handlerThrew(error: unknown): void {
    const reason = `stream handler failed: ${(error as Error)?.message ?? String(error)}`;
    this.carrier.handlerFailed(this, reason);
    this.abort(ResetCode.Internal, reason);
  }

  /** Up to `max` queued bytes, as the chunks (or part of one) they came in. */
  private takeQueued(max: number): { parts: Buffer[]; length: number } {
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
}

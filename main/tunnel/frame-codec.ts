import { TokiosError } from '../../shared/errors.js';
import { FRAME_HEADER_BYTES, FrameType, ResetCode, type ResetCodeValue } from '../../shared/tunnel-protocol.js';

/**
 * The tunnel's wire format: splitting a WebSocket message into frames, batching the frames
 * of one event-loop turn into one message, and the binary control frames (reset, window
 * update, go-away) — each encoder next to its parser. JSON payloads (heads, hello,
 * settings) are checked in payload-validation.ts.
 */

/** A frame that breaks the protocol; the tunnel closes with this message as the reason. */
export class FrameError extends TokiosError {
  override readonly name = 'FrameError';
  constructor(message: string) {
    super('TUNNEL_PROTOCOL', message);
  }
}

/**
 * A well-framed frame whose content one stream cannot accept (a head too big, too many
 * headers, a value Node would refuse): that stream is reset, the tunnel and its other
 * streams carry on.
 */
export class StreamError extends TokiosError {
  override readonly name = 'StreamError';
  constructor(message: string) {
    super('TUNNEL_PROTOCOL', message);
  }
}

export type FrameVisitor = (type: number, flags: number, streamId: number, payload: Buffer) => void;

const MAX_TYPE = FrameType.Status;

/**
 * Calls `visit` for every frame in one WebSocket message. Throws FrameError on a
 * truncated frame or an unknown type; the payload is a view into `message`, not a copy.
 */
export function decodeFrames(message: Buffer, visit: FrameVisitor): void {
  let offset = 0;
  const total = message.length;
  if (total === 0) throw new FrameError('empty tunnel message');
  while (offset < total) {
    if (total - offset < FRAME_HEADER_BYTES) throw new FrameError(`truncated frame header (${total - offset} bytes)`);
    const type = message[offset]!;
    const flags = message[offset + 1]!;
    const streamId = message.readUInt32BE(offset + 2);
    const length = message.readUInt32BE(offset + 6);
    offset += FRAME_HEADER_BYTES;
    if (type < 1 || type > MAX_TYPE) throw new FrameError(`unknown frame type ${type}`);
    if (length > total - offset) throw new FrameError(`frame payload of ${length} bytes overruns its message`);
    visit(type, flags, streamId, message.subarray(offset, offset + length));
    offset += length;
  }
}

/** Payloads at least this big are referenced, not copied, into the outgoing message. */
const COPY_LIMIT = 8 * 1024;
const SLAB_BYTES = 64 * 1024;

/**
 * Frames produced during one event-loop turn, turned into one WebSocket message.
 * Small frames are written into a slab that is never rewritten once handed out (ws may
 * still hold it), like Buffer's own pool.
 */
export class FrameBatch {
  private parts: Buffer[] = [];
  private slab: Buffer = Buffer.allocUnsafe(SLAB_BYTES);
  private slabStart = 0;
  private slabPos = 0;
  /** Bytes in the batch so far. */
  bytes = 0;
  frames = 0;

  add(type: number, flags: number, streamId: number, payload: Buffer | null): void {
    if (payload && payload.length > 0) this.addParts(type, flags, streamId, [payload], payload.length);
    else this.addParts(type, flags, streamId, [], 0);
  }

  /** One frame whose payload is `parts` joined (`length` bytes in all). */
  addParts(type: number, flags: number, streamId: number, parts: readonly Buffer[], length: number): void {
    const copy = length < COPY_LIMIT;
    this.reserve(FRAME_HEADER_BYTES + (copy ? length : 0));
    const slab = this.slab;
    let pos = this.slabPos;
    slab[pos] = type;
    slab[pos + 1] = flags;
    slab.writeUInt32BE(streamId, pos + 2);
    slab.writeUInt32BE(length, pos + 6);
    pos += FRAME_HEADER_BYTES;
    if (copy) {
      for (const part of parts) pos += part.copy(slab, pos);
      this.slabPos = pos;
    } else {
      this.slabPos = pos;
      this.seal();
      for (const part of parts) this.parts.push(part);
    }
    this.bytes += FRAME_HEADER_BYTES + length;
    this.frames++;
  }

  /** The whole batch as one buffer (null when empty); the batch is empty afterwards. */
  take(): Buffer | null {
    if (this.frames === 0) return null;
    this.seal();
    const parts = this.parts;
    const message = parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.bytes);
    this.parts = [];
    this.bytes = 0;
    this.frames = 0;
    return message;
  }

  private seal(): void {
    if (this.slabPos > this.slabStart) this.parts.push(this.slab.subarray(this.slabStart, this.slabPos));
    this.slabStart = this.slabPos;
  }

  private reserve(bytes: number): void {
    if (this.slab.length - this.slabPos >= bytes) return;
    this.seal();
    this.slab = Buffer.allocUnsafe(Math.max(SLAB_BYTES, bytes));
    this.slabStart = 0;
    this.slabPos = 0;
  }
}

/** One frame as a standalone buffer (tests and the fuzzer build frames with it). */
export function encodeFrame(type: number, flags: number, streamId: number, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  frame[0] = type;
  frame[1] = flags;
  frame.writeUInt32BE(streamId, 2);
  frame.writeUInt32BE(body.length, 6);
  body.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

// ---- control frames ------------------------------------------------------------------

/** Longest reason kept from (and sent in) a reset or go-away, in characters. */
export const MAX_REASON_CHARS = 500;

function reasonBytes(reason: string): Buffer {
  return Buffer.from(reason.length > MAX_REASON_CHARS ? reason.slice(0, MAX_REASON_CHARS) : reason, 'utf8');
}

function readReason(payload: Buffer, offset: number): string {
  return payload.toString('utf8', offset, Math.min(payload.length, offset + 4 * MAX_REASON_CHARS)).slice(0, MAX_REASON_CHARS);
}

const RESET_CODES: ReadonlySet<number> = new Set(Object.values(ResetCode));

/** Reset payload: u32 code + UTF-8 reason. */
export function encodeReset(code: ResetCodeValue, reason: string): Buffer {
  const text = reasonBytes(reason);
  const payload = Buffer.allocUnsafe(4 + text.length);
  payload.writeUInt32BE(code, 0);
  text.copy(payload, 4);
  return payload;
}

/** A code this side does not know is read as Internal (the peer's reason still says why). */
export function parseReset(payload: Buffer): { code: ResetCodeValue; reason: string } {
  if (payload.length < 4) throw new FrameError('reset must carry a code');
  const code = payload.readUInt32BE(0);
  return { code: RESET_CODES.has(code) ? (code as ResetCodeValue) : ResetCode.Internal, reason: readReason(payload, 4) };
}

/** Window update payload: u32 increment, never 0. */
export function encodeWindowUpdate(increment: number): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(increment, 0);
  return payload;
}

export function parseWindowUpdate(payload: Buffer): number {
  if (payload.length !== 4) throw new FrameError('window update must carry 4 bytes');
  const increment = payload.readUInt32BE(0);
  if (increment === 0) throw new FrameError('window update of 0');
  return increment;
}

export interface GoAway {
  /** Streams up to this id were accepted and finish; later ones were never processed. */
  lastStreamId: number;
  /** A {@link GoAwayCode}: Drain, or Protocol when the tunnel closes for a violation. */
  code: number;
  reason: string;
}

/** Go-away payload (stream 0): u32 last stream id + u32 code + UTF-8 reason. */
export function encodeGoAway({ lastStreamId, code, reason }: GoAway): Buffer {
  const text = reasonBytes(reason);
  const payload = Buffer.allocUnsafe(8 + text.length);
  payload.writeUInt32BE(lastStreamId, 0);
  payload.writeUInt32BE(code, 4);
  text.copy(payload, 8);
  return payload;
}

export function parseGoAway(streamId: number, payload: Buffer): GoAway {
  if (streamId !== 0 || payload.length < 8) throw new FrameError('malformed go-away');
  return { lastStreamId: payload.readUInt32BE(0), code: payload.readUInt32BE(4), reason: readReason(payload, 8) };
}

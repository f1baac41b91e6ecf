import { TokiosError } from '../../shared/errors.js';
import { FRAME_HEADER_BYTES, FrameType } from '../../shared/tunnel-protocol.js';

/** A frame that breaks the protocol; the tunnel closes with this message as the reason. */
export class FrameError extends TokiosError {
  override readonly name = 'FrameError';
  constructor(message: string) {
    super('TUNNEL_PROTOCOL', message);
  }
}

export type FrameVisitor = (type: number, flags: number, streamId: number, payload: Buffer) => void;

const MAX_TYPE = FrameType.GoAway;

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

import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../e2e/support/seeded-random.js';
import { FLAG_END_STREAM, FRAME_HEADER_BYTES, FrameType, GoAwayCode, ResetCode } from '../../shared/tunnel-protocol.js';
import {
  decodeFrames,
  encodeFrame,
  encodeGoAway,
  encodeReset,
  encodeWindowUpdate,
  FrameBatch,
  FrameError,
  MAX_REASON_CHARS,
  parseGoAway,
  parseReset,
  parseWindowUpdate,
} from './frame-codec.js';

function decodeAll(message: Buffer): Array<[number, number, number, string]> {
  const out: Array<[number, number, number, string]> = [];
  decodeFrames(message, (type, flags, id, payload) => out.push([type, flags, id, payload.toString('latin1')]));
  return out;
}

describe('frame codec', () => {
  it('round-trips a batch of small and large frames in order', () => {
    const batch = new FrameBatch();
    const big = Buffer.alloc(50_000, 'x');
    batch.add(FrameType.RequestHead, 0, 1, Buffer.from('{"a":1}'));
    batch.add(FrameType.Data, 0, 1, big);
    batch.add(FrameType.Data, FLAG_END_STREAM, 1, null);
    batch.add(FrameType.WindowUpdate, 0, 0, Buffer.from([0, 0, 1, 0]));
    const message = batch.take()!;
    expect(message.length).toBe(4 * FRAME_HEADER_BYTES + 7 + 50_000 + 4);
    const frames = decodeAll(message);
    expect(frames.map(([t, f, id]) => [t, f, id])).toEqual([
      [FrameType.RequestHead, 0, 1],
      [FrameType.Data, 0, 1],
      [FrameType.Data, FLAG_END_STREAM, 1],
      [FrameType.WindowUpdate, 0, 0],
    ]);
    expect(frames[1]![3]).toBe(big.toString());
    expect(batch.take()).toBeNull();
  });

  it('never rewrites bytes of a message it already handed out', () => {
    const batch = new FrameBatch();
    batch.add(FrameType.Data, 0, 1, Buffer.from('first'));
    const first = batch.take()!;
    const copy = Buffer.from(first);
    for (let i = 0; i < 100; i++) batch.add(FrameType.Data, 0, 3, Buffer.from(`later-${i}`));
    batch.take();
    expect(first.equals(copy)).toBe(true);
  });

  it('rejects truncated headers, overrunning payloads, unknown types and empty messages', () => {
    const frame = encodeFrame(FrameType.Data, 0, 1, 'hello');
    expect(() => decodeAll(frame.subarray(0, 5))).toThrow(/truncated frame header/);
    expect(() => decodeAll(frame.subarray(0, frame.length - 1))).toThrow(/overruns/);
    expect(() => decodeAll(encodeFrame(99, 0, 1, 'x'))).toThrow(/unknown frame type 99/);
    expect(() => decodeAll(Buffer.alloc(0))).toThrow(/empty/);
  });

  it('reads random garbage as either whole frames or a FrameError, never anything else', () => {
    const random = new SeededRandom(0xc0dec);
    const outcomes = { frames: 0, frameError: 0, other: [] as unknown[] };
    for (let i = 0; i < 5000; i++) {
      const garbage = random.bytes(1 + random.int(64));
      if (i % 3 === 0) garbage[0] = 1 + (i % 8);
      // Some inputs are one well-formed frame, so both outcomes are exercised.
      const input = i % 5 === 0 ? encodeFrame(1 + (i % 8), 0, i, garbage) : garbage;
      try {
        const frames = decodeAll(input);
        // Whatever decodes must be exactly the frames the bytes hold, end to end.
        expect(Buffer.concat(frames.map(([t, f, id, p]) => encodeFrame(t, f, id, Buffer.from(p, 'latin1')))).equals(input)).toBe(true);
        outcomes.frames++;
      } catch (error) {
        if (error instanceof FrameError) outcomes.frameError++;
        else outcomes.other.push(error);
      }
    }
    expect(outcomes.other).toEqual([]);
    expect(outcomes.frames).toBeGreaterThan(500);
    expect(outcomes.frameError).toBeGreaterThan(1000);
  });

  it('encodes control frames its parsers read back, and refuses malformed ones', () => {
    expect(parseReset(encodeReset(ResetCode.Cancel, 'client left'))).toEqual({ code: ResetCode.Cancel, reason: 'client left' });
    // A code this side does not know reads as Internal; the reason is kept, bounded.
    const unknown = Buffer.concat([Buffer.from([0, 0, 0, 99]), Buffer.from('x'.repeat(5000))]);
    expect(parseReset(unknown)).toEqual({ code: ResetCode.Internal, reason: 'x'.repeat(MAX_REASON_CHARS) });
    expect(() => parseReset(Buffer.from([0, 0]))).toThrow(FrameError);
    expect(parseWindowUpdate(encodeWindowUpdate(65536))).toBe(65536);
    expect(() => parseWindowUpdate(encodeWindowUpdate(0))).toThrow(/window update of 0/);
    expect(() => parseWindowUpdate(Buffer.alloc(5, 1))).toThrow(/4 bytes/);
    const goAway = { lastStreamId: 41, code: GoAwayCode.Drain, reason: 'shutting down' };
    expect(parseGoAway(0, encodeGoAway(goAway))).toEqual(goAway);
    expect(() => parseGoAway(1, encodeGoAway(goAway))).toThrow(/malformed go-away/);
    expect(() => parseGoAway(0, Buffer.alloc(7))).toThrow(/malformed go-away/);
  });
});

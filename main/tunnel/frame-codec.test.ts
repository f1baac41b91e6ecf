import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FLAG_END_STREAM, FRAME_HEADER_BYTES, FrameType } from '../../shared/tunnel-protocol.js';
import { decodeFrames, encodeFrame, FrameBatch, FrameError } from './frame-codec.js';

function decodeAll(message: Buffer): Array<[number, number, number, string]> {
  const out: Array<[number, number, number, string]> = [];
  decodeFrames(message, (type, flags, id, payload) => out.push([type, flags, id, payload.toString()]));
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

  it('survives random garbage with FrameError or valid frames only', () => {
    for (let i = 0; i < 5000; i++) {
      const garbage = randomBytes(1 + Math.floor(Math.random() * 64));
      if (i % 3 === 0) garbage[0] = 1 + (i % 8);
      try {
        decodeAll(garbage);
      } catch (error) {
        expect(error).toBeInstanceOf(FrameError);
      }
    }
  });
});

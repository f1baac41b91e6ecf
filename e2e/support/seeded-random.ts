/**
 * A small seeded pseudo-random generator (mulberry32) for fuzz tests: the same seed gives
 * the same inputs on every run, so a failure found once is found again.
 */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, max). */
  int(max: number): number {
    return Math.floor(this.next() * max);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i++) out[i] = this.int(256);
    return out;
  }

  /** A copy of `input` with a few bytes flipped, dropped, duplicated or inserted. */
  mutate(input: Buffer): Buffer {
    let out = Buffer.from(input);
    const edits = 1 + this.int(4);
    for (let e = 0; e < edits; e++) {
      const at = out.length === 0 ? 0 : this.int(out.length);
      switch (this.int(4)) {
        case 0:
          if (out.length > 0) out[at] = this.int(256);
          break;
        case 1:
          out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + this.int(8))]);
          break;
        case 2:
          out = Buffer.concat([out.subarray(0, at), out.subarray(at, at + 1 + this.int(8)), out.subarray(at)]);
          break;
        default:
          out = Buffer.concat([out.subarray(0, at), this.bytes(1 + this.int(8)), out.subarray(at)]);
      }
    }
    return out;
  }
}

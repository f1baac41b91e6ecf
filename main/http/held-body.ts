/**
 * Request bodies held in memory until they can be sent on, counted against one budget per
 * process. The gateway holds a body until it knows the `model` to route by (and, for a
 * request it translates, what the translation builds, and the answer it collects to
 * translate back); the connector until it has rewritten that `model`. Without a shared cap, many bodies at once — each
 * under the per-request limit — could take all the memory there is; with it, the request
 * that would cross the cap is refused and everything already held keeps going.
 */

/** A count of bytes held at once, with a ceiling. */
export class ByteBudget {
  held = 0;

  constructor(readonly limit: number) {}

  /** Takes `bytes` from the budget; false (taking nothing) when they do not fit. */
  tryReserve(bytes: number): boolean {
    if (this.held + bytes > this.limit) return false;
    this.held += bytes;
    return true;
  }

  release(bytes: number): void {
    this.held -= bytes;
  }
}

/** One request's body as the chunks it arrived in (never copied into one buffer unless asked). */
export class HeldBody {
  chunks: Buffer[] = [];
  /** Bytes received so far. */
  size = 0;
  /** Bytes this body holds of the budget. */
  private reserved = 0;
  /** Of those, the ones held for what was built from the body (see holdExtra). */
  private extra = 0;

  constructor(private readonly budget: ByteBudget) {}

  /** Keeps `chunk`; false (keeping nothing) when the budget cannot hold it. */
  add(chunk: Buffer): boolean {
    if (!this.budget.tryReserve(chunk.length)) return false;
    this.reserved += chunk.length;
    this.chunks.push(chunk);
    this.size += chunk.length;
    return true;
  }

  /** The whole body as one buffer (a copy only when it arrived in several chunks). */
  toBuffer(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
  }

  /** Copies body bytes `[start, end)` into `target` at `at`; returns where the copy ended. */
  copyTo(target: Buffer, at: number, start: number, end: number): number {
    let offset = 0;
    for (const chunk of this.chunks) {
      const chunkEnd = offset + chunk.length;
      if (chunkEnd > start && offset < end) {
        at += chunk.copy(target, at, Math.max(start - offset, 0), Math.min(end, chunkEnd) - offset);
      }
      if (chunkEnd >= end) break;
      offset = chunkEnd;
    }
    return at;
  }

  /** Body bytes `[start, end)` as a new buffer. */
  slice(start: number, end: number): Buffer {
    const out = Buffer.allocUnsafe(end - start);
    this.copyTo(out, 0, start, end);
    return out;
  }

  /** Lets go of the chunks (the caller made what it sends from them); the budget stays held. */
  dropChunks(): void {
    this.chunks = [];
  }

  /**
   * Holds `bytes` of the budget on top of the body's own, for what is built from the body
   * and lives as long as it (a translation's parsed request and the body it sends instead);
   * false, holding nothing more, when they do not fit. Asked again (a retry over another
   * tunnel builds it again), it holds the larger of the two amounts, not their sum.
   */
  holdExtra(bytes: number): boolean {
    if (bytes <= this.extra) return true;
    if (!this.budget.tryReserve(bytes - this.extra)) return false;
    this.reserved += bytes - this.extra;
    this.extra = bytes;
    return true;
  }

  /** Gives the bytes back to the budget and lets go of the chunks. Safe to call twice. */
  release(): void {
    this.budget.release(this.reserved);
    this.reserved = 0;
    this.extra = 0;
    this.chunks = [];
  }
}

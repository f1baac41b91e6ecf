/**
 * One flow-control window, both directions: how many bytes we may still send (the peer's
 * credit to us) and how many the peer may still send (our credit to it). The connection
 * (stream 0) and every stream each hold one, so the rules live here once:
 *
 * - sending spends credit; a window update grants more, and a window above 2^31-1 is a
 *   protocol error (as in HTTP/2);
 * - receiving spends the peer's credit; data beyond it is an overrun;
 * - credit goes back only for bytes the reader has consumed, and only once a quarter of
 *   the window is consumed, so a busy stream sends one window update per quarter window
 *   rather than one per chunk.
 */

/** Largest window either side may hold (HTTP/2's limit, and what fits a u32 increment safely). */
export const MAX_WINDOW = 0x7fffffff;

export class FlowWindow {
  private sendCredit: number;
  private recvCredit: number;
  private unacked = 0;
  private readonly creditThreshold: number;

  /**
   * @param sendInitial what the peer said it accepts at first
   * @param recvInitial what we accept at first (and the size the quarter rule is taken of)
   */
  constructor(sendInitial: number, recvInitial: number) {
    this.sendCredit = sendInitial;
    this.recvCredit = recvInitial;
    this.creditThreshold = recvInitial / 4;
  }

  /** Bytes we may send now (zero or less: wait for a window update). */
  get sendable(): number {
    return this.sendCredit;
  }

  /** We sent `bytes`. */
  spend(bytes: number): void {
    this.sendCredit -= bytes;
  }

  /**
   * The peer granted `increment` more bytes (or, negative, announced a smaller initial
   * window than we assumed). False when the window would exceed {@link MAX_WINDOW}.
   */
  grant(increment: number): boolean {
    this.sendCredit += increment;
    return this.sendCredit <= MAX_WINDOW;
  }

  /** `bytes` arrived from the peer. False when that is more than we allowed (an overrun). */
  receive(bytes: number): boolean {
    this.recvCredit -= bytes;
    return this.recvCredit >= 0;
  }

  /**
   * Our reader handed `bytes` on. Returns the credit to announce to the peer now: zero
   * until a quarter of the window has been consumed since the last announcement.
   */
  consume(bytes: number): number {
    this.unacked += bytes;
    if (this.unacked < this.creditThreshold) return 0;
    const increment = this.unacked;
    this.unacked = 0;
    this.recvCredit += increment;
    return increment;
  }
}

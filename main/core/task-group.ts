import type { Logger } from '../logging/logger.js';

/**
 * The background work a service started — promises it does not await on the spot, and
 * timers — kept in one place so that stopping the service cancels all of it (through one
 * AbortSignal) and waits until every piece has settled. Nothing here is ever left as a
 * floating promise: a failure is logged with the task's label.
 */
export class TaskGroup {
  private controller = new AbortController();
  private readonly running = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly log: Logger) {}

  /** Aborted when the group stops. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Starts `work` now. */
  run(label: string, work: (signal: AbortSignal) => Promise<unknown>): void {
    this.track(label, work(this.controller.signal));
  }

  /** Starts `work` once every task queued before it has settled (events applied in order). */
  queue(label: string, work: (signal: AbortSignal) => Promise<unknown>): void {
    const signal = this.controller.signal;
    const next = this.tail.then(() => work(signal));
    this.tail = next.then(() => undefined, () => undefined);
    this.track(label, next);
  }

  /** Calls `work` every `ms` until the group stops; a call still running is not overlapped. */
  every(label: string, ms: number, work: () => unknown): void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      this.track(label, Promise.resolve().then(work).finally(() => (busy = false)));
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  /** Aborts the signal, clears the timers, waits for every task; the group can then be used again. */
  async stop(): Promise<void> {
    this.controller.abort();
    for (const timer of this.timers) clearInterval(timer);
    this.timers.clear();
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
    this.controller = new AbortController();
  }

  private track(label: string, work: Promise<unknown>): void {
    const settled = work.then(
      () => undefined,
      (error: unknown) => this.log.error(`${label} failed: ${error instanceof Error ? error.message : String(error)}`),
    );
    this.running.add(settled);
    void settled.finally(() => this.running.delete(settled));
  }
}

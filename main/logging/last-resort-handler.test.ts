import { afterEach, describe, expect, it, vi } from 'vitest';
import { addLogSink, Logger, type LogRecord } from './logger.js';
import { EXIT_SOFTWARE, lastResortPolicy } from './last-resort-handler.js';

describe('last-resort handler', () => {
  it('logs an escaped error on one redacted line and keeps the process up, until errors come in a burst', () => {
    const lines: LogRecord[] = [];
    const remove = addLogSink((record) => lines.push(record));
    let now = 0;
    const exits: number[] = [];
    try {
      const handle = lastResortPolicy({ log: new Logger('test'), maxPerMinute: 3, exit: (code) => exits.push(code), now: () => now });
      const error = new Error('boom with tt-AAAAAAAAAAAAAAAAAAAAAAAA\nforged line');
      for (let i = 0; i < 3; i++) {
        handle('uncaught exception', error);
        now += 30_000;
      }
      // Three spread over 90 s: never more than three within a minute.
      expect(exits).toEqual([]);
      const logged = lines.filter((l) => l.component === 'test');
      expect(logged[0]!.message).toMatch(/^uncaught exception .*boom with tt-\[redacted\]\\nforged line/);
      expect(logged.every((l) => !l.message.includes('\n'))).toBe(true);
      for (let i = 0; i < 3; i++) handle('unhandled rejection', 'again');
      expect(exits).toEqual([EXIT_SOFTWARE]);
    } finally {
      remove();
    }
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('lets the process stop what it runs before exiting, for a bounded time', async () => {
    vi.useFakeTimers();
    const exits: number[] = [];
    const burst = (beforeExit: () => Promise<unknown>): void => {
      const handle = lastResortPolicy({ log: new Logger('test'), maxPerMinute: 1, exit: (code) => exits.push(code), beforeExit, exitDeadlineMs: 5000, now: () => 0 });
      handle('uncaught exception', new Error('one'));
      handle('uncaught exception', new Error('two'));
    };
    // Stopped in time: the exit follows at once.
    let stop = (): void => {};
    burst(() => new Promise<void>((resolve) => (stop = resolve)));
    await vi.advanceTimersByTimeAsync(1000);
    expect(exits).toEqual([]);
    stop();
    await vi.advanceTimersByTimeAsync(0);
    expect(exits).toEqual([EXIT_SOFTWARE]);
    // Never stops: it exits at the deadline all the same.
    burst(() => new Promise<void>(() => undefined));
    await vi.advanceTimersByTimeAsync(4999);
    expect(exits).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(exits).toEqual([EXIT_SOFTWARE, EXIT_SOFTWARE]);
  });
});

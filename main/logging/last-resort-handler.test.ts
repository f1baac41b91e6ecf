import { describe, expect, it } from 'vitest';
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
});

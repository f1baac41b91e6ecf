import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mintSecret } from '../gateway/secrets.js';
import { addLogSink, Logger, peerText, redact, REPEAT_WINDOW_MS, type LogRecord } from './logger.js';

let lines: string[] = [];
let removeSink: () => void = () => {};
beforeEach(() => {
  lines = [];
  removeSink = addLogSink((record: LogRecord) => lines.push(`${record.level} ${record.message}`));
});
afterEach(() => {
  removeSink();
  vi.useRealTimers();
});

describe('peerText', () => {
  it('keeps a peer string on one line: line breaks, controls, quotes and separators escaped', () => {
    const forged = 'bye\n2026-01-01T00:00:00.000Z INFO  [gateway:1] deployment bound\r\u0001"\\\u2028\u202e';
    const safe = peerText(forged);
    expect([...safe].filter((c) => c.charCodeAt(0) < 0x20 || c === '\u2028' || c === '\u202e')).toEqual([]);
    expect(safe).toBe('bye\\n2026-01-01T00:00:00.000Z INFO  [gateway:1] deployment bound\\r\\u0001\\"\\\\\\u2028\\u202e');
  });

  it('bounds the length and says how long the string was', () => {
    const safe = peerText('x'.repeat(10_000));
    expect(safe.startsWith('x'.repeat(200))).toBe(true);
    expect(safe).toMatch(/… \(10000 characters\)$/);
    expect(peerText('plain reason')).toBe('plain reason');
  });

  it('makes one log record of a hostile reason', () => {
    new Logger('test').info(`closed: ${peerText('a\nWARN forged')}`);
    expect(lines).toEqual(['info closed: a\\nWARN forged']);
  });
});

describe('warnRepeated', () => {
  it('logs the first of a kind, counts the rest of the window, and sums them up when it closes', () => {
    vi.useFakeTimers();
    const log = new Logger('test');
    for (let i = 1; i <= 39; i++) log.warnRepeated('rejected-token 10.0.0.1', `tunnel from 10.0.0.1 rejected (#${i})`);
    expect(lines).toEqual(['warn tunnel from 10.0.0.1 rejected (#1)']);
    vi.advanceTimersByTime(REPEAT_WINDOW_MS - 1);
    expect(lines).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(lines).toEqual(['warn tunnel from 10.0.0.1 rejected (#1)', 'warn tunnel from 10.0.0.1 rejected (#39) (and 37 more in the last 10 s)']);
    // The window is closed: the next one is logged at once again.
    log.warnRepeated('rejected-token 10.0.0.1', 'tunnel from 10.0.0.1 rejected (#40)');
    expect(lines.at(-1)).toBe('warn tunnel from 10.0.0.1 rejected (#40)');
  });

  it('keeps kinds apart, and logs nothing more for a kind that did not repeat', () => {
    vi.useFakeTimers();
    const log = new Logger('test');
    log.warnRepeated('protocol-error 10.0.0.1', 'a');
    log.warnRepeated('protocol-error 10.0.0.2', 'b');
    log.warnRepeated('protocol-error 10.0.0.2', 'b again');
    expect(lines).toEqual(['warn a', 'warn b']);
    vi.advanceTimersByTime(REPEAT_WINDOW_MS);
    expect(lines).toEqual(['warn a', 'warn b', 'warn b again']);
  });

  it('runs on the clock it is given', () => {
    const pending: Array<() => void> = [];
    const log = new Logger('test', { schedule: (fn) => pending.push(fn) });
    log.warnRepeated('k', 'one');
    log.warnRepeated('k', 'two');
    log.warnRepeated('k', 'three');
    expect(lines).toEqual(['warn one']);
    pending.shift()!();
    expect(lines).toEqual(['warn one', 'warn three (and 1 more in the last 10 s)']);
  });
});

describe('one record, one line', () => {
  it('escapes a line break that reached the logger unescaped', () => {
    new Logger('test').warn('reset mid-response: x\n2026-01-01T00:00:00.000Z ERROR [gateway:1] forged\r\u2028');
    expect(lines).toEqual(['warn reset mid-response: x\\n2026-01-01T00:00:00.000Z ERROR [gateway:1] forged\\r\\u2028']);
  });

  it('escapes C1 controls, ESC and DEL, which terminals act on, wherever they come from', () => {
    // 0x9b is a one-byte CSI: on terminals that honour C1 it clears the screen or recolours lines.
    new Logger('test').warn('origin http://a\u009b2J\u009b31mFORGED \u001b[2K\u007f\u0085 tab\tkept');
    expect(lines).toEqual(['warn origin http://a\\u009b2J\\u009b31mFORGED \\u001b[2K\\u007f\\u0085 tab\tkept']);
  });
});

describe('redact', () => {
  const token = mintSecret('tunnel-token');
  const key = mintSecret('api-key');
  it.each([
    ['on its own', `token ${token} rejected`],
    ['right after a letter', `authorization: Bearer${key}`],
    ['right after an underscore', `GET /x?api_key_${key}`],
    ['right after a digit (a percent-encoded quote)', `body=%7B%22tunnel_token%22%3A%22${token}%22%7D`],
    ['glued to text after it', `${token}_and_more`],
  ])('removes a secret %s', (_where, line) => {
    const out = redact(line);
    expect(out).not.toContain(token.slice(3, 20));
    expect(out).not.toContain(key.slice(10, 27));
    expect(out).toMatch(/(tt-|sk-tokios-)\[redacted\]/);
  });

  it('keeps words that merely contain a prefix', () => {
    for (const text of ['Scott-Smith wrote', 'matt-finish and butt-joint', 'sk-tokios-short']) expect(redact(text)).toBe(text);
  });
});

/**
 * One logger per topic; every line is tagged with the component and pid, and secrets are
 * redacted here, at the logger, so no call site has to remember to. Two more defences live
 * here once: `peerText` makes a string a peer sent safe for one log line (no forged lines),
 * and `warnRepeated` turns a flood of the same warning into one line per window with a
 * count (no log flood from a peer that retries a wrong secret or a broken frame).
 */

import { API_KEY_PREFIX, MIN_SECRET_BODY_CHARS, TUNNEL_TOKEN_PREFIX } from '../../shared/names.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogRecord {
  time: number;
  level: LogLevel;
  component: string;
  pid: number;
  message: string;
}

export type LogSink = (record: LogRecord) => void;

/**
 * Anything shaped like a tunnel token or API key, wherever it appears in a message: glued
 * to a word (`Bearersk-tokios-…`, `api_key_sk-tokios-…`, `%22tt-…` in an encoded body) as
 * much as on its own, so no word boundary is asked for. What keeps words like `Scott-…`
 * whole is the body's length: at least the shortest one the gateway accepts as a secret
 * (minted ones have 43 characters).
 */
const SECRET_PATTERN = new RegExp(`(${TUNNEL_TOKEN_PREFIX}|${API_KEY_PREFIX})[A-Za-z0-9_-]{${MIN_SECRET_BODY_CHARS},}`, 'g');
const extraSecrets = new Set<string>();

/** Redacts a secret that does not look like one of ours (an upstream's own key, say). */
export function registerSecret(secret: string): void {
  if (secret.length >= 8) extraSecrets.add(secret);
}

export function redact(text: string): string {
  let out = text.replace(SECRET_PATTERN, (_match, prefix: string) => `${prefix}[redacted]`);
  for (const secret of extraSecrets) if (out.includes(secret)) out = out.split(secret).join('[redacted]');
  return out;
}

/** A server's URL as it may be shown (`what` names it when it does not parse): without its password. */
export function redactUrl(url: string, what: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return `(a ${what} URL that does not parse)`;
  }
}

/** Characters that could end a log line, rewrite it on a terminal, or reorder it visually. */
const UNSAFE_EXTRA = /[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
/** Longest peer string a log line carries. */
export const MAX_PEER_TEXT = 200;

/**
 * A string a peer sent (a reason, a version, a name), made safe for a log line: quotes,
 * backslashes and control characters escaped the JSON way (a newline becomes `\n`), line
 * and bidirectional separators as `\uXXXX`, cut to `max` characters with the full length
 * said. Every call site that logs peer text passes it through here.
 */
export function peerText(text: unknown, max = MAX_PEER_TEXT): string {
  const value = typeof text === 'string' ? text : String(text);
  const cut = value.length > max ? value.slice(0, max) : value;
  const escaped = JSON.stringify(cut)
    .slice(1, -1)
    .replace(UNSAFE_EXTRA, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return value.length > max ? `${escaped}… (${value.length} characters)` : escaped;
}

/**
 * What would start a new line in a log file or drive a terminal: C0 controls but the tab
 * (a newline, ESC), DEL, C1 controls (0x80–0x9f: 0x85 is a line break, 0x9b opens a
 * control sequence on terminals that honour C1) and the Unicode line separators.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is what it is for
const UNSAFE_IN_LINE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/;
const UNSAFE_IN_LINE_ALL = new RegExp(UNSAFE_IN_LINE.source, 'g');
const SHORT_ESCAPES: Record<string, string> = { '\r': '\\r', '\n': '\\n' };

/**
 * One record is one line that cannot rewrite the terminal showing it, whatever a call site
 * forgot: a control character that reached the logger unescaped is escaped here (peerText
 * does this and more for peer strings).
 */
function oneLine(text: string): string {
  if (!UNSAFE_IN_LINE.test(text)) return text;
  return text.replace(UNSAFE_IN_LINE_ALL, (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** When repeated warnings are summed up; tests pass a fake one. */
export interface LogClock {
  /** Runs `fn` once after `ms`, without keeping the process alive. */
  schedule(fn: () => void, ms: number): void;
}

const timerClock: LogClock = {
  schedule(fn, ms) {
    setTimeout(fn, ms).unref();
  },
};

/** How long one kind of repeated warning is held back after it was logged. */
export const REPEAT_WINDOW_MS = 10_000;

/** Open windows of repeated warnings, by component and kind (shared by every Logger). */
const repeats = new Map<string, { suppressed: number; latest: string }>();

function levelFromEnv(): LogLevel {
  const value = process.env.TOKIOS_LOG_LEVEL;
  return value === 'debug' || value === 'info' || value === 'warn' || value === 'error' ? value : 'info';
}

let minLevel: LogLevel = levelFromEnv();
let sinks: LogSink[] = [stderrSink];

function stderrSink(record: LogRecord): void {
  const time = new Date(record.time).toISOString();
  process.stderr.write(`${time} ${record.level.toUpperCase().padEnd(5)} [${record.component}:${record.pid}] ${record.message}\n`);
}

export function setLogLevel(level: LogLevel): void {
  minLevel = level;
}

export function addLogSink(sink: LogSink): () => void {
  sinks = [...sinks, sink];
  return () => {
    sinks = sinks.filter((s) => s !== sink);
  };
}

export class Logger {
  constructor(
    readonly component: string,
    private readonly clock: LogClock = timerClock,
  ) {}

  debug(message: string): void {
    this.log('debug', message);
  }
  info(message: string): void {
    this.log('info', message);
  }
  warn(message: string): void {
    this.log('warn', message);
  }
  error(message: string): void {
    this.log('error', message);
  }

  /**
   * A warning that may come in floods (a peer breaking the protocol, a wrong secret tried
   * again and again): the first of `kind` is logged at once, the others within the next
   * {@link REPEAT_WINDOW_MS} are counted, and the window closes with the latest one and
   * the count: `… (and 37 more in the last 10 s)`. `kind` says what repeats (e.g.
   * `rejected-token 203.0.113.9`); messages of different kinds never hold each other back.
   */
  warnRepeated(kind: string, message: string): void {
    this.repeated('warn', kind, message);
  }

  /** An error a peer could make happen again and again (a bug one request meets), held back like {@link warnRepeated}. */
  errorRepeated(kind: string, message: string): void {
    this.repeated('error', kind, message);
  }

  private repeated(level: 'warn' | 'error', kind: string, message: string): void {
    if (LEVEL_ORDER[level] < LEVEL_ORDER[minLevel]) return;
    const key = `${this.component}\u0000${level}\u0000${kind}`;
    const open = repeats.get(key);
    if (open) {
      open.suppressed++;
      open.latest = message;
      return;
    }
    repeats.set(key, { suppressed: 0, latest: message });
    this.log(level, message);
    this.clock.schedule(() => {
      const closed = repeats.get(key);
      repeats.delete(key);
      if (!closed || closed.suppressed === 0) return;
      const more = closed.suppressed - 1;
      this.log(level, more > 0 ? `${closed.latest} (and ${more} more in the last ${REPEAT_WINDOW_MS / 1000} s)` : closed.latest);
    }, REPEAT_WINDOW_MS);
  }

  log(level: LogLevel, message: string): void {
    if (LEVEL_ORDER[level] < LEVEL_ORDER[minLevel]) return;
    const record: LogRecord = { time: Date.now(), level, component: this.component, pid: process.pid, message: oneLine(redact(message)) };
    for (const sink of sinks) sink(record);
  }

  child(component: string): Logger {
    return new Logger(`${this.component}/${component}`, this.clock);
  }
}

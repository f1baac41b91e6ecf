/**
 * One logger per topic; every line is tagged with the component and pid, and secrets are
 * redacted here, at the logger, so no call site has to remember to.
 */

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

/** Anything shaped like a tunnel token or API key, wherever it appears in a message. */
const SECRET_PATTERN = /\b(tt-|sk-tokios-)[A-Za-z0-9_-]{8,}/g;
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
  constructor(readonly component: string) {}

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

  log(level: LogLevel, message: string): void {
    if (LEVEL_ORDER[level] < LEVEL_ORDER[minLevel]) return;
    const record: LogRecord = { time: Date.now(), level, component: this.component, pid: process.pid, message: redact(message) };
    for (const sink of sinks) sink(record);
  }

  child(component: string): Logger {
    return new Logger(`${this.component}/${component}`);
  }
}

import { EventEmitter } from 'node:events';
import type { LogLevel, LogLine } from '../../shared/api.js';
import { addLogSink, redact, type LogRecord } from '../logging/logger.js';

/**
 * The Logs view's memory: the recent lines of the app, of its embedded gateway and of each
 * connector worker, already redacted. Lines reach the page in small batches (a busy worker
 * must not mean one event per line).
 *
 * Events: 'appended' (LogLine[]).
 */

const PER_SOURCE = 500;
const BATCH_MS = 200;
/** What the logger writes: `2026-11-26T09:00:00.000Z INFO  [connector:gemma:123] message`. */
const LINE = /^(\d{4}-\d\d-\d\dT[\d:.]+Z)\s+(DEBUG|INFO|WARN|ERROR)\s+(.*)$/;

export class LogBuffer extends EventEmitter<{ appended: [LogLine[]] }> {
  private seq = 0;
  private readonly lines = new Map<string, LogLine[]>();
  private pending: LogLine[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly detach: () => void;

  /** Collects this process's log records from now on; `close()` stops. */
  constructor() {
    super();
    this.detach = addLogSink((record) => this.fromRecord(record));
  }

  /** A line a worker of deployment `source` wrote to its stdout or stderr. */
  fromWorker(source: string, raw: string): void {
    const match = LINE.exec(raw);
    if (match) this.add(source, Date.parse(match[1]!), match[2]!.toLowerCase() as LogLevel, match[3]!);
    else this.add(source, Date.now(), /error|exception/i.test(raw) ? 'error' : 'info', raw);
  }

  list(): LogLine[] {
    return [...this.lines.values()].flat().sort((a, b) => a.seq - b.seq);
  }

  /** Drops a removed deployment's lines. */
  forget(source: string): void {
    this.lines.delete(source);
  }

  close(): void {
    this.detach();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private fromRecord(record: LogRecord): void {
    // The embedded gateway logs under `<app>/gateway`; everything else in-process is the app.
    const source = record.component.split('/').includes('gateway') ? 'gateway' : 'app';
    this.add(source, record.time, record.level, `[${record.component}] ${record.message}`);
  }

  private add(source: string, time: number, level: LogLevel, text: string): void {
    const line: LogLine = { seq: ++this.seq, time, level, source, text: redact(text) };
    const list = this.lines.get(source) ?? [];
    list.push(line);
    if (list.length > PER_SOURCE) list.splice(0, list.length - PER_SOURCE);
    this.lines.set(source, list);
    this.pending.push(line);
    this.timer ??= setTimeout(() => {
      this.timer = null;
      const batch = this.pending;
      this.pending = [];
      this.emit('appended', batch);
    }, BATCH_MS);
  }
}

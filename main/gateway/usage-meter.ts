import { randomUUID } from 'node:crypto';
import { appendFileSync, readFileSync, renameSync, rmSync } from 'node:fs';
import type { Logger } from '../logging/logger.js';
import type { GatewayStore, UsageRow } from './gateway-store.js';
import { addUsage } from './usage-file.js';

/**
 * Counts traffic per account × key × deployment × minute in memory and writes the rows to
 * the store in one batch every `flushMs` (and on close), so a request costs a map update,
 * never a store write. Queries see the store's rows plus what is not written yet.
 *
 * Nothing counted is dropped: a batch whose write failed (the database is away) is kept, as
 * it was and with its id, and written first next time — a store that remembers batch ids
 * then cannot count it twice, even when only the answer to the first write was lost. A
 * gateway stopping while its store is away writes what is left to `spillFile`, and the next
 * one to start on that folder writes it to the store.
 */

export interface UsageEvent {
  accountId: string;
  keyId: string;
  /** The deployment asked for ('' when the request named none). */
  deployment: string;
  status: number;
  inputTokens: number;
  outputTokens: number;
  /** Time to the first byte of the answer, when one came. */
  ttftMs: number | null;
  durationMs: number;
}

export interface UsageMeterOptions {
  log: Logger;
  flushMs?: number;
  now?: () => number;
  /** Where rows that could not be written at shutdown wait for the next start (JSON lines). */
  spillFile?: string;
}

/** The last complete minute's traffic of one deployment, for the live views. */
export interface RecentRate {
  requestsPerMinute: number;
  tokensPerSecond: number | null;
}

interface Recent {
  minute: number;
  requests: number;
  outputTokens: number;
  previous: { minute: number; requests: number; outputTokens: number } | null;
}

export class UsageMeter {
  private pending = new Map<string, UsageRow>();
  /** Batches taken for writing and not written yet, oldest first. */
  private unwritten: Array<{ id: string; rows: UsageRow[] }> = [];
  private failing = false;
  private readonly recent = new Map<string, Recent>();
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: GatewayStore,
    private readonly options: UsageMeterOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.timer = setInterval(() => void this.flush(), options.flushMs ?? 10_000);
    this.timer.unref();
    this.unspill();
  }

  record(event: UsageEvent): void {
    const now = this.now();
    const minute = now - (now % 60_000);
    const key = `${minute}\u0000${event.accountId}\u0000${event.keyId}\u0000${event.deployment}`;
    let row = this.pending.get(key);
    if (!row) {
      row = { minute, accountId: event.accountId, keyId: event.keyId, deployment: event.deployment, requests: 0, rateLimited: 0, clientErrors: 0, serverErrors: 0, inputTokens: 0, outputTokens: 0, ttftMsSum: 0, ttftCount: 0, durationMsSum: 0 };
      this.pending.set(key, row);
    }
    row.requests++;
    if (event.status === 429) row.rateLimited++;
    else if (event.status >= 500) row.serverErrors++;
    else if (event.status >= 400) row.clientErrors++;
    row.inputTokens += event.inputTokens;
    row.outputTokens += event.outputTokens;
    if (event.ttftMs !== null) {
      row.ttftMsSum += event.ttftMs;
      row.ttftCount++;
    }
    row.durationMsSum += event.durationMs;
    if (event.deployment) this.noteRecent(event.accountId, event.deployment, minute, event.outputTokens);
  }

  /** Rows of `accountId` in [from, to): what the store has plus what is not written yet. */
  async query(accountId: string, from: number, to: number): Promise<UsageRow[]> {
    await this.writing;
    const stored = await this.store.usage(accountId, from, to);
    const pending = [...this.unwritten.flatMap((b) => b.rows), ...this.pending.values()].filter((r) => r.accountId === accountId && r.minute >= from && r.minute < to).map((r) => ({ ...r }));
    return [...stored, ...pending];
  }

  /** Requests and tokens/s of the last complete minute (this gateway's traffic). */
  recentRate(accountId: string, deployment: string): RecentRate {
    const recent = this.recent.get(`${accountId}\u0000${deployment}`);
    const lastMinute = this.now() - (this.now() % 60_000) - 60_000;
    const last = recent?.minute === lastMinute ? recent : recent?.previous?.minute === lastMinute ? recent.previous : null;
    if (!last) return { requestsPerMinute: 0, tokensPerSecond: null };
    return { requestsPerMinute: last.requests, tokensPerSecond: last.outputTokens > 0 ? last.outputTokens / 60 : null };
  }

  /** Writes every row counted so far: the batches kept from failed writes first, then one new batch. */
  flush(): Promise<void> {
    if (this.pending.size > 0) {
      this.unwritten.push({ id: randomUUID(), rows: [...this.pending.values()] });
      this.pending = new Map();
    }
    if (this.unwritten.length === 0) return this.writing;
    this.writing = this.writing.then(async () => {
      while (this.unwritten.length > 0) {
        const batch = this.unwritten[0]!;
        try {
          await this.store.appendUsage(batch.rows, batch.id);
        } catch (error) {
          if (!this.failing) this.options.log.warn(`could not write usage (${this.unwrittenRows} rows kept for the next try): ${(error as Error).message}`);
          this.failing = true;
          return;
        }
        this.unwritten.shift();
        if (this.failing) this.options.log.info('usage written again: nothing counted meanwhile was lost');
        this.failing = false;
      }
    });
    return this.writing;
  }

  /** Writes what is left; what the store would not take goes to the spill file. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    if (this.unwritten.length === 0 || !this.options.spillFile) return;
    const rows = this.unwritten.flatMap((b) => b.rows);
    appendFileSync(this.options.spillFile, rows.map((r) => JSON.stringify(r)).join('\n') + '\n', { mode: 0o600 });
    this.options.log.warn(`the store did not take ${rows.length} usage rows before stopping; they wait in ${this.options.spillFile} for the next start`);
    this.unwritten = [];
  }

  private get unwrittenRows(): number {
    return this.unwritten.reduce((sum, b) => sum + b.rows.length, 0);
  }

  /** Rows a previous run could not write: counted again from here (the file is removed once read). */
  private unspill(): void {
    const file = this.options.spillFile;
    if (!file) return;
    const taken = `${file}.${process.pid}`;
    try {
      renameSync(file, taken);
    } catch {
      return;
    }
    const rows: UsageRow[] = [];
    for (const line of readFileSync(taken, 'utf8').split('\n')) {
      if (!line) continue;
      try {
        rows.push(JSON.parse(line) as UsageRow);
      } catch {
        // a line cut short: the rest still counts
      }
    }
    // Merged like new traffic, so the usual flush writes them in a batch.
    for (const row of rows) {
      const key = `${row.minute}\u0000${row.accountId}\u0000${row.keyId}\u0000${row.deployment}`;
      const into = this.pending.get(key);
      if (into) addUsage(into, row);
      else this.pending.set(key, { ...row });
    }
    rmSync(taken, { force: true });
    this.options.log.info(`${rows.length} usage rows a previous run could not write are counted again (from ${file})`);
  }

  private noteRecent(accountId: string, deployment: string, minute: number, outputTokens: number): void {
    const key = `${accountId}\u0000${deployment}`;
    let recent = this.recent.get(key);
    if (!recent) this.recent.set(key, (recent = { minute, requests: 0, outputTokens: 0, previous: null }));
    if (recent.minute !== minute) {
      recent.previous = { minute: recent.minute, requests: recent.requests, outputTokens: recent.outputTokens };
      recent.minute = minute;
      recent.requests = 0;
      recent.outputTokens = 0;
    }
    recent.requests++;
    recent.outputTokens += outputTokens;
  }
}

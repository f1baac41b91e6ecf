import type { Logger } from '../logging/logger.js';
import type { GatewayStore, UsageRow } from './gateway-store.js';
import { addUsage } from './usage-file.js';

/**
 * Counts traffic per account × key × deployment × minute in memory and writes the rows to
 * the store in one batch every `flushMs` (and on close), so a request costs a map update,
 * never a store write. Queries see the store's rows plus what is not written yet. A failed
 * write keeps its rows for the next one: nothing counted is dropped.
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
    const pending = [...this.pending.values()].filter((r) => r.accountId === accountId && r.minute >= from && r.minute < to).map((r) => ({ ...r }));
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

  /** Writes every row counted so far in one store call. */
  flush(): Promise<void> {
    if (this.pending.size === 0) return this.writing;
    const batch = this.pending;
    this.pending = new Map();
    this.writing = this.writing.then(async () => {
      try {
        await this.store.appendUsage([...batch.values()]);
      } catch (error) {
        // Put the rows back: the next flush writes them with whatever came meanwhile.
        for (const [key, row] of batch) {
          const into = this.pending.get(key);
          if (into) addUsage(into, row);
          else this.pending.set(key, row);
        }
        this.options.log.warn(`could not write usage (${batch.size} rows kept for the next try): ${(error as Error).message}`);
      }
    });
    return this.writing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
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

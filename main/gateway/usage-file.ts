import { appendFileSync, statSync } from 'node:fs';
import { readFileIfExists, writeFileAtomic } from '../storage/atomic-file.js';
import { withFileLock } from '../storage/file-lock.js';
import type { UsageRow } from './gateway-store.js';

/**
 * The file store's usage rollups: `usage.jsonl`, one row per line, appended in batches by
 * the usage meter (never once per request). Rows older than two days are merged into
 * hourly rows and rows older than `retainDays` dropped when the file is compacted (at
 * start and then every few hours), so the file stays small for a busy gateway.
 */

const MINUTE_ROWS_KEPT_MS = 48 * 3_600_000;
const HOUR_MS = 3_600_000;

export class UsageFile {
  constructor(
    readonly file: string,
    private readonly retainDays = 400,
  ) {}

  async append(rows: readonly UsageRow[]): Promise<void> {
    if (rows.length === 0) return;
    const text = rows.map((row) => JSON.stringify(row)).join('\n') + '\n';
    await withFileLock(this.file, () => appendFileSync(this.file, text, { mode: 0o600 }));
  }

  /** Rows of one account in [from, to); unreadable lines (a torn write) are skipped. */
  read(accountId: string, from: number, to: number): UsageRow[] {
    const out: UsageRow[] = [];
    for (const row of this.rows()) if (row.accountId === accountId && row.minute >= from && row.minute < to) out.push(row);
    return out;
  }

  /** Merges old minute rows into hours and drops expired ones; returns rows kept. */
  async compact(now = Date.now()): Promise<number> {
    return withFileLock(this.file, () => {
      const rows = this.rows();
      if (rows.length === 0) return 0;
      const minuteCutoff = now - MINUTE_ROWS_KEPT_MS;
      const dropBefore = now - this.retainDays * 86_400_000;
      const merged = new Map<string, UsageRow>();
      for (const row of rows) {
        if (row.minute < dropBefore) continue;
        const bucket = row.minute < minuteCutoff ? row.minute - (row.minute % HOUR_MS) : row.minute;
        const key = `${bucket}\u0000${row.accountId}\u0000${row.keyId}\u0000${row.deployment}`;
        const into = merged.get(key);
        if (into) addUsage(into, row);
        else merged.set(key, { ...row, minute: bucket });
      }
      if (merged.size === rows.length) return rows.length;
      writeFileAtomic(this.file, [...merged.values()].map((row) => JSON.stringify(row)).join('\n') + '\n');
      return merged.size;
    });
  }

  size(): number {
    try {
      return statSync(this.file).size;
    } catch {
      return 0;
    }
  }

  private rows(): UsageRow[] {
    const text = readFileIfExists(this.file);
    if (!text) return [];
    const out: UsageRow[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        const row = JSON.parse(line) as UsageRow;
        if (typeof row.minute === 'number' && typeof row.accountId === 'string') out.push(row);
      } catch {
        // A line cut short by a crash mid-append: the rest of the file is still good.
      }
    }
    return out;
  }
}

/** Adds `row`'s counts into `into` (same bucket). */
export function addUsage(into: UsageRow, row: UsageRow): void {
  into.requests += row.requests;
  into.rateLimited += row.rateLimited;
  into.clientErrors += row.clientErrors;
  into.serverErrors += row.serverErrors;
  into.inputTokens += row.inputTokens;
  into.outputTokens += row.outputTokens;
  into.ttftMsSum += row.ttftMsSum;
  into.ttftCount += row.ttftCount;
  into.durationMsSum += row.durationMsSum;
}

import { readdirSync, readFileSync } from 'node:fs';

/**
 * The faults suite's ledger: for every scenario, what was tried, how many times, what
 * survived, what was lost (the goal: nothing), and the figures it measured.
 */

export interface FaultRow {
  area: 'faults' | 'bad input';
  scenario: string;
  tried: number;
  survived: number;
  /** Requests lost, processes crashed, files changed, secrets leaked… anything that must be 0. */
  lost: number;
  figures: string;
}

export type Scale = 'quick' | 'full';

export class FaultReport {
  readonly rows: FaultRow[] = [];

  add(row: FaultRow): FaultRow {
    this.rows.push(row);
    process.stderr.write(`faults: ${row.scenario}: ${row.survived}/${row.tried} survived, ${row.lost} lost${row.figures ? ` — ${row.figures}` : ''}\n`);
    return row;
  }

  get failed(): FaultRow[] {
    return this.rows.filter((r) => r.lost > 0 || r.survived < r.tried);
  }

  table(): string {
    const header = '| area | what was tried | times | survived | lost | figures |';
    const lines = this.rows.map((r) => `| ${r.area} | ${r.scenario} | ${r.tried} | ${r.survived} | ${r.lost} | ${r.figures} |`);
    return [header, '|---|---|---|---|---|---|', ...lines].join('\n');
  }
}

/** Open file descriptors of `pid`. */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function rss(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? 0) * 1024;
}

export function percentile(values: number[], p: number): number {
  if (!values.length) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until true or `timeoutMs` passes; returns whether it became true. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 25): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(everyMs);
  }
  return check();
}

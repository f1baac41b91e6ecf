import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The bench's table: one row per figure, printed as Markdown and written to bench/results/. */

export type Cell = number | string | null;

export interface Row {
  figure: string;
  unit: string;
  direct: Cell;
  tokios: Cell;
  /** How tokios compares with direct, in the goal's terms. */
  versus: string;
  goal: string;
  met: boolean | null;
  peers: Record<string, Cell>;
}

export function fmt(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  const abs = Math.abs(value);
  return abs >= 1000 ? Math.round(value).toLocaleString('en-US') : abs >= 10 ? value.toFixed(1) : value.toFixed(2);
}

/** A difference with its sign: `+1.20`, `-0.35`. */
export function signed(value: number): string {
  return `${value >= 0 ? '+' : ''}${fmt(value)}`;
}

function cell(value: Cell): string {
  return value === null ? '' : typeof value === 'number' ? fmt(value) : value;
}

export function printReport(rows: Row[], notes: string[], peerNames: string[], started: number, quick: boolean, only: string | null): void {
  const header = ['figure', 'unit', 'direct', 'tokios', 'tokios vs direct', 'goal', 'met', ...peerNames];
  const table = rows.map((r) => [r.figure, r.unit, cell(r.direct), cell(r.tokios), r.versus, r.goal, r.met === null ? '' : r.met ? 'yes' : 'NO', ...peerNames.map((n) => cell(r.peers[n] ?? ''))]);
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...table.map((r) => `| ${r.join(' | ')} |`)];
  const seconds = Math.round((Date.now() - started) / 1000);
  const text = `${lines.join('\n')}\n\nPeer columns: the same figure for each peer (latencies as added over direct, rates as a ratio of direct, CPU in ms); empty where a peer was not measured.\n${notes.map((n) => `- ${n}`).join('\n')}\nMeasured ${new Date().toISOString()} on ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), Node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} at the end, in ${seconds} s${quick ? ' (quick run)' : ''}.\n`;
  process.stdout.write(`\n${text}`);
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const json = JSON.stringify({ measuredAt: new Date().toISOString(), quick, cores: os.cpus().length, node: process.version, loadAverage: os.loadavg(), seconds, rows, notes }, null, 2);
  // A partial run (--only) keeps its own file, so it never replaces the full run's table.
  const name = only ? `latest-${only}` : 'latest';
  writeFileSync(join(dir, `${name}.json`), `${json}\n`);
  writeFileSync(join(dir, `${name}.md`), text);
}

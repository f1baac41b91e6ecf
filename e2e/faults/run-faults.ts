import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/processes.js';
import { FaultReport, type Scale } from './fault-report.js';
import { SCENARIOS } from './scenarios.js';

/**
 * `npm run test:faults`: every fault and abuse scenario at full size (at most 10 minutes),
 * then one table — what was tried, how many times, what survived, what was lost — and a
 * non-zero exit on any loss or crash. `npm test` runs the same scenarios smaller
 * (e2e/faults/faults.integration.test.ts).
 *
 * `--only NAME[,NAME…]` runs just those scenarios (names as in scenarios.ts); with
 * TOKIOS_TEST_BIN pointing at another build's CLI, the same figures for that build.
 */

async function main(): Promise<number> {
  const scale: Scale = process.argv.includes('--quick') ? 'quick' : 'full';
  const report = new FaultReport();
  const started = Date.now();
  let unhandled = 0;
  process.on('unhandledRejection', (reason) => {
    unhandled++;
    process.stderr.write(`unhandled rejection in the suite: ${String(reason)}\n`);
  });
  const only = process.argv.find((arg) => arg.startsWith('--only='))?.slice('--only='.length).split(',');
  for (const [name, run] of SCENARIOS.filter(([n]) => !only || only.includes(n))) {
    try {
      await run(report, scale);
    } catch (error) {
      report.add({ area: 'faults', scenario: `${name}: the scenario itself failed`, tried: 1, survived: 0, lost: 1, figures: (error as Error).message.split('\n')[0]!.slice(0, 200) });
    }
  }
  const text = `${report.table()}\n\nRun ${new Date().toISOString()} (${scale}), ${Math.round((Date.now() - started) / 1000)} s; ${report.failed.length === 0 && unhandled === 0 ? 'nothing lost' : `${report.failed.length} scenario(s) lost something`}.\n`;
  process.stdout.write(`\n${text}`);
  const dir = join(REPO_ROOT, 'e2e', 'artifacts');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'faults.md'), text);
  return report.failed.length === 0 && unhandled === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`faults suite failed: ${(error as Error).stack}\n`);
  process.exit(1);
});

import { describe, expect, it } from 'vitest';
import { FaultReport } from './fault-report.js';
import { SCENARIOS } from './scenarios.js';

/** The fault and abuse suite, small: every scenario once, nothing may be lost. (`npm run test:faults` runs it full size.) */
describe('faults and bad input (quick)', () => {
  for (const [name, run] of SCENARIOS) {
    it(name, async () => {
      const report = new FaultReport();
      await run(report, 'quick');
      expect(report.rows.length).toBeGreaterThan(0);
      expect(report.failed.map((r) => `${r.scenario}: ${r.survived}/${r.tried} survived, ${r.lost} lost (${r.figures})`)).toEqual([]);
    }, 120_000);
  }
});

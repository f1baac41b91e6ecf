import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../e2e/support/processes.js';
import { FileGatewayStore } from './file-store.js';
import type { UsageRow } from './gateway-store.js';
import { Logger } from '../logging/logger.js';
import { UsageMeter } from './usage-meter.js';

const dirs: Array<{ remove: () => void }> = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

/** The file store, counting its usage writes and failing them on demand. */
class CountingStore extends FileGatewayStore {
  writes = 0;
  failing = false;
  override async appendUsage(rows: readonly UsageRow[], batchId?: string): Promise<void> {
    this.writes++;
    if (this.failing) throw new Error('disk full');
    return super.appendUsage(rows, batchId);
  }
}

function setup(): { store: CountingStore; meter: UsageMeter; clock: { now: number } } {
  const dir = tempDir();
  dirs.push(dir);
  const store = new CountingStore(`${dir.path}/data`);
  const clock = { now: Date.UTC(2030, 0, 1, 12, 0, 30) };
  const meter = new UsageMeter(store, { log: new Logger('test'), flushMs: 3_600_000, now: () => clock.now });
  return { store, meter, clock };
}

const event = { accountId: 'default', keyId: 'key_1', deployment: 'gemma', status: 200, inputTokens: 12, outputTokens: 5, ttftMs: 10, durationMs: 20 };

describe('usage meter', () => {
  it('counts a thousand requests in memory and writes them as one row in one call', async () => {
    const { store, meter, clock } = setup();
    for (let i = 0; i < 1000; i++) meter.record({ ...event, status: i % 100 === 0 ? 429 : i % 50 === 0 ? 502 : 200 });
    expect(store.writes).toBe(0);
    const [row] = await meter.query('default', 0, clock.now + 60_000);
    expect(row).toMatchObject({ requests: 1000, rateLimited: 10, serverErrors: 10, inputTokens: 12_000, outputTokens: 5000, ttftCount: 1000 });
    await meter.flush();
    expect(store.writes).toBe(1);
    expect(await store.usage('default', 0, clock.now + 60_000)).toHaveLength(1);
    expect(await meter.query('default', 0, clock.now + 60_000)).toHaveLength(1);
  });

  it('keeps rows whose write failed and writes them with the next batch', async () => {
    const { store, meter, clock } = setup();
    meter.record(event);
    store.failing = true;
    await meter.flush();
    store.failing = false;
    clock.now += 60_000;
    meter.record(event);
    await meter.close();
    const rows = await store.usage('default', 0, clock.now + 60_000);
    expect(rows.reduce((sum, r) => sum + r.requests, 0)).toBe(2);
  });

  it('spills what the store would not take at shutdown, and the next start counts it again', async () => {
    const { store, meter, clock } = setup();
    const spillFile = `${store.dir}/usage-unwritten.jsonl`;
    const spilling = new UsageMeter(store, { log: new Logger('test'), flushMs: 3_600_000, now: () => clock.now, spillFile });
    await meter.close();
    spilling.record(event);
    spilling.record(event);
    store.failing = true;
    await spilling.close();
    expect(await store.usage('default', 0, clock.now + 60_000)).toEqual([]);
    store.failing = false;
    const next = new UsageMeter(store, { log: new Logger('test'), flushMs: 3_600_000, now: () => clock.now, spillFile });
    await next.close();
    const rows = await store.usage('default', 0, clock.now + 60_000);
    expect(rows.reduce((sum, r) => sum + r.requests, 0)).toBe(2);
  });

  it('reports the last complete minute of a deployment for the live views', () => {
    const { meter, clock } = setup();
    for (let i = 0; i < 6; i++) meter.record(event);
    expect(meter.recentRate('default', 'gemma')).toEqual({ requestsPerMinute: 0, tokensPerSecond: null });
    clock.now += 60_000;
    expect(meter.recentRate('default', 'gemma')).toEqual({ requestsPerMinute: 6, tokensPerSecond: 0.5 });
  });
});

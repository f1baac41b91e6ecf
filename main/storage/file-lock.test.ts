import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { tempDirsPerTest } from '../../e2e/support/temp-dirs.js';
import { withFileLock } from './file-lock.js';

/** The lock's rules within one process; the race between processes is file-lock.integration.test.ts. */

const fresh = tempDirsPerTest('tokios-lock-');
const file = (): string => join(fresh(), 'gateway.json');

/** A lock generation as another process would have left it. */
function plant(path: string, generation: number, pid: number, ageMs = 0): void {
  mkdirSync(`${path}.locks`, { recursive: true });
  const holder = join(`${path}.locks`, String(generation));
  writeFileSync(holder, JSON.stringify({ pid, host: hostname(), nonce: 'planted' }));
  const then = (Date.now() - ageMs) / 1000;
  utimesSync(holder, then, then);
}

describe('file lock', () => {
  it('runs waiters one at a time and leaves only the latest generation behind', async () => {
    const path = file();
    let inside = 0;
    let most = 0;
    await Promise.all(Array.from({ length: 5 }, () => withFileLock(path, async () => {
      most = Math.max(most, ++inside);
      await sleep(5);
      inside--;
    })));
    expect(most).toBe(1);
    expect(readdirSync(`${path}.locks`).sort()).toEqual(['5', '5.released']);
  });

  it('takes over the lock of a process that died holding it', async () => {
    const path = file();
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    plant(path, 41, dead);
    expect(await withFileLock(path, () => 'ran', 1000)).toBe('ran');
    expect(readdirSync(`${path}.locks`).sort()).toEqual(['42', '42.released']);
  });

  it('waits for a live holder, then says who holds it and what to do', async () => {
    const path = file();
    plant(path, 1, process.ppid);
    await expect(withFileLock(path, () => 'ran', 200)).rejects.toMatchObject({ code: 'STORE_LOCKED', message: expect.stringMatching(/locked by another process .*delete that folder/) });
  });

  it('treats a live holder older than the stale limit as hung', async () => {
    const path = file();
    plant(path, 1, process.ppid, 60_000);
    expect(await withFileLock(path, () => 'ran', 1000, 30_000)).toBe('ran');
  });
});

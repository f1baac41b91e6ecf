import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, tempDir } from '../../e2e/support/processes.js';

/**
 * The store lock under the race that matters: the process holding it is killed, and
 * several processes find its lock at the same instant. Each judges it stale; only one may
 * take it over, or two of them hold it at once and a write is lost.
 */

const RACER = join(REPO_ROOT, 'e2e', 'support', 'lock-racer.mjs');
const LOCK_MODULE = process.env.TOKIOS_LOCK_MODULE ?? join(REPO_ROOT, 'dist', 'main', 'storage', 'file-lock.js');
const RACERS = 6;
const ROUNDS = 3;

const dir = tempDir('tokios-lock-');
const racers: ChildProcess[] = [];

function start(): Promise<ChildProcess> {
  const child = fork(RACER, [LOCK_MODULE], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('error', reject);
  });
}

function next(child: ChildProcess): Promise<{ type: string; error?: string }> {
  return new Promise((resolve) => child.once('message', (message) => resolve(message as { type: string; error?: string })));
}

beforeAll(async () => {
  racers.push(...(await Promise.all(Array.from({ length: RACERS }, start))));
});
afterAll(() => {
  for (const racer of racers) racer.kill('SIGKILL');
  dir.remove();
});

describe('store lock', () => {
  it('lets exactly one of several processes take over the lock of a killed holder', async () => {
    const file = join(dir.path, 'gateway.json');
    const counter = join(dir.path, 'counter');
    const lost: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // A holder dies inside its critical section, leaving its lock behind.
      const victim = await start();
      victim.send({ type: 'hold', file });
      expect((await next(victim)).type).toBe('held');
      const gone = new Promise((resolve) => victim.once('exit', resolve));
      victim.kill('SIGKILL');
      await gone;

      writeFileSync(counter, '0');
      const startAt = Date.now() + 100;
      const done = racers.map(next);
      for (const racer of racers) racer.send({ type: 'race', file, counter, startAt });
      const outcomes = await Promise.all(done);
      expect(outcomes.filter((o) => o.error)).toEqual([]);
      const count = Number(readFileSync(counter, 'utf8'));
      if (count !== RACERS) lost.push(RACERS - count);
    }
    // Every increment of every round survived: never two holders at once.
    expect(lost).toEqual([]);
  }, 120_000);
});

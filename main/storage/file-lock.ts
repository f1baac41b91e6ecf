import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Backoff } from '../../shared/backoff.js';
import { TokiosError } from '../../shared/errors.js';

/**
 * A lock between processes on one file (a running gateway and `tokios key create` share
 * `gateway.json`), correct when its holder dies and several waiters take it over at once.
 *
 * Why not "create `x.lock` exclusively; if it is stale, delete it and try again" (what this
 * replaced, and what proper-lockfile does with a directory): two waiters can both judge the
 * same dead lock stale; the first deletes it and creates its own; the second then deletes
 * that fresh lock, believing it is the dead one, and both hold the lock. Deleting a file
 * only if it is still the one you looked at cannot be done atomically with plain files.
 *
 * So nothing is ever deleted to take a lock over. The folder `x.locks/` holds numbered
 * generations: `7` names its holder (pid, host, a nonce), `7.released` says it let go.
 * To lock: read the highest generation N; if it is held, not released, and its holder is
 * alive and younger than `staleMs`, wait; otherwise create N+1 exclusively (`link(2)` of a
 * file already written, so it never exists half-written). Exclusive creation means exactly
 * one waiter wins N+1; the others get EEXIST and look again. Then list once more: a
 * generation above ours means we created a gap left by clean-up (our view was old), so we
 * withdraw. Clean-up only ever deletes generations below the caller's own, so the highest
 * generation ever created always exists, and a holder always sees a newer one. Two holders
 * at once would need someone to judge a live, released-never, younger-than-`staleMs`
 * generation stale, which the rules above never do.
 *
 * A holder that keeps the lock longer than `staleMs` (30 s; critical sections here take
 * milliseconds) is treated as hung and taken over, like any lease.
 */

interface Holder {
  pid: number;
  host: string;
  nonce: string;
}

interface FileLockOptions {
  /** How long to wait for the lock before STORE_LOCKED (default 10 s). */
  timeoutMs?: number;
  /** A lock held this long is taken over even if its holder lives (default 30 s). */
  staleMs?: number;
}

/** Runs `fn` holding the lock on `path` (the folder `${path}.locks/`). */
export async function withFileLock<T>(path: string, fn: () => T | Promise<T>, timeoutMs = 10_000, staleMs = 30_000): Promise<T> {
  const release = await acquire(path, { timeoutMs, staleMs });
  try {
    return await fn();
  } finally {
    release();
  }
}

async function acquire(path: string, { timeoutMs = 10_000, staleMs = 30_000 }: FileLockOptions): Promise<() => void> {
  const dir = `${path}.locks`;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const me: Holder = { pid: process.pid, host: hostname(), nonce: randomBytes(8).toString('hex') };
  const deadline = Date.now() + timeoutMs;
  const backoff = new Backoff({ baseMs: 10, capMs: 100 });
  for (;;) {
    const top = highest(dir);
    if (top === 0 || isFree(dir, top, staleMs)) {
      const mine = top + 1;
      if (create(dir, mine, me)) {
        if (highest(dir) === mine) {
          cleanUp(dir, mine);
          return () => markReleased(dir, mine);
        }
        rmSync(join(dir, String(mine)), { force: true }); // a gap behind the real holder: withdraw
      }
      continue;
    }
    if (Date.now() > deadline) {
      throw new TokiosError('STORE_LOCKED', `${path} is locked by another process (lock folder ${dir}); if no tokios process is running, delete that folder`);
    }
    await sleep(backoff.next());
  }
}

/** The highest generation in the folder, 0 when there is none. */
function highest(dir: string): number {
  let top = 0;
  for (const name of readdirSync(dir)) {
    const generation = generationOf(name);
    if (generation > top) top = generation;
  }
  return top;
}

/** `7` and `7.released` → 7; anything else (temporary files) → 0. */
function generationOf(name: string): number {
  const match = /^(\d{1,15})(\.released)?$/.exec(name);
  return match ? Number(match[1]) : 0;
}

/** Whether generation `n` may be followed: released, or its holder is dead or too old. */
function isFree(dir: string, n: number, staleMs: number): boolean {
  const file = join(dir, String(n));
  try {
    statSync(`${file}.released`);
    return true;
  } catch {
    // not released
  }
  let holder: Holder;
  let age: number;
  try {
    holder = JSON.parse(readFileSync(file, 'utf8')) as Holder;
    age = Date.now() - statSync(file).mtimeMs;
  } catch {
    // Only its marker is left (cleaned up) or it is unreadable: look again.
    return false;
  }
  if (age > staleMs) return true;
  return holder.host === hostname() && holder.pid !== process.pid && !processAlive(holder.pid);
}

/** Creates generation `n` naming `me`, atomically and only if nobody has; true if we did. */
function create(dir: string, n: number, me: Holder): boolean {
  const tmp = join(dir, `tmp-${me.nonce}-${n}`);
  writeFileSync(tmp, JSON.stringify(me), { mode: 0o600 });
  try {
    linkSync(tmp, join(dir, String(n)));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(tmp, { force: true });
  }
}

function markReleased(dir: string, n: number): void {
  try {
    writeFileSync(join(dir, `${n}.released`), '', { flag: 'wx', mode: 0o600 });
  } catch {
    // Already marked, or the folder is gone: either way nobody waits on us.
  }
}

/** Deletes the generations below ours (never the highest, so the order stays known). */
function cleanUp(dir: string, mine: number): void {
  for (const name of readdirSync(dir)) {
    const generation = generationOf(name);
    if (generation > 0 && generation < mine) rmSync(join(dir, name), { force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

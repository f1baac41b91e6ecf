import { readdirSync, readFileSync } from 'node:fs';

/** CPU time and memory of other processes, read from /proc (Linux). */

/**
 * CPU time spent by `pid` so far, in ms: every thread's nanosecond schedstat summed.
 * `/proc/PID/schedstat` alone is the main thread only; Node also burns CPU on its GC
 * helper threads and libuv's pool, which a per-process figure must include. Falls back to
 * the process-wide clock ticks of `/proc/PID/stat` where schedstat is missing.
 */
export function cpuMs(pid: number): number {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread ended between the listing and the read
      }
    }
    return ns / 1e6;
  } catch {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  }
}

/** Resident memory of `pid`, in bytes. */
export function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? 0) * 1024;
}

/** CPU ms used by each of `pids` while `work` ran, in the order given. */
export async function cpuEachDuring<T>(pids: number[], work: () => Promise<T>): Promise<{ result: T; cpuMs: number[] }> {
  const before = pids.map(cpuMs);
  const result = await work();
  return { result, cpuMs: pids.map((pid, i) => cpuMs(pid) - before[i]!) };
}

/** CPU ms used by `pids` together while `work` ran. */
export async function cpuDuring<T>(pids: number[], work: () => Promise<T>): Promise<{ result: T; cpuMs: number }> {
  const { result, cpuMs: each } = await cpuEachDuring(pids, work);
  return { result, cpuMs: each.reduce((sum, ms) => sum + ms, 0) };
}

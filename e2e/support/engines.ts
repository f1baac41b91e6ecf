import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Real PostgreSQL and Redis for tests and benchmarks, from Debian's `postgresql` and
 * `redis-server` packages (`.ci/run` installs them): a throwaway cluster made with
 * `initdb` in a temporary folder and a `redis-server` without persistence, each on a free
 * loopback port, removed at `destroy()`. Both can be stopped and started again on the same
 * port and data, which is how the failure tests take them away. A missing engine is an
 * error that says which package to install, never a silent skip.
 */

const PG_ROOTS = ['/usr/lib/postgresql'];

/** Where `initdb` and `pg_ctl` live (the newest installed major version), or null. */
export function postgresBinDir(): string | null {
  for (const root of PG_ROOTS) {
    if (!existsSync(root)) continue;
    const versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const version of versions) if (existsSync(join(root, version, 'bin', 'pg_ctl'))) return join(root, version, 'bin');
  }
  return null;
}

export function redisServerBin(): string | null {
  for (const candidate of ['/usr/bin/redis-server', '/usr/local/bin/redis-server']) if (existsSync(candidate)) return candidate;
  return null;
}

/** Why the engines cannot run here (to print, or to fail a test with), or null when they can. */
export function enginesMissing(): string | null {
  const missing = [postgresBinDir() ? null : 'postgresql', redisServerBin() ? null : 'redis-server'].filter(Boolean);
  if (missing.length === 0) return null;
  return `PostgreSQL and Redis are needed (Debian packages: apt-get install -y ${missing.join(' ')}; .ci/run installs them); missing: ${missing.join(', ')}`;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** As root, the engines run as the `postgres` user (initdb refuses root); otherwise as whoever runs the tests. */
function asEngineUser(command: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [command, args];
  return ['runuser', ['-u', 'postgres', '--', command, ...args]];
}

function run(command: string, args: string[], what: string): void {
  const [cmd, argv] = asEngineUser(command, args);
  const result = spawnSync(cmd, argv, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${what} failed (${result.status ?? result.error?.message}): ${(result.stderr || result.stdout || '').slice(-2000)}`);
}

export interface TestPostgres {
  /** `postgres://…@127.0.0.1:PORT/tokios` (trust authentication on loopback). */
  readonly url: string;
  readonly port: number;
  /** Stops the server (fast shutdown), keeping its data. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** A fresh, empty database on this server; its URL. */
  createDatabase(name: string): Promise<string>;
  destroy(): Promise<void>;
}

export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir();
  if (!bin) throw new Error(enginesMissing()!);
  const dir = mkdtempSync(join(tmpdir(), 'tokios-pg-'));
  const data = join(dir, 'data');
  if (process.getuid?.() === 0) chownSync(dir, ...postgresIds());
  run(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'tokios', '--no-sync', '-E', 'UTF8', '--locale', 'C'], 'initdb');
  const port = await freePort();
  const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
  const pgCtl = (action: 'start' | 'stop'): void => {
    const args = action === 'start' ? ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', 'start'] : ['-D', data, '-m', 'fast', '-w', 'stop'];
    run(join(bin, 'pg_ctl'), args, `pg_ctl ${action}`);
  };
  pgCtl('start');
  let running = true;
  const base = `postgres://tokios@127.0.0.1:${port}`;
  run(join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'tokios', 'tokios'], 'createdb');
  return {
    url: `${base}/tokios`,
    port,
    stop: async () => {
      if (!running) return;
      pgCtl('stop');
      running = false;
    },
    start: async () => {
      if (running) return;
      pgCtl('start');
      running = true;
    },
    createDatabase: async (name) => {
      run(join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'tokios', name], 'createdb');
      return `${base}/${name}`;
    },
    destroy: async () => {
      if (running) {
        try {
          pgCtl('stop');
        } catch {
          // already gone
        }
      }
      running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresIds(): [number, number] {
  const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (id.status !== 0) throw new Error("running as root, the engines need the 'postgres' user (the postgresql package creates it)");
  return [Number(id.stdout.trim()), Number(gid.stdout.trim())];
}

export interface TestRedis {
  /** `redis://127.0.0.1:PORT`. */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

export async function startRedis(): Promise<TestRedis> {
  const bin = redisServerBin();
  if (!bin) throw new Error(enginesMissing()!);
  const port = await freePort();
  let child: ChildProcess | null = null;
  const start = async (): Promise<void> => {
    if (child) return;
    const proc = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        out += chunk.toString();
        if (out.includes('Ready to accept connections')) {
          proc.stdout!.off('data', onData);
          resolve();
        }
      };
      proc.stdout!.on('data', onData);
      proc.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready: ${out.slice(-1000)}`)));
    });
    proc.stdout!.resume();
    proc.stderr!.resume();
  };
  const stop = async (): Promise<void> => {
    const proc = child;
    if (!proc) return;
    child = null;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGKILL');
    await exited;
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, start, stop, destroy: stop };
}

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Real `tokios` processes for tests: the built CLI (dist/, made by `npm run build`, which
 * `npm test` runs first), started with their output captured, and killed at cleanup.
 */

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
/** TOKIOS_TEST_BIN runs the tests against another build (say, main's, to see a test fail before a fix). */
export const TOKIOS_BIN = process.env.TOKIOS_TEST_BIN ?? join(REPO_ROOT, 'dist', 'main', 'cli', 'tokios.js');

const running = new Set<TokiosProcess>();

export class TokiosProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private listeners: Array<() => void> = [];

  constructor(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
    // TOKIOS_TEST_NODE_ARGS passes flags such as --cpu-prof to every tokios process a test starts.
    const nodeArgs = process.env.TOKIOS_TEST_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    this.child = spawn(process.execPath, [...nodeArgs, TOKIOS_BIN, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, TOKIOS_LOG_LEVEL: 'info', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      this.stdout += text;
      this.notify();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      this.stderr += text;
      this.notify();
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    running.add(this);
    void this.exited.then(() => {
      running.delete(this);
      this.notify();
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get output(): string {
    return this.stdout + this.stderr;
  }

  /** Resolves with the first match of `pattern` in stdout+stderr; rejects on timeout or exit. */
  waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const match = this.output.match(pattern);
        if (match) {
          done();
          resolve(match);
          return true;
        }
        if (this.child.exitCode !== null || this.child.signalCode !== null) {
          done();
          reject(new Error(`process exited (${this.child.exitCode ?? this.child.signalCode}) before printing ${pattern}:\n${this.output}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern}:\n${this.output}`));
      }, timeoutMs);
      const listener = (): void => void check();
      const done = (): void => {
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== listener);
      };
      if (!check()) this.listeners.push(listener);
    });
  }

  signal(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  /** SIGTERM, then SIGKILL if it is still running after `graceMs`. */
  async stop(graceMs = 5000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

/** Kills every process a test started and did not stop itself. */
export async function killAll(): Promise<void> {
  await Promise.all([...running].map(async (p) => {
    p.signal('SIGKILL');
    await p.exited;
  }));
}

export function tokios(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): TokiosProcess {
  return new TokiosProcess(args, options);
}

/** Runs a short command to completion. */
export async function runTokios(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = tokios(args, options);
  const { code } = await p.exited;
  return { code, stdout: p.stdout, stderr: p.stderr };
}

/** `tokios gateway` on a free port; resolves once it printed its URL. */
export async function startGatewayProcess(dataDir: string, extra: string[] = []): Promise<{ url: string; process: TokiosProcess }> {
  const p = tokios(['gateway', '--port', '0', '--data', dataDir, ...extra]);
  const match = await p.waitFor(/^(http:\/\/\S+)$/m);
  return { url: match[1]!, process: p };
}

export async function createSecret(kind: 'key' | 'token', dataDir: string, extra: string[] = []): Promise<string> {
  const { code, stdout, stderr } = await runTokios([kind, 'create', '--data', dataDir, ...extra]);
  if (code !== 0) throw new Error(`tokios ${kind} create failed: ${stderr}`);
  return stdout.trim().split('\n').pop()!;
}

/** A fresh temporary folder, removed by the returned function. */
export function tempDir(prefix = 'tokios-test-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function writeConfig(dir: string, name: string, config: Record<string, unknown>): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/** Pids of connector worker processes running for deployment `label` (read from /proc). */
export function workerPids(label: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (!cmdline.includes('connector-worker')) continue;
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (environ.includes(`TOKIOS_WORKER=${label}`)) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

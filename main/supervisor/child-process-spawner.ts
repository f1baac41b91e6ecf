import { fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { readLines, workerEnvironment } from './worker-io.js';
import type { FromWorker, ToWorker } from '../connector/worker-protocol.js';
import type { WorkerEvents, WorkerProcess, WorkerSpawner } from './worker-spawner.js';

/** The worker entry, next to this file once built (dist/main/connector/connector-worker.js). */
export const WORKER_ENTRY = fileURLToPath(new URL('../connector/connector-worker.js', import.meta.url));

/**
 * Headless mode's spawner: `child_process.fork` with an IPC channel. No arguments; the
 * environment is the parent's minus anything secret-like; the token comes over IPC.
 */
export class ChildProcessSpawner implements WorkerSpawner {
  constructor(private readonly entry: string = WORKER_ENTRY) {}

  spawn(label: string): WorkerProcess {
    return new ForkedWorker(this.entry, label);
  }
}

class ForkedWorker extends EventEmitter<WorkerEvents> implements WorkerProcess {
  readonly pid: number | undefined;
  private readonly child: ReturnType<typeof fork>;

  constructor(entry: string, label: string) {
    super();
    this.child = fork(entry, [], { env: workerEnvironment(label), stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: [] });
    this.pid = this.child.pid;
    this.child.on('message', (message) => this.emit('message', message as FromWorker));
    this.child.on('exit', (code, signal) => this.emit('exit', code ?? 128, signal));
    this.child.on('error', () => undefined);
    readLines([this.child.stdout, this.child.stderr], (line) => this.emit('output', line));
  }

  post(message: ToWorker): void {
    if (this.child.connected) this.child.send(message);
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

import { EventEmitter } from 'node:events';
import type { UtilityProcess } from 'electron';
import { readLines, workerEnvironment } from '../supervisor/worker-io.js';
import type { FromWorker, ToWorker } from '../connector/worker-protocol.js';
import type { WorkerEvents, WorkerProcess, WorkerSpawner } from '../supervisor/worker-spawner.js';

/**
 * The app's spawner: Electron's `utilityProcess.fork`, which runs the worker as a Node
 * service process of the app (no separate Node needed on the user's machine). The token
 * reaches it in the 'start' message, never in argv or the environment.
 */

type Fork = (modulePath: string, args: string[], options: { serviceName: string; stdio: 'pipe'; env: NodeJS.ProcessEnv }) => UtilityProcess;

export class UtilityProcessSpawner implements WorkerSpawner {
  constructor(private readonly fork: Fork, private readonly entry: string) {}

  spawn(label: string): WorkerProcess {
    return new UtilityWorker(this.fork(this.entry, [], { serviceName: `Tokios connector (${label})`, stdio: 'pipe', env: workerEnvironment(label) }));
  }
}

class UtilityWorker extends EventEmitter<WorkerEvents> implements WorkerProcess {
  constructor(private readonly child: UtilityProcess) {
    super();
    child.on('message', (message: unknown) => this.emit('message', message as FromWorker));
    child.on('exit', (code: number) => this.emit('exit', code, null));
    readLines([child.stdout, child.stderr], (line) => this.emit('output', line));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  post(message: ToWorker): void {
    this.child.postMessage(message);
  }

  kill(): void {
    this.child.kill();
  }
}

import type { EventEmitter } from 'node:events';
import type { FromWorker, ToWorker } from '../connector/worker-protocol.js';

/**
 * The one spawn interface the supervisor knows, and the running worker it hands back,
 * whatever started it (`child_process.fork` headless, `utilityProcess.fork` in Electron).
 */

export type WorkerEvents = {
  message: [message: FromWorker];
  /** The exit code, and the signal that killed it when known. */
  exit: [code: number, signal: string | null];
  /** A line the worker logged. */
  output: [line: string];
};

export interface WorkerProcess extends EventEmitter<WorkerEvents> {
  readonly pid: number | undefined;
  post(message: ToWorker): void;
  kill(): void;
}

export interface WorkerSpawner {
  spawn(label: string): WorkerProcess;
}

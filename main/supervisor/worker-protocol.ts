import type { EventEmitter } from 'node:events';
import type { ErrorData } from '../../shared/errors.js';
import type { ConnectorHealth, RequestRecord } from '../../shared/health.js';
import type { TokiosConfig } from '../../shared/tokios-config.js';
import type { BackoffOptions } from '../connector/backoff.js';

/**
 * Messages between the supervisor and a connector worker. The tunnel token travels here,
 * over the IPC channel, never on the command line or in the environment.
 */

export type ToWorker =
  | { type: 'start'; config: TokiosConfig; gatewayUrl: string; heartbeatMs?: number; backoff?: BackoffOptions }
  | { type: 'stop'; timeoutMs: number };

export type FromWorker =
  | { type: 'health'; health: ConnectorHealth }
  | { type: 'request'; record: RequestRecord }
  | { type: 'fatal'; error: ErrorData };

/** Exit code of a worker whose token the gateway rejected: restarting will not help. */
export const WORKER_EXIT_TOKEN_REJECTED = 3;

/**
 * A running worker, whatever started it (`child_process.fork` headless,
 * `utilityProcess.fork` in Electron). Events: 'message' (FromWorker), 'exit' (code, and
 * the signal that killed it when known), 'output' (a line the worker logged).
 */
export interface WorkerProcess extends EventEmitter {
  readonly pid: number | undefined;
  post(message: ToWorker): void;
  kill(): void;
}

/** The one spawn interface the supervisor knows. */
export interface WorkerSpawner {
  spawn(label: string): WorkerProcess;
}

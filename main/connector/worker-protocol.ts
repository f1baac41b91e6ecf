import type { BackoffPolicy } from '../../shared/backoff.js';
import type { ErrorData } from '../../shared/errors.js';
import type { ConnectorHealth, RequestRecord } from '../../shared/health.js';
import type { TokiosConfig } from '../../shared/tokios-config.js';

/**
 * Messages between a connector worker process and whoever supervises it. The tunnel token
 * travels here, over the IPC channel, never on the command line or in the environment.
 * The connector owns this protocol; the supervisor speaks it.
 */

export type ToWorker =
  | { type: 'start'; config: TokiosConfig; gatewayUrl: string; heartbeatMs?: number; backoff?: BackoffPolicy }
  | { type: 'stop'; timeoutMs: number };

export type FromWorker =
  | { type: 'health'; health: ConnectorHealth }
  | { type: 'request'; record: RequestRecord }
  | { type: 'fatal'; error: ErrorData };

/** Exit code of a worker whose token the gateway rejected: restarting will not help. */
export const WORKER_EXIT_TOKEN_REJECTED = 3;

import { toErrorData } from '../../shared/errors.js';
import type { ConnectorHealth } from '../../shared/health.js';
import { installLastResortHandler } from '../logging/last-resort-handler.js';
import { Logger } from '../logging/logger.js';
import { WORKER_EXIT_TOKEN_REJECTED, type FromWorker, type ToWorker } from './worker-protocol.js';
import { Connector } from './connector.js';

/**
 * Entry point of a connector worker process. Works under both `child_process.fork`
 * (process.send / 'message') and Electron's `utilityProcess.fork` (process.parentPort).
 * Waits for a 'start' message carrying the config (with the token), then runs a Connector
 * and reports its health and requests back.
 */

interface ParentPort {
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;

function post(message: FromWorker): void {
  if (parentPort) parentPort.postMessage(message);
  else if (process.send && process.connected) process.send(message);
}

function onMessage(handler: (message: ToWorker) => void): void {
  if (parentPort) parentPort.on('message', (event) => handler(event.data as ToWorker));
  else process.on('message', (message) => handler(message as ToWorker));
}

let connector: Connector | null = null;
let stopping = false;

async function stop(timeoutMs: number, code = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  const kill = setTimeout(() => process.exit(code), timeoutMs + 2000);
  kill.unref();
  try {
    await connector?.close(timeoutMs);
  } finally {
    process.exit(code);
  }
}

onMessage((message) => {
  if (message.type === 'start' && !connector) {
    const log = new Logger(`connector:${message.config.name ?? 'worker'}`);
    installLastResortHandler({ log });
    connector = new Connector({
      config: message.config,
      gatewayUrl: message.gatewayUrl,
      log,
      ...(message.heartbeatMs ? { heartbeatMs: message.heartbeatMs } : {}),
      ...(message.backoff ? { backoff: message.backoff } : {}),
    });
    // Health can change many times a second under load; the app needs a few updates a second.
    let pending: ConnectorHealth | null = null;
    let timer: NodeJS.Timeout | null = null;
    let lastState = '';
    connector.on('health', (health) => {
      if (health.state !== lastState) {
        lastState = health.state;
        if (timer) clearTimeout(timer);
        timer = null;
        pending = null;
        post({ type: 'health', health });
        return;
      }
      pending = health;
      timer ??= setTimeout(() => {
        timer = null;
        if (pending) post({ type: 'health', health: pending });
        pending = null;
      }, 250);
    });
    connector.on('request', (record) => post({ type: 'request', record }));
    connector.on('fatal', (error) => {
      post({ type: 'fatal', error: toErrorData(error) });
      void stop(0, WORKER_EXIT_TOKEN_REJECTED);
    });
    connector.start().catch((error: unknown) => {
      log.error(`the connector could not start: ${(error as Error).message}`);
      void stop(0, 1);
    });
  } else if (message.type === 'stop') {
    void stop(message.timeoutMs);
  }
});

// Orphaned (the app died without stopping us): drain and go.
process.on('disconnect', () => void stop(10_000));
process.on('SIGTERM', () => void stop(10_000));

import type { Logger } from './logger.js';

/**
 * The net under every per-request error path of a long-running process (the gateway, a
 * connector). Each request's failure is meant to end that request only; an error that
 * still escapes is a bug, and Node's default — exit — would turn one bad request into an
 * outage for every deployment on the process. So an escaped error is logged (through the
 * redacting logger) and the process keeps serving. Only when they come in a burst, which
 * says the process itself is broken rather than one request, does it exit, with a code the
 * supervisor (or systemd) restarts on — after giving the process a bounded time to stop
 * what it runs (the app drains its connector workers rather than orphaning them).
 */

export interface LastResortOptions {
  log: Logger;
  /** More escaped errors than this within a minute means the process is broken (default 10). */
  maxPerMinute?: number;
  /** How the process ends in that case (default `process.exit`). */
  exit?: (code: number) => void;
  /** Stops what the process runs before it exits; given {@link exitDeadlineMs} at most. */
  beforeExit?: () => Promise<unknown>;
  /** How long `beforeExit` may take (default 10 s). */
  exitDeadlineMs?: number;
  now?: () => number;
}

/** Exit code for "too many unexpected errors" (EX_SOFTWARE). */
export const EXIT_SOFTWARE = 70;

/** The policy: call it for every escaped error. */
export function lastResortPolicy(options: LastResortOptions): (kind: 'uncaught exception' | 'unhandled rejection', error: unknown) => void {
  const { log } = options;
  const maxPerMinute = options.maxPerMinute ?? 10;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const now = options.now ?? Date.now;
  const recent: number[] = [];
  let exiting = false;
  return (kind, error) => {
    const at = now();
    while (recent.length > 0 && at - recent[0]! > 60_000) recent.shift();
    recent.push(at);
    const text = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
    // The logger keeps it one line (a stack, or a peer's string in a message, cannot forge lines).
    log.error(`${kind} (a bug; the request it belonged to failed, the process keeps serving): ${text}`);
    if (recent.length > maxPerMinute && !exiting) {
      exiting = true;
      log.error(`${recent.length} unexpected errors within a minute: exiting so the process is started afresh`);
      if (!options.beforeExit) return exit(EXIT_SOFTWARE);
      let timer: NodeJS.Timeout | undefined;
      const stopped = Promise.resolve()
        .then(options.beforeExit)
        .catch((stopError: unknown) => log.error(`stopping before the exit failed: ${(stopError as Error)?.message ?? String(stopError)}`));
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, options.exitDeadlineMs ?? 10_000)));
      void Promise.race([stopped, deadline]).then(() => {
        clearTimeout(timer);
        exit(EXIT_SOFTWARE);
      });
    }
  };
}

/** Installs the policy for this process; returns how to remove it. */
export function installLastResortHandler(options: LastResortOptions): () => void {
  const handle = lastResortPolicy(options);
  const onException = (error: Error): void => handle('uncaught exception', error);
  const onRejection = (reason: unknown): void => handle('unhandled rejection', reason);
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}

import { createInterface } from 'node:readline';

/** What both spawners share: a worker's environment and how its output is read. */

const SECRET_ENV = /TOKEN|KEY|SECRET|PASSWORD/i;

/** The parent's environment without anything secret-like, plus the worker's label. */
export function workerEnvironment(label: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !SECRET_ENV.test(name)));
  return { ...env, TOKIOS_WORKER: label };
}

/** Calls `onLine` for each line the worker writes to stdout or stderr. */
export function readLines(streams: ReadonlyArray<NodeJS.ReadableStream | null | undefined>, onLine: (line: string) => void): void {
  for (const stream of streams) if (stream) createInterface({ input: stream }).on('line', onLine);
}

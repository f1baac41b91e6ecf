import type { ServerResponse } from 'node:http';
import { HTTP_ERRORS, isTokiosError } from '../../shared/errors.js';
import type { Logger } from '../logging/logger.js';
import { sendError } from './http-util.js';

/**
 * A request of the control API or the dashboard that failed: the status its error code maps
 * to (shared/errors.ts), its message as is (messages are written for the caller), the
 * OpenAI error shape. Only server faults are logged as errors, and their text stays inside.
 */
export function sendFailure(res: ServerResponse, error: unknown, log: Logger, what: string): void {
  const known = isTokiosError(error) ? error : null;
  const { status, type } = HTTP_ERRORS[known?.code ?? 'INTERNAL'];
  // A database that is away is the one server fault the caller must hear about in words: it says to retry.
  const unavailable = known?.code === 'STORE_UNAVAILABLE';
  if (status >= 500) log[unavailable ? 'warn' : 'error'](`${what} failed: ${(error as Error)?.message ?? String(error)}`);
  sendError(res, status, known && (status < 500 || unavailable) ? known.message : 'Internal gateway error.', type, (known?.code ?? 'INTERNAL').toLowerCase(), unavailable ? { 'retry-after': '5' } : {});
}

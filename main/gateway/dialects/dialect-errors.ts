import type { IncomingMessage } from 'node:http';
import { openAIError } from '../../../shared/errors.js';

/**
 * Every error the gateway itself answers comes in the shape the caller's client library
 * parses, so it shows the message rather than `[object Object]`:
 * - Anthropic's `{"type":"error","error":{"type","message"},"request_id"}` on
 *   `/v1/messages*`, and on any request that carries `anthropic-version` (the Anthropic SDK's
 *   model listing shares `/v1/models` with OpenAI's);
 * - Ollama's `{"error":"text"}` on `/api/*`;
 * - OpenAI's `{"error":{"message","type","code","param"}}` everywhere else.
 */

export type ErrorDialect = 'openai' | 'anthropic' | 'ollama';

export function errorDialectOf(req: IncomingMessage): ErrorDialect {
  const url = req.url ?? '';
  if (url.startsWith('/api/')) return 'ollama';
  if (url.startsWith('/v1/messages') || req.headers['anthropic-version'] !== undefined) return 'anthropic';
  return 'openai';
}

/** Anthropic's error types by status (its SDKs pick the exception class from the status). */
function anthropicType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 413) return 'request_too_large';
  if (status === 429) return 'rate_limit_error';
  if (status === 503) return 'overloaded_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}

/** The error body for `dialect`; `type` and `code` are the OpenAI-shape fields. */
export function errorBody(dialect: ErrorDialect, status: number, message: string, type: string, code: string | null, requestId: string | null): unknown {
  switch (dialect) {
    case 'ollama':
      return { error: message };
    case 'anthropic':
      return { type: 'error', error: { type: anthropicType(status), message }, request_id: requestId };
    default:
      return openAIError(message, type, code);
  }
}

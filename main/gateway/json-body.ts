import type { IncomingMessage } from 'node:http';
import { TokiosError } from '../../shared/errors.js';
import { BodyTooLargeError, readBody } from './http-util.js';

/** The body was too large, or not a JSON object (callers may answer each their own way). */
export class JsonBodyError extends TokiosError {
  constructor(
    readonly problem: 'too-large' | 'not-json',
    message: string,
  ) {
    super('INVALID_ARGUMENT', message);
  }
}

/**
 * A small JSON object body of an API call (control plane, dashboard, device grant), read
 * only after the caller is authenticated. `application/x-www-form-urlencoded` is accepted
 * too, since OAuth clients (the device grant) send forms. An empty body is `{}`.
 */
export async function readJsonObject(req: IncomingMessage, limit = 64 * 1024): Promise<Record<string, unknown>> {
  let raw: Buffer;
  try {
    raw = await readBody(req, limit);
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw new JsonBodyError('too-large', `request body is larger than ${limit} bytes`);
    throw error;
  }
  const text = raw.toString('utf8');
  if (text.trim() === '') return {};
  if (String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(text));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new JsonBodyError('not-json', 'request body must be a JSON object');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new JsonBodyError('not-json', 'request body must be a JSON object');
  return value as Record<string, unknown>;
}

/** A field that must be a string when present. */
export function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new TokiosError('INVALID_ARGUMENT', `field "${field}" must be a string`);
  return value;
}

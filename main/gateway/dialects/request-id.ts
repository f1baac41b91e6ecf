import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Every response carries `x-request-id` (and Anthropic's `request-id` where its SDK reads
 * it), the same id travels to the connector and lands in its request log, and error bodies
 * quote it: one string ties a client's error to the gateway's and the app's records.
 *
 * The id is a random per-process prefix and a counter: unique across restarts and
 * replicas, and nearly free per request.
 */

const PREFIX = `req_${randomBytes(8).toString('hex')}`;
let counter = 0;

export const REQUEST_ID_HEADER = 'x-request-id';

export function newRequestId(): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `${PREFIX}${counter.toString(36).padStart(6, '0')}`;
}

/** Gives the response its id (before anything is written) and returns it. */
export function assignRequestId(req: IncomingMessage, res: ServerResponse): string {
  const id = newRequestId();
  res.setHeader(REQUEST_ID_HEADER, id);
  if (req.headers['anthropic-version'] !== undefined || (req.url ?? '').startsWith('/v1/messages')) res.setHeader('request-id', id);
  return id;
}

export function requestIdOf(res: ServerResponse): string | null {
  const id = res.getHeader(REQUEST_ID_HEADER);
  return typeof id === 'string' ? id : null;
}

/** Response headers only the gateway sets: an upstream's are dropped, never passed on. */
export function isGatewayOwnedHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return lower === REQUEST_ID_HEADER || lower === 'request-id' || lower.startsWith('access-control-');
}

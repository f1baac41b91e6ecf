import type { IncomingMessage, ServerResponse } from 'node:http';
import { redact } from '../logging/logger.js';
import { requestIdOf } from './dialects/request-id.js';

/**
 * An optional observer of the gateway's client requests: one metadata record per request
 * once its response is over, including the ones the gateway refused itself (401, 404,
 * 503…). Never bodies, never headers. It sits beside the data path: the planes only *note*
 * what they learn (the deployment, when the request entered a tunnel, the first response
 * byte, the error code they answered with) and this module turns the notes into a record
 * on 'close'. The record carries the response's `x-request-id`, which the connector's own
 * record of the same request carries too. What a client chose to send (the path, the
 * `model`) is redacted like a log line: a key pasted into a URL by mistake, by anyone, must
 * not reach the app's request inspector.
 * Without an observer every note is a no-op lookup in a WeakMap.
 */

export interface GatewayRequestRecord {
  /** When the request arrived (ms since epoch). */
  time: number;
  method: string;
  /** The path without its query string. */
  path: string;
  /** The status the client got; 499 when it went away before any response. */
  status: number;
  /** The `model` the request named (a deployment, or a name that does not exist). */
  deployment: string | null;
  /** The gateway's `x-request-id` (the connector's record of the request has the same). */
  requestId: string | null;
  /** The client's address as the gateway saw it. */
  client: string | null;
  /** The OpenAI-style error code the gateway answered with, when it refused. */
  errorCode: string | null;
  /** Arrival → handed to the tunnel (authentication, body, routing, waiting for a tunnel). */
  queuedMs: number | null;
  /** Arrival → the response head left for the client. */
  ttftMs: number | null;
  /** Arrival → the response ended (or the client went away). */
  durationMs: number;
}

export type RequestObserver = (record: GatewayRequestRecord) => void;

interface Notes {
  start: number;
  time: number;
  method: string;
  path: string;
  client: string | null;
  deployment: string | null;
  openedAt: number | null;
  firstByteAt: number | null;
  errorCode: string | null;
}

const notes = new WeakMap<ServerResponse, Notes>();

/** Starts watching one request; `observer` gets its record when the response is over. */
export function observeRequest(req: IncomingMessage, res: ServerResponse, path: string, observer: RequestObserver): void {
  const entry: Notes = {
    start: performance.now(), time: Date.now(), method: req.method ?? 'GET', path, client: req.socket.remoteAddress ?? null,
    deployment: null, openedAt: null, firstByteAt: null, errorCode: null,
  };
  notes.set(res, entry);
  res.once('close', () => {
    const end = performance.now();
    const status = res.headersSent ? res.statusCode : 499;
    const since = (at: number | null): number | null => (at === null ? null : at - entry.start);
    try {
      observer({
        time: entry.time, method: entry.method, path: redact(entry.path), status, deployment: entry.deployment === null ? null : redact(entry.deployment), requestId: requestIdOf(res),
        client: entry.client, errorCode: entry.errorCode, queuedMs: since(entry.openedAt),
        ttftMs: since(entry.firstByteAt ?? (res.headersSent ? end : null)), durationMs: end - entry.start,
      });
    } catch {
      // An observer's failure must never reach the data path.
    }
  });
}

/** The request named this deployment (`model`). */
export function noteDeployment(res: ServerResponse, deployment: string): void {
  const entry = notes.get(res);
  if (entry) entry.deployment = deployment;
}

/** The request entered a tunnel (the first time, when a refused stream is retried). */
export function noteForwarded(res: ServerResponse): void {
  const entry = notes.get(res);
  if (entry) entry.openedAt ??= performance.now();
}

/** The response head went out. */
export function noteFirstByte(res: ServerResponse): void {
  const entry = notes.get(res);
  if (entry && entry.firstByteAt === null) entry.firstByteAt = performance.now();
}

/** The gateway answered with this error code (called by sendError). */
export function noteErrorCode(res: ServerResponse, code: string): void {
  const entry = notes.get(res);
  if (entry) entry.errorCode = code;
}

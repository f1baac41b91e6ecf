import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorBody, errorDialectOf } from './dialects/dialect-errors.js';
import { requestIdOf } from './dialects/request-id.js';
import { noteErrorCode } from './request-observer.js';

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body is larger than the ${limit}-byte limit`);
  }
}

/** Reads the whole request body, failing fast once it passes `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(new BodyTooLargeError(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.resume();
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onClose = (): void => {
      if (!req.complete) onError(new Error('client closed the connection before sending the whole body'));
    };
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** An error the gateway answers with: its status, message, the OpenAI-shape type and code, and extra headers. */
export interface Refusal {
  status: number;
  message: string;
  type: string;
  code: string;
  headers: Record<string, string>;
}

export function sendRefusal(res: ServerResponse, refusal: Refusal): void {
  sendError(res, refusal.status, refusal.message, refusal.type, refusal.code, refusal.headers);
}

/** The gateway already holds as many body bytes as it may (`--max-held-bodies`). */
export function heldBodiesFull(limit: number): Refusal {
  return {
    status: 503, type: 'service_unavailable', code: 'gateway_busy', headers: { 'retry-after': '1' },
    message: `The gateway is holding ${limit} bytes of request and answer bodies, its limit (--max-held-bodies); retry shortly.`,
  };
}

/**
 * Answers with an error in the request's own dialect (dialects/dialect-errors.ts): OpenAI's
 * `{"error": {"message", "type", "code", "param"}}` unless the route is Anthropic's or Ollama's.
 */
export function sendError(res: ServerResponse, status: number, message: string, type: string, code: string, headers: Record<string, string> = {}): void {
  noteErrorCode(res, code);
  sendJson(res, status, errorBody(errorDialectOf(res.req), status, message, type, code, requestIdOf(res)), headers);
}

/** The bearer token or `x-api-key` a request presents, if any. */
export function presentedKey(req: IncomingMessage): string | null {
  const auth = req.headers.authorization;
  if (auth) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (match) return match[1]!;
  }
  const apiKey = req.headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey.trim()) return apiKey.trim();
  return null;
}

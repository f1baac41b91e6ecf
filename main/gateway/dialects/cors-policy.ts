import type { IncomingMessage, ServerResponse } from 'node:http';
import { TokiosError } from '../../../shared/errors.js';
import { peerText, type Logger } from '../../logging/logger.js';

/**
 * Cross-origin access for browser apps that call the gateway with an SDK. Off unless the
 * gateway was given allowed origins (`tokios gateway --cors-origin URL`, or the embedded
 * gateway's `corsOrigins` setting); `*` allows any origin.
 *
 * For an allowed origin, every response names it in `Access-Control-Allow-Origin` and
 * exposes the request id; a preflight (`OPTIONS` with `Access-Control-Request-Method`) is
 * answered 204 with the methods and the headers the page asked for (the SDKs send their own
 * `x-stainless-*`, `anthropic-*` and `openai-*` headers). A preflight from any other origin
 * gets 403 and one log line saying which flag would allow it. Upstreams' own CORS headers
 * never reach the client (request-id.ts drops them): this policy is the only one.
 */

const ALLOWED_METHODS = 'GET, POST, DELETE, OPTIONS';
const EXPOSED_HEADERS = 'x-request-id, request-id, retry-after, x-should-retry';
/** How long a browser may cache a preflight answer (Chromium caps it at 2 hours). */
const MAX_AGE_SECONDS = '7200';
const HEADER_LIST = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/;

export class CorsPolicy {
  private readonly any: boolean;
  private readonly origins: ReadonlySet<string>;
  private readonly warned = new Set<string>();

  /** `origins` as normalised by {@link parseCorsOrigins}; empty means CORS is off. */
  constructor(origins: readonly string[], private readonly log: Logger) {
    this.any = origins.includes('*');
    this.origins = new Set(origins);
  }

  get enabled(): boolean {
    return this.any || this.origins.size > 0;
  }

  /**
   * Adds the CORS headers `req` earns to `res`, and answers it when it is a preflight.
   * Returns true when the request has been answered.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const origin = req.headers.origin;
    const preflight = req.method === 'OPTIONS' && origin !== undefined && req.headers['access-control-request-method'] !== undefined;
    const allowed = origin !== undefined && (this.any || this.origins.has(origin));
    if (allowed) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('vary', 'Origin');
      res.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
    }
    if (!preflight) return false;
    if (!allowed) {
      if (this.warned.size < 100 && !this.warned.has(origin)) {
        this.warned.add(origin);
        // The origin is whatever an unauthenticated peer sent: escaped, so it cannot forge or recolour a line.
        this.log.warn(`refused a cross-origin request from "${peerText(origin)}": ${this.enabled ? 'not in the allowed origins' : 'CORS is off'}; allow it with --cors-origin ${peerText(origin)}`);
      }
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`This gateway does not accept cross-origin requests from ${origin}. Its operator can allow them with --cors-origin.\n`);
      return true;
    }
    const asked = req.headers['access-control-request-headers'];
    const headers: Record<string, string> = { 'access-control-allow-methods': ALLOWED_METHODS, 'access-control-max-age': MAX_AGE_SECONDS };
    if (typeof asked === 'string' && asked.length <= 4096 && HEADER_LIST.test(asked.trim())) headers['access-control-allow-headers'] = asked.trim();
    res.writeHead(204, headers);
    res.end();
    return true;
  }
}

/**
 * The allowed origins from flag or setting values (each may hold several, comma-separated):
 * `*`, or origins such as `https://app.example.com` or `http://localhost:5173` — scheme,
 * host and port only, the way browsers send them.
 */
export function parseCorsOrigins(values: unknown, where: string): string[] {
  if (!Array.isArray(values) || !values.every((v): v is string => typeof v === 'string')) {
    throw new TokiosError('USAGE', `${where} must be a list of origins such as ["http://localhost:5173"]`);
  }
  const out: string[] = [];
  for (const value of values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean)) {
    if (value === '*') {
      out.push(value);
      continue;
    }
    const notOrigin = new TokiosError('USAGE', `${where}: '${value}' is not an origin; give one like https://app.example.com or http://localhost:5173, or * for any`);
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw notOrigin;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw notOrigin;
    if (url.origin !== value.replace(/\/$/, '')) {
      throw new TokiosError('USAGE', `${where}: '${value}' is not an origin (scheme, host and port only, no path); did you mean ${url.origin}?`);
    }
    out.push(url.origin);
  }
  return [...new Set(out)];
}

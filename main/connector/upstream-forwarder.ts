import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher, Pool } from 'undici';
import type { RequestRecord } from '../../shared/health.js';
import { ResetCode, type RequestHead, type ResetCodeValue } from '../../shared/tunnel-protocol.js';
import type { Logger } from '../logging/logger.js';
import { describeSystemError, systemErrorCode } from '../system-errors.js';
import type { TunnelStream } from '../tunnel/tunnel-session.js';
import { rewriteModel } from './model-rewrite.js';
import { checkRequestTarget } from './path-allowlist.js';
import { ModelStamp } from './response-model-stamp.js';
import { UsageScanner } from './usage-scanner.js';

/**
 * Turns one tunnel stream into one request to the configured upstream, and its answer
 * back into the stream, chunk by chunk with backpressure both ways. Only allowlisted
 * paths, only to `upstream`; `Host` rewritten, hop-by-hop and client credentials dropped,
 * `model` rewritten to the upstream's model, and the answer's `model` to the deployment name
 * (response-model-stamp.ts). An upstream's 404 that names no model means it lacks the
 * endpoint: the stream is reset as NotImplemented, so the gateway can say so instead of
 * passing on a bare "File Not Found". A reset stream aborts the upstream request at once, so
 * a GPU does not keep generating for nobody.
 *
 * The upstream client is undici's dispatcher (Node's own HTTP client library): per request
 * it costs about half of node:http's ClientRequest, which matters at thousands of requests
 * a second, and its controller gives pause/resume/abort directly.
 */

export type ModelResolution = { model: string } | { problem: string };

export interface ForwarderOptions {
  /** Upstream origin, e.g. `http://localhost:11434`. */
  upstream: string;
  resolveModel: () => Promise<ModelResolution>;
  log: Logger;
  maxBodyBytes?: number;
  /** Abort an upstream that sends nothing for this long (default 10 min: models load slowly). */
  idleTimeoutMs?: number;
  /** The upstream's kind as last probed, for error messages. */
  upstreamKind: () => string;
  /** Called with whether the upstream answered (true) or could not be reached (false). */
  onUpstreamReachable: (reachable: boolean, problem: string | null) => void;
  onRecord: (record: RequestRecord) => void;
  onActivity: () => void;
}

const DROP_REQUEST_HEADERS = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding',
  'upgrade', 'host', 'content-length', 'authorization', 'x-api-key', 'cookie', 'api-key', 'openai-organization', 'openai-project',
  'forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip', 'expect',
]);
const DROP_RESPONSE_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'set-cookie']);

export class UpstreamForwarder {
  inFlight = 0;
  /** Loaded on the first request: an idle connector does not carry an HTTP client. */
  private pool: Promise<Pool> | null = null;
  private readonly origin: string;
  private readonly host: string;
  private readonly active = new Set<Exchange>();
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: ForwarderOptions) {
    const target = new URL(options.upstream);
    this.origin = target.origin;
    this.host = target.host;
  }

  private getPool(): Promise<Pool> {
    const idle = this.options.idleTimeoutMs ?? 600_000;
    // Models can take minutes to load before the first byte: generous header and body timeouts.
    this.pool ??= import('undici').then(({ Pool: UndiciPool }) => new UndiciPool(this.origin, { headersTimeout: idle, bodyTimeout: idle, keepAliveTimeout: 30_000, connections: 256 }));
    return this.pool;
  }

  /** Resolves once no request is in flight. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  destroy(): void {
    for (const exchange of this.active) exchange.controller?.abort(new Error('connector stopped'));
    void this.pool?.then((pool) => pool.destroy());
  }

  handle(stream: TunnelStream, head: RequestHead): void {
    const check = checkRequestTarget(head.method, head.path);
    const exchange = new Exchange(stream, head, check.ok ? check.pathname : head.path.slice(0, 200), this.options.onRecord);
    if (!check.ok) {
      this.options.log.warn(`refused ${head.method} ${head.path.slice(0, 200)}: not an allowed inference endpoint`);
      exchange.fail(ResetCode.PathNotAllowed, 403, check.reason);
      return;
    }

    this.begin(exchange);
    exchange.onDone = () => this.end(exchange);
    const maxBody = this.options.maxBodyBytes ?? 64 * 1024 * 1024;
    const chunks: Buffer[] = [];
    let size = 0;
    const send = (): void => {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      void Promise.all([this.prepare(check.routedByModel, body), this.getPool()]).then(([prepared, pool]) => {
        if (stream.isClosed) return exchange.done(499, 'client disconnected');
        if ('problem' in prepared) return exchange.fail(prepared.code, prepared.code === ResetCode.BadRequest ? 400 : 502, prepared.problem);
        exchange.model = prepared.model;
        if (check.routedByModel) exchange.stamp = new ModelStamp(head.deployment);
        this.request(pool, exchange, check.path, prepared.body);
      });
    };
    stream.handler = {
      onData(chunk: Buffer) {
        size += chunk.length;
        stream.consumed(chunk.length);
        if (size > maxBody) return exchange.fail(ResetCode.BadRequest, 413, `request body is larger than ${maxBody} bytes`);
        chunks.push(chunk);
      },
      onEnd: send,
      onReset(code: ResetCodeValue, reason: string) {
        exchange.controller?.abort(new Error(reason));
        exchange.done(code === ResetCode.Cancel ? 499 : 502, reason);
      },
      onDrain() {
        exchange.controller?.resume();
      },
    };
    if (stream.remoteEnded) send();
  }

  private async prepare(routedByModel: boolean, body: Buffer): Promise<{ body: Buffer; model: string | null } | { problem: string; code: ResetCodeValue }> {
    if (!routedByModel) return { body, model: null };
    const resolution = await this.options.resolveModel();
    if ('problem' in resolution) return { problem: resolution.problem, code: ResetCode.UpstreamError };
    const rewritten = rewriteModel(body, resolution.model);
    if (rewritten) return { body: rewritten, model: resolution.model };
    // Unusual bodies (duplicate or escaped keys, no top-level model): the full parser decides.
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    } catch {
      return { problem: 'request body is not a JSON object', code: ResetCode.BadRequest };
    }
    parsed.model = resolution.model;
    return { body: Buffer.from(JSON.stringify(parsed)), model: resolution.model };
  }

  private request(pool: Pool, exchange: Exchange, path: string, body: Buffer): void {
    const { stream, head } = exchange;
    const headers: Record<string, string> = {};
    for (const name in head.headers) if (!DROP_REQUEST_HEADERS.has(name)) headers[name] = head.headers[name]!;
    headers.host = this.host;
    headers['content-length'] = String(body.length);
    const { options } = this;

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(controller) {
        exchange.controller = controller;
      },
      onResponseStart(_controller, statusCode, responseHeaders) {
        exchange.status = statusCode;
        options.onUpstreamReachable(true, null);
        const contentType = String(responseHeaders['content-type'] ?? '');
        exchange.streaming = contentType.startsWith('text/event-stream') || contentType.includes('ndjson');
        const headers = filterResponseHeaders(responseHeaders);
        // The stamp changes lengths: the gateway frames the body itself.
        if (exchange.stamp) delete headers['content-length'];
        if (statusCode === 404 && exchange.stamp) exchange.notFound = { headers, chunks: [], bytes: 0 };
        else stream.sendHead({ status: statusCode, headers });
      },
      onResponseData(controller, chunk) {
        exchange.onChunk(chunk);
        const held = exchange.notFound;
        if (held && held.bytes < MAX_NOT_FOUND_BYTES) {
          held.chunks.push(chunk);
          held.bytes += chunk.length;
          return;
        }
        if (held) exchange.releaseNotFound();
        const out = exchange.stamp ? exchange.stamp.push(chunk) : chunk;
        if (out.length > 0 && !stream.write(out)) controller.pause();
      },
      onResponseEnd() {
        const held = exchange.notFound;
        if (held && !mentionsModel(held.chunks)) {
          const kind = options.upstreamKind();
          return exchange.fail(ResetCode.NotImplemented, 501, `the ${kind} upstream has no ${exchange.head.method} ${path.split('?')[0]} (it answered 404)`);
        }
        if (held) exchange.releaseNotFound();
        const tail = exchange.stamp?.flush();
        if (tail && tail.length > 0) stream.write(tail);
        stream.end();
        exchange.done(exchange.status, null);
      },
      onResponseError(_controller, error: Error & { code?: string }) {
        if (stream.isClosed) return exchange.done(499, 'client disconnected');
        if (exchange.status === 0) {
          const problem = describeUpstreamError(options.upstream, error);
          if (isConnectError(error)) options.onUpstreamReachable(false, problem);
          exchange.fail(ResetCode.UpstreamUnreachable, 502, problem);
        } else {
          exchange.fail(ResetCode.UpstreamError, exchange.status, `upstream failed mid-response: ${error.message}`);
        }
      },
    };
    pool.dispatch({ method: head.method as Dispatcher.HttpMethod, path, headers, body }, handler);
  }

  private begin(exchange: Exchange): void {
    this.inFlight++;
    this.active.add(exchange);
    this.options.onActivity();
  }

  private end(exchange: Exchange): void {
    this.inFlight--;
    this.active.delete(exchange);
    this.options.onActivity();
    if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }
}

/** One request's bookkeeping: timings, usage, and exactly one record when it ends. */
class Exchange {
  readonly start = performance.now();
  readonly time = Date.now();
  status = 0;
  model: string | null = null;
  streaming = false;
  firstByte: number | null = null;
  controller: Dispatcher.DispatchController | null = null;
  onDone: (() => void) | null = null;
  /** Rewrites the answer's `model` to the deployment name (routed requests only). */
  stamp: ModelStamp | null = null;
  /** A 404 held back until its body says whether a model or the endpoint was missing. */
  notFound: { headers: Record<string, string | string[]>; chunks: Buffer[]; bytes: number } | null = null;
  private readonly scanner = new UsageScanner();
  private finished = false;

  constructor(
    readonly stream: TunnelStream,
    readonly head: RequestHead,
    private readonly pathname: string,
    private readonly onRecord: (record: RequestRecord) => void,
  ) {}

  onChunk(chunk: Buffer): void {
    if (this.firstByte === null) this.firstByte = performance.now();
    this.scanner.push(chunk);
  }

  /** Sends a held-back 404 on as the upstream's own answer. */
  releaseNotFound(): void {
    const held = this.notFound;
    if (!held) return;
    this.notFound = null;
    this.stream.sendHead({ status: 404, headers: held.headers });
    for (const chunk of held.chunks) {
      const out = this.stamp ? this.stamp.push(chunk) : chunk;
      if (out.length > 0) this.stream.write(out);
    }
  }

  /** Resets the stream (telling the gateway why) and records the failure. */
  fail(code: ResetCodeValue, status: number, message: string): void {
    if (this.finished) return;
    this.stream.reset(code, message);
    this.done(status, message);
  }

  done(status: number, error: string | null): void {
    if (this.finished) return;
    this.finished = true;
    const end = performance.now();
    const usage = this.scanner.result();
    const generationMs = this.streaming && this.firstByte !== null ? end - this.firstByte : end - this.start;
    const tokensPerSecond = usage.tokensPerSecond ?? (usage.completionTokens && generationMs > 0 ? usage.completionTokens / (generationMs / 1000) : null);
    this.onRecord({
      time: this.time, method: this.head.method, path: this.pathname, model: this.model, status,
      ttftMs: this.firstByte !== null ? this.firstByte - this.start : null, durationMs: end - this.start,
      promptTokens: usage.promptTokens, completionTokens: usage.completionTokens, tokensPerSecond, error,
      requestId: this.head.headers['x-request-id']?.slice(0, 64) ?? null,
    });
    this.onDone?.();
  }
}

function filterResponseHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !DROP_RESPONSE_HEADERS.has(name)) out[name] = value;
  }
  return out;
}

/** Enough of a 404 to tell "no such model" from "no such endpoint". */
const MAX_NOT_FOUND_BYTES = 16 * 1024;

/** Upstreams name the model when it is the model that is missing; route 404s never do. */
function mentionsModel(chunks: Buffer[]): boolean {
  return /model/i.test(Buffer.concat(chunks).toString('latin1'));
}

function isConnectError(error: { code?: string }): boolean {
  return ['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'ETIMEDOUT'].includes(error.code ?? '');
}

function describeUpstreamError(upstream: string, error: Error): string {
  const hint = systemErrorCode(error) === 'ECONNREFUSED' ? ' (is the model server running?)' : '';
  return `cannot reach upstream ${upstream}: ${describeSystemError(error)}${hint}`;
}

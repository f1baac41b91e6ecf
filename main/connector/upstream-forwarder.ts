import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher, Pool } from 'undici';
import type { RequestRecord } from '../../shared/health.js';
import { ResetCode, type RequestHead, type ResetCodeValue } from '../../shared/tunnel-protocol.js';
import { peerText, type Logger } from '../logging/logger.js';
import { isDroppedRequestHeader, isDroppedResponseHeader } from '../http/forwarding-headers.js';
import { ByteBudget, HeldBody } from '../http/held-body.js';
import { JsonModelScanner } from '../http/json-model-scanner.js';
import { requestOnOwnConnection, type RequestController, type ResponseHandler } from '../http/own-connection-client.js';
import { describeSystemError, systemErrorCode } from '../system-errors.js';
import type { TunnelStream } from '../tunnel/tunnel-session.js';
import { rewriteModel } from './model-rewrite.js';
import { checkRequestTarget } from './path-allowlist.js';
import { ModelStamp } from './response-model-stamp.js';
import { UsageScanner } from '../tunnel/usage-scanner.js';

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
 * Whatever a request holds, its failure ends its own stream only: a body that is not JSON
 * or nests too deep is refused (the `model` rewrite splices bytes, it never re-serialises),
 * and an error anywhere in the exchange resets that stream. Request bodies are held until
 * they can be rewritten, so credit for their bytes goes back to the gateway only once they
 * fit under `maxHeldBodyBytes` across all streams; past it the stream is refused, which
 * caps what a gateway — however hostile — can make a connector buffer.
 *
 * The upstream client is undici's dispatcher (Node's own HTTP client library): per request
 * it costs about half of node:http's ClientRequest, which matters at thousands of requests
 * a second, and its controller gives pause/resume/abort directly.
 *
 * A request that asks for a stream (`"stream": true`) goes on a connection of its own, never
 * one just used: llama.cpp's server leaves Nagle's algorithm on and writes its response head
 * apart from the body, so its first token waits for the head's ACK — and a kernel that has
 * just sent a request on a connection that was answered moments ago holds that ACK back for
 * up to 40 ms, hoping to piggyback it (docs/ARCHITECTURE.md, "Decisions"). A new connection
 * acknowledges at once; its cost (one connect on loopback) is nothing next to a stream's life.
 * Those requests use a client of their own (../http/own-connection-client.ts): the connector
 * spends about 30% fewer instructions per token with it than with undici, which is then
 * loaded only once a plain request comes.
 */

export type ModelResolution = { model: string } | { problem: string };

export interface ForwarderOptions {
  /** Upstream origin, e.g. `http://localhost:11434`. */
  upstream: string;
  resolveModel: () => Promise<ModelResolution>;
  log: Logger;
  maxBodyBytes?: number;
  /** Request body bytes held at once across all streams (default 128 MiB). */
  maxHeldBodyBytes?: number;
  /** Abort an upstream that sends nothing for this long (default 10 min: models load slowly). */
  idleTimeoutMs?: number;
  /** The upstream's kind as last probed, for error messages. */
  upstreamKind: () => string;
  /** Called with whether the upstream answered (true) or could not be reached (false). */
  onUpstreamReachable: (reachable: boolean, problem: string | null) => void;
  onRecord: (record: RequestRecord) => void;
  onActivity: () => void;
}

export const DEFAULT_MAX_HELD_BODY_BYTES = 128 * 1024 * 1024;

export class UpstreamForwarder {
  inFlight = 0;
  /** Kept-alive connections for plain requests, loaded on the first: an idle connector carries no HTTP client. */
  private pool: Promise<Pool> | null = null;
  private readonly target: URL;
  private readonly host: string;
  private readonly active = new Set<Exchange>();
  private idleWaiters: Array<() => void> = [];
  /** Request bodies held by every stream at once. */
  readonly heldBodies: ByteBudget;

  constructor(private readonly options: ForwarderOptions) {
    this.target = new URL(options.upstream);
    this.host = this.target.host;
    this.heldBodies = new ByteBudget(options.maxHeldBodyBytes ?? DEFAULT_MAX_HELD_BODY_BYTES);
  }

  /** Models can take minutes to load before the first byte: generous header and body timeouts. */
  private get idleTimeoutMs(): number {
    return this.options.idleTimeoutMs ?? 600_000;
  }

  private getPool(): Promise<Pool> {
    const idle = this.idleTimeoutMs;
    this.pool ??= import('undici').then(({ Pool: UndiciPool }) => new UndiciPool(this.target.origin, { headersTimeout: idle, bodyTimeout: idle, keepAliveTimeout: 30_000, connections: 256 }));
    return this.pool;
  }

  /** Resolves once no request is in flight. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  destroy(): void {
    for (const exchange of this.active) exchange.controller?.abort(new Error('connector stopped'));
    // Nothing waits on the pool's shutdown; a failure there has nobody left to tell.
    this.pool?.then((pool) => pool.destroy()).catch(() => undefined);
  }

  handle(stream: TunnelStream, head: RequestHead): void {
    const check = checkRequestTarget(head.method, head.path);
    const exchange = new Exchange(stream, head, check.ok ? check.pathname : head.path.slice(0, 200), this.options.onRecord);
    if (!check.ok) {
      this.options.log.warnRepeated('path-not-allowed', `refused ${head.method} ${peerText(head.path)}: not an allowed inference endpoint`);
      exchange.fail(ResetCode.PathNotAllowed, 403, check.reason);
      return;
    }

    this.begin(exchange);
    exchange.onDone = () => this.end(exchange);
    const maxBody = this.options.maxBodyBytes ?? 64 * 1024 * 1024;
    const heldBodies = this.heldBodies;
    const body = new HeldBody(heldBodies);
    exchange.body = body;
    // Routed bodies are checked as they arrive, so garbage is refused before it all is held.
    const scanner = check.routedByModel ? new JsonModelScanner() : null;
    const send = (): void => {
      this.prepare(body, scanner).then(async (prepared) => {
        const pool = 'problem' in prepared || prepared.streams ? null : await this.getPool();
        if (stream.isClosed) return exchange.done(499, 'client disconnected');
        if ('problem' in prepared) return exchange.fail(prepared.code, prepared.code === ResetCode.BadRequest ? 400 : 502, prepared.problem);
        exchange.model = prepared.model;
        if (check.routedByModel) exchange.stamp = new ModelStamp(head.deployment);
        this.request(pool, exchange, check.path, prepared.body);
      }).catch((error: unknown) => {
        this.options.log.error(`${head.method} ${check.pathname} failed in the connector: ${peerText((error as Error).message)}`);
        exchange.fail(ResetCode.Internal, 500, 'the connector failed to forward this request');
      });
    };
    stream.handler = {
      onData(chunk: Buffer) {
        if (body.size + chunk.length > maxBody) return exchange.fail(ResetCode.BadRequest, 413, `request body is larger than ${maxBody} bytes`);
        if (!body.add(chunk)) {
          // Never sent upstream, so the gateway may try it elsewhere (or answer 503).
          return exchange.fail(ResetCode.RefusedStream, 503, `the connector is holding ${mebibytes(heldBodies.limit)} of request bodies, its limit`);
        }
        if (scanner) {
          scanner.push(chunk);
          if (scanner.problem !== null) return exchange.fail(ResetCode.BadRequest, 400, `request body is not valid JSON: ${scanner.problem}`);
        }
        // Credit only for bytes this connector has taken on.
        stream.consumed(chunk.length);
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

  /** The bytes to send upstream (the body as received, or with its `model` rewritten), and whether they ask for a stream. */
  private async prepare(body: HeldBody, scanner: JsonModelScanner | null): Promise<{ body: Buffer; model: string | null; streams: boolean } | { problem: string; code: ResetCodeValue }> {
    if (!scanner) return { body: body.toBuffer(), model: null, streams: false };
    const scan = scanner.finish();
    if (!scan.ok) return { problem: `request body is not valid JSON: ${scan.problem}`, code: ResetCode.BadRequest };
    const resolution = await this.options.resolveModel();
    if ('problem' in resolution) return { problem: resolution.problem, code: ResetCode.UpstreamError };
    const rewritten = rewriteModel(body, scan, resolution.model);
    if ('problem' in rewritten) return { problem: rewritten.problem, code: ResetCode.BadRequest };
    body.dropChunks();
    return { body: rewritten.body, model: resolution.model, streams: scan.stream.on };
  }

  /** Sends the request through `pool`, or on a connection of its own when there is none (streams). */
  private request(pool: Pool | null, exchange: Exchange, path: string, body: Buffer): void {
    const { stream, head } = exchange;
    const headers: Record<string, string> = {};
    for (const name in head.headers) if (!isDroppedRequestHeader(name)) headers[name.toLowerCase()] = head.headers[name]!;
    const { options } = this;

    const handler: ResponseHandler = {
      onRequestStart(controller) {
        exchange.controller = controller;
      },
      onResponseStart(_controller, statusCode, responseHeaders) {
        exchange.status = statusCode;
        // The upstream has the body (or answered without it): its bytes stop counting as held.
        exchange.body?.release();
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
    if (pool) {
      headers.host = this.host;
      headers['content-length'] = String(body.length);
      pool.dispatch({ method: head.method as Dispatcher.HttpMethod, path, headers, body }, handler);
    } else {
      requestOnOwnConnection(this.target, { method: head.method, path, headers, body }, handler, { headersTimeoutMs: this.idleTimeoutMs, bodyTimeoutMs: this.idleTimeoutMs });
    }
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
  controller: RequestController | null = null;
  /** The request body while this exchange holds it. */
  body: HeldBody | null = null;
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
    this.body?.release();
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
    if (value !== undefined && !isDroppedResponseHeader(name)) out[name] = value;
  }
  return out;
}

/** Enough of a 404 to tell "no such model" from "no such endpoint". */
const MAX_NOT_FOUND_BYTES = 16 * 1024;

/** Upstreams name the model when it is the model that is missing; route 404s never do. */
function mentionsModel(chunks: Buffer[]): boolean {
  return /model/i.test(Buffer.concat(chunks).toString('latin1'));
}

function mebibytes(bytes: number): string {
  return `${Math.round(bytes / (1024 * 1024))} MiB`;
}

function isConnectError(error: { code?: string }): boolean {
  return ['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'ETIMEDOUT'].includes(error.code ?? '');
}

function describeUpstreamError(upstream: string, error: Error): string {
  const hint = systemErrorCode(error) === 'ECONNREFUSED' ? ' (is the model server running?)' : '';
  return `cannot reach upstream ${upstream}: ${describeSystemError(error)}${hint}`;
}

import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { RequestRecord } from '../../shared/health.js';
import { ResetCode, type RequestHead, type ResetCodeValue } from '../../shared/tunnel-protocol.js';
import type { Logger } from '../logging/logger.js';
import type { TunnelStream } from '../tunnel/tunnel-session.js';
import { checkRequestTarget } from './path-allowlist.js';
import { UsageScanner } from './usage-scanner.js';

/**
 * Turns one tunnel stream into one request to the configured upstream, and its answer
 * back into the stream, chunk by chunk with backpressure both ways. Only allowlisted
 * paths, only to `upstream`; `Host` rewritten, hop-by-hop and client credentials dropped,
 * `model` rewritten to the upstream's model. A reset stream aborts the upstream request
 * at once, so a GPU does not keep generating for nobody.
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
  private readonly target: URL;
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;
  private readonly active = new Set<http.ClientRequest>();
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: ForwarderOptions) {
    this.target = new URL(options.upstream);
    this.transport = this.target.protocol === 'https:' ? https : http;
    this.agent = new this.transport.Agent({ keepAlive: true, keepAliveMsecs: 1000, maxFreeSockets: 256 });
  }

  /** Resolves once no request is in flight. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  destroy(): void {
    for (const req of this.active) req.destroy();
    this.agent.destroy();
  }

  handle(stream: TunnelStream, head: RequestHead): void {
    const check = checkRequestTarget(head.method, head.path);
    const exchange = new Exchange(stream, head, check.ok ? check.pathname : head.path.slice(0, 200), this.options.onRecord);
    if (!check.ok) {
      this.options.log.warn(`refused ${head.method} ${head.path.slice(0, 200)}: not an allowed inference endpoint`);
      exchange.fail(ResetCode.PathNotAllowed, 403, check.reason);
      return;
    }

    this.begin();
    exchange.onDone = () => this.end();
    const maxBody = this.options.maxBodyBytes ?? 64 * 1024 * 1024;
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      stream.consumed(chunk.length);
      if (size > maxBody) return exchange.fail(ResetCode.BadRequest, 413, `request body is larger than ${maxBody} bytes`);
      chunks.push(chunk);
    });
    stream.on('reset', (code: ResetCodeValue, reason: string) => {
      exchange.upstreamRequest?.destroy();
      exchange.done(code === ResetCode.Cancel ? 499 : 502, reason);
    });
    const send = (): void => {
      void this.prepare(check.routedByModel, Buffer.concat(chunks, size)).then((prepared) => {
        if (stream.isClosed) return exchange.done(499, 'client disconnected');
        if ('problem' in prepared) return exchange.fail(prepared.code, prepared.code === ResetCode.BadRequest ? 400 : 502, prepared.problem);
        exchange.model = prepared.model;
        this.request(exchange, check.path, prepared.body);
      });
    };
    if (stream.remoteEnded) send();
    else stream.once('end', send);
  }

  private async prepare(routedByModel: boolean, body: Buffer): Promise<{ body: Buffer; model: string | null } | { problem: string; code: ResetCodeValue }> {
    if (!routedByModel) return { body, model: null };
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    } catch {
      return { problem: 'request body is not a JSON object', code: ResetCode.BadRequest };
    }
    const resolution = await this.options.resolveModel();
    if ('problem' in resolution) return { problem: resolution.problem, code: ResetCode.UpstreamError };
    if (parsed.model === resolution.model) return { body, model: resolution.model };
    parsed.model = resolution.model;
    return { body: Buffer.from(JSON.stringify(parsed)), model: resolution.model };
  }

  private request(exchange: Exchange, path: string, body: Buffer): void {
    const { stream, head } = exchange;
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(head.headers)) if (!DROP_REQUEST_HEADERS.has(name)) headers[name] = value;
    headers.host = this.target.host;
    headers['content-length'] = body.length;

    const req = this.transport.request({
      protocol: this.target.protocol, hostname: this.target.hostname, port: this.target.port, method: head.method, path, headers, agent: this.agent,
    });
    exchange.upstreamRequest = req;
    this.active.add(req);
    req.once('close', () => this.active.delete(req));

    req.setTimeout(this.options.idleTimeoutMs ?? 600_000, () => req.destroy(new Error('upstream sent nothing for too long')));
    req.on('response', (res) => {
      exchange.status = res.statusCode ?? 502;
      this.options.onUpstreamReachable(true, null);
      const contentType = String(res.headers['content-type'] ?? '');
      exchange.streaming = contentType.startsWith('text/event-stream') || contentType.includes('ndjson');
      stream.sendHead({ status: exchange.status, headers: responseHeaders(res.headers) });
      res.on('data', (chunk: Buffer) => {
        exchange.onChunk(chunk);
        if (!stream.write(chunk)) {
          res.pause();
          stream.once('drain', () => res.resume());
        }
      });
      res.on('end', () => {
        stream.end();
        exchange.done(exchange.status, null);
      });
      res.on('close', () => {
        if (!res.complete) exchange.fail(ResetCode.UpstreamError, exchange.status, 'upstream closed the connection mid-response');
      });
    });
    req.on('error', (error: Error & { code?: string }) => {
      if (stream.isClosed) return exchange.done(499, 'client disconnected');
      if (exchange.status === 0) {
        const problem = describeUpstreamError(this.options.upstream, error);
        if (isConnectError(error)) this.options.onUpstreamReachable(false, problem);
        exchange.fail(ResetCode.UpstreamUnreachable, 502, problem);
      } else {
        exchange.fail(ResetCode.UpstreamError, exchange.status, `upstream failed mid-response: ${error.message}`);
      }
    });
    req.end(body);
  }

  private begin(): void {
    this.inFlight++;
    this.options.onActivity();
  }

  private end(): void {
    this.inFlight--;
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
  upstreamRequest: http.ClientRequest | null = null;
  onDone: (() => void) | null = null;
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
    });
    this.onDone?.();
  }
}

function responseHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !DROP_RESPONSE_HEADERS.has(name)) out[name] = value;
  }
  return out;
}

function isConnectError(error: { code?: string }): boolean {
  return ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'ETIMEDOUT'].includes(error.code ?? '');
}

function describeUpstreamError(upstream: string, error: Error & { code?: string }): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return `upstream ${upstream} refused the connection (is the model server running?)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve the upstream host in ${upstream}`;
    case 'ECONNRESET':
      return `upstream ${upstream} reset the connection`;
    default:
      return `upstream ${upstream} is unreachable: ${error.message}`;
  }
}

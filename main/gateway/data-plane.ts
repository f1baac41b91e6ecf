import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEFAULT_LIMITS, INFERENCE_ROUTES, ResetCode, type RequestHead, type ResetCodeValue, type ResponseHead } from '../../shared/tunnel-protocol.js';
import type { ByteBudget } from '../http/held-body.js';
import { peerText, type Logger } from '../logging/logger.js';
import { planExchange, type PlanBody } from './dialects/exchange-plan.js';
import { ModelCatalog } from './dialects/model-catalog.js';
import { REQUEST_ID_HEADER, requestIdOf } from './dialects/request-id.js';
import type { ResponseTransform } from './dialects/translated-response.js';
import type { AccountRegistries } from './account-registries.js';
import { heldBodiesFull, sendError, sendJson, sendRefusal } from './http-util.js';
import type { RequestAccounting, RequestTicket } from './request-accounting.js';
import type { Principal, RequestAuth } from './request-auth.js';
import { forwardHeaders, headRefusal } from './request-head.js';
import { noteDeployment, noteFirstByte, noteForwarded } from './request-observer.js';
import { ChunkedBodyWriter } from './chunked-body-writer.js';
import { responseFraming, ResponseLength } from './response-framing.js';
import { modelField, readRoutedBody } from './routed-body.js';
import { askForStreamUsage } from './stream-usage.js';
import type { TunnelEntry, TunnelRegistry } from './tunnel-registry.js';

/**
 * The OpenAI/Anthropic/Ollama-compatible front door: authenticates the API key, checks its
 * limits, routes by the body's `model` to a deployment of the key's account, and streams
 * the answer back as it comes — translated when the upstream does not speak the client's
 * dialect (dialects/).
 *
 * A request reaches a tunnel only if the tunnel can carry it (431/414 otherwise), and a
 * response reaches the client only in framing the gateway vouches for: a connector's
 * declared length is enforced byte for byte — bytes past it are dropped and the response
 * ends there, a response ending short has its connection cut — so no byte a connector
 * sends can be read by a keep-alive client as the answer to its next request.
 */

export interface DataPlaneOptions {
  auth: RequestAuth;
  registries: AccountRegistries;
  accounting: RequestAccounting;
  log: Logger;
  maxBodyBytes: number;
  /** Request body bytes held at once across all requests. */
  heldBodies: ByteBudget;
  /** How long a request waits for a deployment whose tunnel dropped moments ago. */
  offlineGraceMs: number;
  isDraining: () => boolean;
}

interface RequestContext {
  /** The registry of the key's account: the only deployments this request may reach. */
  registry: TunnelRegistry;
  principal: Principal;
  ticket: RequestTicket;
  /** Members that failed this request before answering; it was retried once on another. */
  failed?: Set<TunnelEntry>;
}

/**
 * Resets that mean the member failed, not that the request is wrong: before any byte of the
 * answer reached the client, the request goes once to another member of the pool.
 */
const FAILOVER: ReadonlySet<ResetCodeValue> = new Set([ResetCode.UpstreamUnreachable, ResetCode.UpstreamError, ResetCode.Internal, ResetCode.FlowControl, ResetCode.Protocol]);

const ROUTED = new Set(INFERENCE_ROUTES.filter((r) => r.routedByModel).map((r) => r.path));
const MAX_REFUSED_RETRIES = 3;

export class DataPlane {
  /** Inference requests being answered right now (the gateway drains these on shutdown). */
  inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly catalog = new ModelCatalog();

  constructor(private readonly options: DataPlaneOptions) {}

  /** True when this plane answers `method pathname` (the router's question). */
  handles(method: string, pathname: string): boolean {
    return (method === 'POST' && ROUTED.has(pathname)) || this.catalog.handles(method, pathname);
  }

  /** Whether `pathname` is one of ours with another method (405 rather than 404). */
  knowsPath(pathname: string): boolean {
    return ROUTED.has(pathname) || this.catalog.knowsPath(pathname);
  }

  async handle(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
    const auth = await this.options.auth.apiKey(req);
    if (!auth.ok) return sendError(res, auth.status, auth.message, auth.type, auth.code);
    const { principal } = auth;
    const registry = this.options.registries.forAccount(principal.accountId);
    if (this.catalog.handles(req.method ?? 'GET', pathname)) return this.catalog.handle(req, res, pathname, { registry, allowed: principal.credential.models ?? null });
    if (this.options.isDraining()) {
      sendError(res, 503, 'The gateway is shutting down; retry in a moment.', 'service_unavailable', 'gateway_draining', { 'retry-after': '1', connection: 'close' });
      return;
    }
    const begun = await this.options.accounting.begin(principal, req.method ?? 'POST', pathname, res);
    if (!begun.ok) return sendError(res, begun.status, begun.message, begun.type, begun.code, begun.headers);
    this.inFlight++;
    res.once('close', () => {
      this.inFlight--;
      if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    });
    await this.route(req, res, pathname, { registry, principal, ticket: begun.ticket });
  }

  /** Resolves when no inference request is in flight. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async route(req: IncomingMessage, res: ServerResponse, pathname: string, ctx: RequestContext): Promise<void> {
    const { maxBodyBytes, heldBodies } = this.options;
    const { registry, ticket } = ctx;
    const target = req.url ?? '/';
    const headers = forwardHeaders(req);
    const refusal = headRefusal(target, headers);
    if (refusal) return sendError(res, refusal.status, refusal.message, 'invalid_request_error', refusal.code);

    const read = await readRoutedBody(req, maxBodyBytes, heldBodies);
    switch (read.kind) {
      case 'gone':
        return void res.destroy();
      case 'too-large':
        return sendError(res, 413, `Request body is larger than this gateway's limit of ${maxBodyBytes} bytes.`, 'invalid_request_error', 'request_too_large', { connection: 'close' });
      case 'busy': {
        // The rest of the body goes unread: this connection ends with the answer.
        const refusal = heldBodiesFull(heldBodies.limit);
        return sendRefusal(res, { ...refusal, headers: { ...refusal.headers, connection: 'close' } });
      }
    }
    const { body, scan } = read;
    res.once('close', () => body.release());
    if (!scan.ok) return sendError(res, 400, `Request body is not valid JSON (${scan.problem}).`, 'invalid_request_error', 'invalid_json');
    const field = scan.isObject ? modelField(body, scan) : { missing: true as const };
    if ('problem' in field) return sendError(res, 400, `Request body is not valid JSON (${field.problem}).`, 'invalid_request_error', 'invalid_json');
    if ('missing' in field || field.model === '') {
      return sendError(res, 400, 'Request body has no "model": set it to one of your deployment names.', 'invalid_request_error', 'missing_model');
    }
    const model = field.model;
    noteDeployment(res, model);
    ticket.deployment = model;
    const allowed = ctx.principal.credential.models;
    if (allowed && !allowed.includes(model)) {
      return sendError(res, 403, `This API key may not use '${model.slice(0, 64)}'; it is limited to: ${allowed.join(', ')}.`, 'permission_error', 'model_not_allowed');
    }
    if (field.tooLong || !registry.isBound(model)) {
      const names = registry.names().filter((name) => !allowed || allowed.includes(name));
      const known = names.length ? `Deployments on this gateway: ${names.join(', ')}.` : 'This gateway has no deployments yet; register one with `tokios register`.';
      const shown = model.length > 64 || field.tooLong ? `${model.slice(0, 64)}…` : model;
      return sendError(res, 404, `The model '${shown}' does not exist. ${known}`, 'invalid_request_error', 'model_not_found');
    }

    const head: RequestHead = { method: 'POST', path: target, headers, deployment: model };
    // The gateway's request id travels on, so the connector's request log carries it too.
    const requestId = requestIdOf(res);
    if (requestId) head.headers[REQUEST_ID_HEADER] = requestId;
    if (askForStreamUsage(pathname, scan, body)) ticket.dropUsageEvents = true;
    this.forward(req, res, head, { held: body, values: scan.valueCount }, 0, ctx);
  }

  /**
   * Sends the request over a live tunnel of its deployment, or waits for one. Never throws:
   * it runs from a timer and from a stream's reset as well as from route(), so an error in
   * it (a bug) must end this request, with a 500, and nothing else.
   */
  private forward(req: IncomingMessage, res: ServerResponse, head: RequestHead, body: PlanBody, refused: number, ctx: RequestContext, onNoOther?: () => void): void {
    try {
      const name = head.deployment;
      const entry = ctx.registry.pick(name, ctx.failed);
      if (!entry) {
        if (onNoOther) return onNoOther();
        this.waitAndForward(req, res, head, body, refused, ctx).catch((error: unknown) => this.failed(res, head, error));
        return;
      }
      // A connector may accept less than ours do; what it cannot take must not reach it. Its
      // Hello says so (for a member another replica holds, the session is the peer link's).
      const maxHeadBytes = entry.hello?.limits.maxHeaderBytes ?? entry.session.peerLimits.maxHeaderBytes;
      const refusal = maxHeadBytes < DEFAULT_LIMITS.maxHeaderBytes ? headRefusal(head.path, head.headers, maxHeadBytes) : null;
      if (refusal) return sendError(res, refusal.status, refusal.message, 'invalid_request_error', refusal.code);
      this.exchange(entry, res, head, body, ctx.ticket, (code, reason, fail) => {
        if (code !== ResetCode.RefusedStream) {
          // Failed before answering: once, on another member; with none, the client hears this failure.
          if (ctx.failed) return fail();
          ctx.failed = new Set([entry]);
          this.options.log.info(`deployment '${peerText(name)}': member ${entry.id} failed before answering (${peerText(reason)}); trying another`);
          return this.forward(req, res, head, body, refused, ctx, fail);
        }
        if (refused + 1 >= MAX_REFUSED_RETRIES) {
          sendError(res, 503, `Deployment '${name}' refused the request (${reason}); retry shortly.`, 'service_unavailable', 'deployment_unavailable', { 'retry-after': '1' });
        } else {
          this.forward(req, res, head, body, refused + 1, ctx);
        }
      });
    } catch (error) {
      this.failed(res, head, error);
    }
  }

  /** A bug met one request: it gets a 500 (or its connection cut, once its answer began), the log one line per kind and window. */
  private failed(res: ServerResponse, head: RequestHead, error: unknown): void {
    const text = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
    this.options.log.errorRepeated(`internal ${head.deployment}`, `request for '${head.deployment}' (${peerText(head.path, 100)}) failed with an internal error; it got a 500: ${text}`);
    sendError(res, 500, 'Internal gateway error.', 'server_error', 'internal_error');
  }

  private async waitAndForward(req: IncomingMessage, res: ServerResponse, head: RequestHead, body: PlanBody, refused: number, ctx: RequestContext): Promise<void> {
    const name = head.deployment;
    const { offlineGraceMs } = this.options;
    const { registry } = ctx;
    const entry = registry.recentlyOnline(name, offlineGraceMs) ? await waitForTunnel(registry, name, offlineGraceMs, res) : null;
    if (res.destroyed) return;
    if (!entry) {
      sendError(res, 503, `Deployment '${name}' is offline: no connector is connected for it. Start its connector (tokios connect, or the Tokios app).`, 'service_unavailable', 'deployment_offline', { 'retry-after': '2' });
      return;
    }
    this.forward(req, res, head, body, refused, ctx);
  }

  /**
   * One attempt over one tunnel. `onFailed` runs when it failed before any of the answer
   * reached the client: refused (the connector never took it), or the member failed; `fail`
   * then answers the client with that failure.
   */
  private exchange(entry: TunnelEntry, res: ServerResponse, head: RequestHead, body: PlanBody, ticket: RequestTicket, onFailed: (code: ResetCodeValue, reason: string, fail: () => void) => void): void {
    // Dialects: pass through, translate, answer here, or refuse — decided by this tunnel's upstream.
    // Only a translation reads the body whole; a pass-through never joins its chunks.
    const plan = planExchange(head, body, { hello: entry.hello, connectedAt: entry.connectedAt, requestId: requestIdOf(res), budget: this.options.heldBodies });
    if (plan.kind === 'refuse') return sendRefusal(res, plan);
    if (plan.kind === 'busy') return sendRefusal(res, heldBodiesFull(this.options.heldBodies.limit));
    if (plan.kind === 'answer') return sendJson(res, 200, plan.body);
    let transform: ResponseTransform | null = null;
    let chunks = body.held.chunks;
    if (plan.kind === 'translate') {
      ({ head, transform } = plan);
      chunks = [plan.body];
    }

    // A member another replica holds: the peer link to it carries the stream, naming the tunnel and whose request it is.
    const stream = entry.session.openStream(entry.replica ? { ...head, tunnel: entry.id, account: entry.accountId } : head, chunks.length === 0);
    if (entry.replica) {
      entry.hops = (entry.hops ?? 0) + 1;
      res.once('close', () => entry.hops!--);
    }
    noteForwarded(res);
    for (let i = 0; i < chunks.length - 1; i++) stream.write(chunks[i]!);
    if (chunks.length > 0) stream.end(chunks[chunks.length - 1]);
    let waitingForDrain = false;
    let unconsumed = 0;
    let length: ResponseLength | null = null;
    const writer = new ChunkedBodyWriter(res);
    const onDrain = (): void => {
      waitingForDrain = false;
      const bytes = unconsumed;
      unconsumed = 0;
      stream.consumed(bytes);
    };
    const log = this.options.log;
    /** The deployment broke its response's framing: end this response, and only it. */
    const broke = (problem: string, end: () => void): void => {
      log.warnRepeated(`framing ${head.deployment}`, `deployment '${head.deployment}' stream ${stream.id} ${problem}; the response was ended there`);
      stream.reset(ResetCode.Protocol, `response ${problem}`);
      end();
    };

    stream.handler = {
      onHead(upstream: ResponseHead) {
        if (res.destroyed) return;
        const response = transform ? transform.head(upstream) : upstream;
        // A translated whole answer: collected, and answered at its end, status included.
        if (response === null) return;
        noteFirstByte(res);
        const framing = responseFraming(response, ticket.limitHeaders, ticket.dropUsageEvents);
        if ('problem' in framing) {
          // No framing the gateway could vouch for: answer 502 instead.
          stream.reset(ResetCode.Protocol, `malformed response head: ${framing.problem}`);
          return sendError(res, 502, `Deployment '${head.deployment}' sent a malformed response (${framing.problem}).`, 'upstream_error', 'upstream_protocol_error');
        }
        // Header names and values were checked by Node's rules when the head arrived.
        res.writeHead(response.status, framing.headers);
        // The answer began: no other member will be tried, so the body need not be held while it streams.
        body.held.release();
        if (framing.length !== null) length = new ResponseLength(framing.length);
        // Streaming answers: let the client see the status line before the first token.
        const type = String(response.headers['content-type'] ?? '');
        if (type.startsWith('text/event-stream') || type.includes('ndjson')) res.flushHeaders();
      },
      onData(chunk: Buffer) {
        if (res.destroyed) return;
        if (length) {
          const fits = length.take(chunk.length);
          if (fits < chunk.length) {
            if (fits > 0) res.write(chunk.subarray(0, fits));
            return broke('sent more bytes than its content-length', () => res.end());
          }
        }
        // The upstream's own bytes are what its usage is read from; the client gets its dialect.
        const out = ticket.onChunk(chunk, transform ? transform.data(chunk) : chunk);
        if (transform !== null && (transform.refusal !== null || transform.ended)) {
          // The translation is over: an answer it will not translate (said instead), or a
          // stream whose failure events were its last. Stop the deployment sending more.
          stream.reset(ResetCode.Cancel, transform.refusal ? 'answer refused' : 'translated stream failed');
          return transform.refusal ? sendRefusal(res, transform.refusal) : void res.end(out);
        }
        // Always written; credit goes back to the connector only once the client took it.
        const flushed = out.length === 0 || writer.write(out);
        if (waitingForDrain || !flushed) {
          unconsumed += chunk.length;
          if (!waitingForDrain) {
            waitingForDrain = true;
            writer.onceDrain(onDrain);
          }
        } else {
          stream.consumed(chunk.length);
        }
      },
      onEnd() {
        if (res.destroyed) return;
        if (!res.headersSent) {
          if (!transform) return sendError(res, 502, `Deployment '${head.deployment}' ended the response without a status.`, 'upstream_error', 'upstream_error');
          const whole = transform.whole();
          noteFirstByte(res);
          const text = ticket.forClient(whole.body);
          res.writeHead(whole.head.status, { ...whole.head.headers, ...ticket.limitHeaders, 'content-length': String(Buffer.byteLength(text)) });
          res.end(text);
          return;
        }
        const short = length?.shortfall();
        if (short) return broke(short, () => res.destroy());
        const last = transform?.end();
        res.end(last ? ticket.forClient(last) : last);
      },
      onReset(code: ResetCodeValue, reason: string) {
        const answer = (): void => {
          if (res.destroyed) return;
          if (res.headersSent) {
            log.warnRepeated(`reset ${head.deployment}`, `deployment '${head.deployment}' stream ${stream.id} reset mid-response: ${peerText(reason)}`);
            // A translated stream can say so in its own dialect; otherwise the only honest signal left is to cut the connection.
            const last = transform?.fail(reason);
            if (last) res.end(last);
            else res.destroy();
            return;
          }
          const [status, type, errorCode] = resetToHttp(code);
          sendError(res, status, `Deployment '${head.deployment}': ${reason}`, type, errorCode, code === ResetCode.NotImplemented ? { 'x-should-retry': 'false' } : {});
        };
        if ((code === ResetCode.RefusedStream || FAILOVER.has(code)) && !res.headersSent && !res.destroyed) return onFailed(code, reason, answer);
        answer();
      },
    };
    res.on('close', () => {
      transform?.close();
      if (!stream.isClosed) stream.reset(ResetCode.Cancel, 'client disconnected');
    });
  }
}

function waitForTunnel(registry: TunnelRegistry, name: string, timeoutMs: number, res: ServerResponse): Promise<TunnelEntry | null> {
  return new Promise((resolve) => {
    const done = (entry: TunnelEntry | null): void => {
      clearTimeout(timer);
      registry.off('ready', onReady);
      res.off('close', onClose);
      resolve(entry);
    };
    const onReady = (): void => {
      const entry = registry.pick(name);
      if (entry) done(entry);
    };
    const onClose = (): void => done(null);
    const timer = setTimeout(() => done(null), timeoutMs);
    registry.on('ready', onReady);
    res.on('close', onClose);
  });
}

function resetToHttp(code: ResetCodeValue): [number, string, string] {
  switch (code) {
    case ResetCode.UpstreamUnreachable:
      return [502, 'upstream_error', 'upstream_unreachable'];
    case ResetCode.BadRequest:
      return [400, 'invalid_request_error', 'bad_request'];
    case ResetCode.PathNotAllowed:
      return [403, 'invalid_request_error', 'path_not_allowed'];
    case ResetCode.NotImplemented:
      return [501, 'not_implemented_error', 'endpoint_not_implemented'];
    case ResetCode.RefusedStream:
      return [503, 'service_unavailable', 'deployment_unavailable'];
    default:
      return [502, 'upstream_error', 'upstream_error'];
  }
}

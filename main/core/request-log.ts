import { EventEmitter } from 'node:events';
import type { InspectedRequest } from '../../shared/api.js';
import type { RequestRecord } from '../../shared/health.js';
import { RATE_WINDOW_MS } from '../../shared/rates.js';
import type { GatewayRequestRecord } from '../gateway/request-observer.js';

/**
 * The request inspector's feed: every request the embedded gateway saw (refused ones
 * included) joined with what the connector that served it reported (tokens, the upstream's
 * share of the time). The two halves meet by the gateway's `x-request-id`, which the
 * connector records too, whichever arrives first; with a remote gateway only the
 * connector's half exists. The same records
 * give each deployment its totals and last-minute rates, so the tiles agree with the table.
 *
 * Events: 'logged' (InspectedRequest) — new, or the same id with more filled in.
 */

export interface DeploymentFigures {
  totals: { requests: number; errors: number; promptTokens: number; completionTokens: number };
  requestsPerMinute: number;
  tokensPerSecond: number | null;
  ttftMs: number | null;
  lastRequestAt: number | null;
}

const CAPACITY = 1000;
const PER_DEPLOYMENT = 200;
/** How long one half waits for the other. */
const JOIN_WINDOW_MS = 120_000;
/** At most this many halves wait at once (the oldest give up first). */
const MAX_WAITING = 2000;

interface Entry {
  request: InspectedRequest;
  /** Arrival at the gateway → into the tunnel, and the gateway's view of the first byte. */
  gateway: { queuedMs: number | null; ttftMs: number | null } | null;
  upstreamTtftMs: number | null;
  key: string | null;
}

export class RequestLog extends EventEmitter<{ logged: [InspectedRequest] }> {
  private nextId = 1;
  private readonly entries: Entry[] = [];
  private readonly byDeployment = new Map<string, Entry[]>();
  private readonly totals = new Map<string, DeploymentFigures['totals']>();
  /** Halves waiting for their other half, by request id. */
  private readonly open = new Map<string, { entry: Entry; at: number }>();

  /** `resolve` maps a requested name to the app's deployment id, when it has one. */
  constructor(private readonly resolve: (name: string) => string | null) {
    super();
  }

  /** The gateway's record of a request it answered (or refused). */
  fromGateway(record: GatewayRequestRecord): void {
    const deploymentId = record.deployment ? this.resolve(record.deployment) : null;
    // Only a request that entered a tunnel has a connector's half to wait for.
    const key = record.queuedMs !== null ? record.requestId : null;
    const waiting = key ? this.take(key, (e) => e.gateway === null) : null;
    const gateway = { queuedMs: record.queuedMs, ttftMs: record.ttftMs };
    if (waiting) {
      const wasError = isError(waiting.request);
      waiting.gateway = gateway;
      Object.assign(waiting.request, {
        time: record.time, status: record.status, client: record.client, errorCode: record.errorCode,
        ttftMs: record.ttftMs, durationMs: record.durationMs, seenBy: 'both',
      });
      this.finish(waiting, wasError);
      return;
    }
    const entry: Entry = {
      key, gateway, upstreamTtftMs: null,
      request: {
        id: this.nextId++, time: record.time, deploymentId, deployment: record.deployment, method: record.method, path: record.path,
        status: record.status, client: record.client, errorCode: record.errorCode, error: describeRefusal(record),
        ttftMs: record.ttftMs, durationMs: record.durationMs, promptTokens: null, completionTokens: null, tokensPerSecond: null,
        upstreamModel: null, timing: { gatewayMs: null, tunnelMs: null, upstreamMs: null }, seenBy: 'gateway', requestId: record.requestId,
      },
    };
    if (key) this.wait(key, entry);
    this.finish(entry, null);
  }

  /** A connector's record of a request it forwarded to its upstream. */
  fromConnector(deploymentId: string, name: string, record: RequestRecord): void {
    const key = record.requestId;
    const waiting = key ? this.take(key, (e) => e.request.seenBy === 'gateway') : null;
    const usage = { promptTokens: record.promptTokens, completionTokens: record.completionTokens, tokensPerSecond: record.tokensPerSecond, upstreamModel: record.model };
    if (waiting) {
      const wasError = isError(waiting.request);
      waiting.upstreamTtftMs = record.ttftMs;
      Object.assign(waiting.request, usage, { seenBy: 'both', error: waiting.request.error ?? record.error });
      this.addTokens(deploymentId, record);
      this.finish(waiting, wasError);
      return;
    }
    const entry: Entry = {
      key, gateway: null, upstreamTtftMs: record.ttftMs,
      request: {
        id: this.nextId++, time: record.time, deploymentId, deployment: name, method: record.method, path: record.path, status: record.status,
        client: null, errorCode: null, error: record.error, ttftMs: record.ttftMs, durationMs: record.durationMs, ...usage,
        timing: { gatewayMs: null, tunnelMs: null, upstreamMs: null }, seenBy: 'connector', requestId: record.requestId,
      },
    };
    if (key) this.wait(key, entry);
    this.finish(entry, null);
    this.addTokens(deploymentId, record);
  }

  /** Newest first. */
  list(deploymentId?: string, limit = CAPACITY): InspectedRequest[] {
    const source = deploymentId ? (this.byDeployment.get(deploymentId) ?? []) : this.entries;
    const out: InspectedRequest[] = [];
    for (let i = source.length - 1; i >= 0 && out.length < limit; i--) out.push({ ...source[i]!.request });
    return out;
  }

  /** Totals since the app started and rates over the last minute. */
  figures(deploymentId: string, now = Date.now()): DeploymentFigures {
    const recent = (this.byDeployment.get(deploymentId) ?? []).filter((e) => now - e.request.time < RATE_WINDOW_MS);
    const speeds = recent.map((e) => e.request.tokensPerSecond).filter(isNumber);
    const ttfts = recent.map((e) => e.request.ttftMs).filter(isNumber);
    const list = this.byDeployment.get(deploymentId);
    return {
      totals: { ...(this.totals.get(deploymentId) ?? { requests: 0, errors: 0, promptTokens: 0, completionTokens: 0 }) },
      requestsPerMinute: recent.length,
      tokensPerSecond: speeds.length ? speeds.reduce((a, b) => a + b, 0) / speeds.length : null,
      ttftMs: median(ttfts),
      lastRequestAt: list?.length ? Math.max(...list.slice(-5).map((e) => e.request.time)) : null,
    };
  }

  /** A removed deployment's requests stay in the inspector, but nothing carries over to a new one. */
  forget(deploymentId: string): void {
    this.byDeployment.delete(deploymentId);
    this.totals.delete(deploymentId);
  }

  private wait(key: string, entry: Entry): void {
    this.open.set(key, { entry, at: Date.now() });
    if (this.open.size > MAX_WAITING) this.open.delete(this.open.keys().next().value!);
  }

  private take(key: string, fits: (entry: Entry) => boolean): Entry | null {
    const now = Date.now();
    for (const [k, { at }] of this.open) {
      if (now - at <= JOIN_WINDOW_MS) break; // insertion order: the rest are younger
      this.open.delete(k);
    }
    const found = this.open.get(key);
    if (!found || !fits(found.entry)) return null;
    this.open.delete(key);
    return found.entry;
  }

  private addTokens(deploymentId: string, record: RequestRecord): void {
    const totals = this.totals.get(deploymentId);
    if (!totals) return;
    totals.promptTokens += record.promptTokens ?? 0;
    totals.completionTokens += record.completionTokens ?? 0;
  }

  /** Files a new entry (`wasError` null) or an updated one, keeping the totals exact. */
  private finish(entry: Entry, wasError: boolean | null): void {
    const request = entry.request;
    request.timing = breakdown(entry);
    const id = request.deploymentId;
    if (wasError === null) {
      this.entries.push(entry);
      if (this.entries.length > CAPACITY) this.entries.splice(0, this.entries.length - CAPACITY);
      if (id) {
        const list = this.byDeployment.get(id) ?? [];
        list.push(entry);
        if (list.length > PER_DEPLOYMENT) list.splice(0, list.length - PER_DEPLOYMENT);
        this.byDeployment.set(id, list);
        if (!this.totals.has(id)) this.totals.set(id, { requests: 0, errors: 0, promptTokens: 0, completionTokens: 0 });
        this.totals.get(id)!.requests++;
      }
    }
    const totals = id ? this.totals.get(id) : undefined;
    if (totals) totals.errors += Number(isError(request)) - Number(wasError ?? false);
    this.emit('logged', { ...request, timing: { ...request.timing } });
  }
}

function isError(request: InspectedRequest): boolean {
  return request.status >= 400 && request.status !== 499;
}

/** First-byte time split between the gateway, the tunnel (both ways) and the upstream. */
function breakdown(entry: Entry): InspectedRequest['timing'] {
  const gatewayMs = entry.gateway?.queuedMs ?? null;
  const upstreamMs = entry.upstreamTtftMs;
  const total = entry.gateway?.ttftMs ?? null;
  const tunnelMs = total !== null && gatewayMs !== null && upstreamMs !== null ? Math.max(0, total - gatewayMs - upstreamMs) : null;
  return { gatewayMs, tunnelMs, upstreamMs };
}

function describeRefusal(record: GatewayRequestRecord): string | null {
  if (record.status === 499) return 'the client went away before an answer';
  if (!record.errorCode) return null;
  return REFUSALS[record.errorCode] ?? record.errorCode.replace(/_/g, ' ');
}

/** The gateway's error codes in the words the inspector shows. */
const REFUSALS: Record<string, string> = {
  missing_api_key: 'no API key was sent',
  invalid_api_key: 'the API key is not one this gateway knows',
  model_not_found: 'no deployment has this name',
  deployment_offline: 'the deployment was offline (no connector connected)',
  deployment_unavailable: 'the connector refused the request',
  gateway_draining: 'the gateway was shutting down',
  invalid_json: 'the body was not valid JSON',
  missing_model: 'the body named no model',
  request_too_large: 'the body was larger than the limit',
  upstream_unreachable: 'the model server did not answer',
  rate_limited: 'too many requests (rate limit)',
};

function isNumber(value: number | null): value is number {
  return value !== null && Number.isFinite(value);
}

function median(values: number[]): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

import type { DeploymentHealth, HealthSample } from '../../shared/api.js';
import type { RequestRecord } from '../../shared/health.js';
import type { SupervisedHealth } from '../supervisor/connector-supervisor.js';

/**
 * Per-deployment figures the UI shows, derived from what the supervisor and the workers
 * report: the last 200 requests (metadata only), requests per minute, recent tokens/s and
 * time to first token, and a sampled history for the detail charts.
 */

const MAX_RECORDS = 200;
const MAX_SAMPLES = 720;
const RECENT = 20;

export class HealthTracker {
  private readonly records = new Map<string, RequestRecord[]>();
  private readonly samples = new Map<string, HealthSample[]>();

  record(id: string, record: RequestRecord): void {
    const list = this.records.get(id) ?? [];
    list.push(record);
    if (list.length > MAX_RECORDS) list.splice(0, list.length - MAX_RECORDS);
    this.records.set(id, list);
  }

  /** Newest first. */
  requests(id: string): RequestRecord[] {
    return [...(this.records.get(id) ?? [])].reverse();
  }

  history(id: string): HealthSample[] {
    return [...(this.samples.get(id) ?? [])];
  }

  forget(id: string): void {
    this.records.delete(id);
    this.samples.delete(id);
  }

  view(id: string, supervised: SupervisedHealth | null, now = Date.now()): DeploymentHealth {
    const worker = supervised?.worker ?? null;
    const records = this.records.get(id) ?? [];
    const state = supervised?.state ?? 'stopped';
    const live = state !== 'stopped' && state !== 'crash-looping' && state !== 'token-rejected';
    return {
      state,
      since: worker && worker.state === state ? worker.since : now,
      rttMs: live ? (worker?.rttMs ?? null) : null,
      inFlight: live ? (worker?.inFlight ?? 0) : 0,
      totals: worker?.totals ?? { requests: 0, errors: 0, promptTokens: 0, completionTokens: 0 },
      lastError: supervised?.lastError ?? null,
      connectedSince: live ? (worker?.connectedSince ?? null) : null,
      requestsPerMinute: records.filter((r) => now - r.time < 60_000).length,
      tokensPerSecond: mean(recent(records, (r) => r.tokensPerSecond)),
      ttftMs: median(recent(records, (r) => r.ttftMs)),
      restarts: supervised?.restarts ?? 0,
      upstreamReachable: worker?.upstream.reachable ?? null,
      upstreamKind: worker?.upstream.kind ?? 'unknown',
    };
  }

  /** Appends a point to the deployment's history (the core calls this every few seconds). */
  sample(id: string, health: DeploymentHealth, now = Date.now()): void {
    const list = this.samples.get(id) ?? [];
    list.push({ t: now, rttMs: health.rttMs, requestsPerMinute: health.requestsPerMinute, tokensPerSecond: health.tokensPerSecond, inFlight: health.inFlight });
    if (list.length > MAX_SAMPLES) list.splice(0, list.length - MAX_SAMPLES);
    this.samples.set(id, list);
  }
}

function recent(records: RequestRecord[], pick: (r: RequestRecord) => number | null): number[] {
  const out: number[] = [];
  for (let i = records.length - 1; i >= 0 && out.length < RECENT; i--) {
    const value = pick(records[i]!);
    if (value !== null && Number.isFinite(value)) out.push(value);
  }
  return out;
}

function mean(values: number[]): number | null {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
}

function median(values: number[]): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The health of a deployment that has never run. */
export function idleHealth(): DeploymentHealth {
  return new HealthTracker().view('', null);
}

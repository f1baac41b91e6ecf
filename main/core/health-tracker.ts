import type { DeploymentHealth, HealthSample } from '../../shared/api.js';
import { liveRates } from '../../shared/rates.js';
import type { UpstreamKind } from '../../shared/tunnel-protocol.js';
import type { DeploymentFigures } from './request-log.js';
import type { SupervisedHealth } from '../supervisor/connector-supervisor.js';

/**
 * Per-deployment health as the window shows it: the worker's own report, the supervisor's
 * state, and the request figures (totals and last-minute rates, from the request log), plus
 * a sampled history for the detail charts. Figures of a deployment that is not running
 * read as such: no RTT, nothing in flight.
 */

const MAX_SAMPLES = 900;

export class HealthTracker {
  private readonly samples = new Map<string, HealthSample[]>();

  history(id: string): HealthSample[] {
    return [...(this.samples.get(id) ?? [])];
  }

  forget(id: string): void {
    this.samples.delete(id);
  }

  /** `kindHint` names the server when the worker has not probed it yet (detection may know). */
  view(supervised: SupervisedHealth | null, figures: DeploymentFigures, kindHint: UpstreamKind = 'unknown', now = Date.now()): DeploymentHealth {
    const worker = supervised?.worker ?? null;
    const state = supervised?.state ?? 'stopped';
    const live = state !== 'stopped' && state !== 'crash-looping' && state !== 'token-rejected';
    const kind = worker?.upstream.kind;
    return {
      state,
      since: worker && worker.state === state ? worker.since : now,
      rttMs: live ? (worker?.rttMs ?? null) : null,
      inFlight: live ? (worker?.inFlight ?? 0) : 0,
      totals: figures.totals,
      lastError: supervised?.lastError ?? null,
      connectedSince: live ? (worker?.connectedSince ?? null) : null,
      requestsPerMinute: figures.requestsPerMinute,
      tokensPerSecond: figures.tokensPerSecond,
      ttftMs: figures.ttftMs,
      lastRequestAt: figures.lastRequestAt,
      restarts: supervised?.restarts ?? 0,
      upstreamReachable: live ? (worker?.upstream.reachable ?? null) : null,
      upstreamKind: kind && kind !== 'unknown' ? kind : kindHint,
    };
  }

  /** Appends a point to the deployment's history and returns it. */
  sample(id: string, health: DeploymentHealth, now = Date.now()): HealthSample {
    const list = this.samples.get(id) ?? [];
    const rates = liveRates(health, now);
    const point: HealthSample = { t: now, rttMs: health.rttMs, requestsPerMinute: rates.requestsPerMinute, tokensPerSecond: rates.tokensPerSecond, inFlight: health.inFlight };
    list.push(point);
    if (list.length > MAX_SAMPLES) list.splice(0, list.length - MAX_SAMPLES);
    this.samples.set(id, list);
    return point;
  }
}

/** The health of a deployment that has never run. */
export function idleHealth(): DeploymentHealth {
  return new HealthTracker().view(null, { totals: { requests: 0, errors: 0, promptTokens: 0, completionTokens: 0 }, requestsPerMinute: 0, tokensPerSecond: null, ttftMs: null, lastRequestAt: null });
}

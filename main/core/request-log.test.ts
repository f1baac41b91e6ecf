import { afterEach, describe, expect, it, vi } from 'vitest';
import type { InspectedRequest } from '../../shared/api.js';
import type { RequestRecord } from '../../shared/health.js';
import type { GatewayRequestRecord } from '../gateway/request-observer.js';
import { RequestLog } from './request-log.js';

/** The inspector's join of the gateway's and the connector's halves, and the figures built on it. */

const gateway = (over: Partial<GatewayRequestRecord> = {}): GatewayRequestRecord => ({
  time: Date.now(), method: 'POST', path: '/v1/chat/completions', status: 200, deployment: 'gemma', requestId: 'req_1', client: '127.0.0.1',
  errorCode: null, queuedMs: 1, ttftMs: 30, durationMs: 100, ...over,
});
const connector = (over: Partial<RequestRecord> = {}): RequestRecord => ({
  time: Date.now(), method: 'POST', path: '/v1/chat/completions', model: 'gemma3:4b', status: 200, ttftMs: 20, durationMs: 90,
  promptTokens: 5, completionTokens: 12, tokensPerSecond: 40, error: null, requestId: 'req_1', ...over,
});

function setup(): { log: RequestLog; seen: InspectedRequest[] } {
  const log = new RequestLog((name) => (name === 'gemma' ? 'd1' : null));
  const seen: InspectedRequest[] = [];
  log.on('logged', (r) => seen.push(r));
  return { log, seen };
}

afterEach(() => vi.useRealTimers());

describe('request log', () => {
  it('joins the two halves of one request, whichever comes first, with a timing breakdown', () => {
    for (const order of ['gateway-first', 'connector-first']) {
      const { log, seen } = setup();
      if (order === 'gateway-first') log.fromGateway(gateway());
      log.fromConnector('d1', 'gemma', connector());
      if (order === 'connector-first') log.fromGateway(gateway());
      const [only] = log.list();
      expect(log.list()).toHaveLength(1);
      expect(only).toMatchObject({ deploymentId: 'd1', status: 200, ttftMs: 30, completionTokens: 12, upstreamModel: 'gemma3:4b', client: '127.0.0.1', seenBy: 'both' });
      expect(only!.timing).toEqual({ gatewayMs: 1, tunnelMs: 9, upstreamMs: 20 });
      expect(new Set(seen.map((r) => r.id)).size).toBe(1);
      expect(log.figures('d1').totals).toEqual({ requests: 1, errors: 0, promptTokens: 5, completionTokens: 12 });
    }
  });

  it('keeps refused requests, with the reason in words, and counts them for their deployment', () => {
    const { log } = setup();
    log.fromGateway(gateway({ status: 503, requestId: null, errorCode: 'deployment_offline', ttftMs: 2, durationMs: 2 }));
    log.fromGateway(gateway({ status: 401, deployment: null, requestId: null, errorCode: 'invalid_api_key' }));
    log.fromGateway(gateway({ status: 404, deployment: 'nope', requestId: null, errorCode: 'model_not_found' }));
    expect(log.list().map((r) => [r.status, r.deploymentId, r.error])).toEqual([
      [404, null, 'no deployment has this name'],
      [401, null, 'the API key is not one this gateway knows'],
      [503, 'd1', 'the deployment was offline (no connector connected)'],
    ]);
    expect(log.figures('d1').totals).toMatchObject({ requests: 1, errors: 1 });
  });

  it('counts an error once, by the status the client got', () => {
    const { log } = setup();
    log.fromConnector('d1', 'gemma', connector({ status: 200 }));
    log.fromGateway(gateway({ status: 502, errorCode: 'upstream_error' }));
    expect(log.figures('d1').totals).toMatchObject({ requests: 1, errors: 1 });
  });

  it('rates cover the last minute only; a forgotten deployment starts from nothing', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const { log } = setup();
    log.fromGateway(gateway({ time: Date.now(), requestId: 'req_1' }));
    log.fromConnector('d1', 'gemma', connector({ requestId: 'req_1', tokensPerSecond: 40 }));
    log.fromGateway(gateway({ time: Date.now(), requestId: 'req_2' }));
    log.fromConnector('d1', 'gemma', connector({ requestId: 'req_2', tokensPerSecond: 20 }));
    expect(log.figures('d1')).toMatchObject({ requestsPerMinute: 2, tokensPerSecond: 30, ttftMs: 30, lastRequestAt: 1_000_000 });
    expect(log.figures('d1', 1_000_000 + 60_000)).toMatchObject({ requestsPerMinute: 0, tokensPerSecond: null, ttftMs: null, totals: { requests: 2 } });
    log.forget('d1');
    expect(log.figures('d1')).toMatchObject({ requestsPerMinute: 0, lastRequestAt: null, totals: { requests: 0, errors: 0 } });
    expect(log.list()).toHaveLength(2); // the inspector keeps history
  });

  it('without a gateway half (a remote gateway), the connector record stands alone', () => {
    const { log } = setup();
    log.fromConnector('d1', 'gemma', connector());
    expect(log.list()[0]).toMatchObject({ seenBy: 'connector', deployment: 'gemma', ttftMs: 20, timing: { gatewayMs: null, tunnelMs: null, upstreamMs: 20 } });
  });
});

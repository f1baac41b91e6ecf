import { afterEach, describe, expect, it, vi } from 'vitest';
import type { InspectedRequest } from '../../shared/api';
import { normalizeDeploymentName } from '../../shared/names';
import { liveRates } from '../../shared/rates';
import { upstreamFromInput } from '../../shared/tokios-config';
import { deployment, FakeApi } from '../test-support/fake-api';
import { bindEvents, createAppStore, loadInitial, startClock } from './app-store';
import { filterLogs } from './logs-slice';
import { filterRequests } from './requests-slice';

function setup(): { api: FakeApi; store: ReturnType<typeof createAppStore> } {
  const api = new FakeApi()
    .answer('deployments.list', () => [deployment()])
    .answer('gateway.info', () => ({ mode: 'embedded', url: 'http://127.0.0.1:8787', status: 'running', error: null, apiKey: 'sk-tokios-AbCd…wxyz', canMintTokens: true }))
    .answer('app.info', () => ({ version: '0.1.0', runId: 'run-1', host: 'headless', dataDir: '/d', configDir: '/d/connectors', configDirError: null, secretStorage: { kind: 'file', warning: null } }))
    .answer('detect.list', () => [])
    .answer('requests.list', () => [])
    .answer('logs.list', () => ({ sources: [], lines: [] }));
  const store = createAppStore(api);
  bindEvents(api, store);
  return { api, store };
}

const request = (over: Partial<InspectedRequest> = {}): InspectedRequest => ({
  id: 1, time: 1, deploymentId: 'd1', deployment: 'gemma-tunnel', method: 'POST', path: '/v1/chat/completions', status: 200, client: '127.0.0.1',
  errorCode: null, error: null, ttftMs: 10, durationMs: 20, promptTokens: 1, completionTokens: 2, tokensPerSecond: 3, upstreamModel: 'gemma3:4b',
  timing: { gatewayMs: 1, tunnelMs: 2, upstreamMs: 7 }, seenBy: 'both', requestId: 'req_1', ...over,
});

afterEach(() => vi.useRealTimers());

describe('store slices', () => {
  it('loads the first screen and follows deployment events', async () => {
    const { api, store } = setup();
    await loadInitial(store);
    expect(store.getState().order).toEqual(['d1']);
    expect(store.getState().app?.runId).toBe('run-1');
    api.emit('deployment.updated', deployment({ state: 'reconnecting' }));
    expect(store.getState().deployments.d1!.health.state).toBe('reconnecting');
    api.emit('deployment.updated', deployment({ id: 'd2', name: 'llama3-local' }));
    expect(store.getState().order).toEqual(['d1', 'd2']);
    api.emit('deployment.removed', { id: 'd1' });
    expect(store.getState().order).toEqual(['d2']);
    expect(store.getState().deployments.d1).toBeUndefined();
  });

  it('keeps each deployment\'s chart points as they are sampled, at most 900', () => {
    const { api, store } = setup();
    for (let t = 0; t < 905; t++) api.emit('deployment.sample', { id: 'd1', sample: { t, rttMs: 2, requestsPerMinute: 1, tokensPerSecond: null, inFlight: 0 } });
    const history = store.getState().history.d1!;
    expect(history).toHaveLength(900);
    expect(history.at(-1)!.t).toBe(904);
  });

  it('logs requests newest first, and a later report of the same request replaces it', () => {
    const { api, store } = setup();
    api.emit('request.logged', request({ id: 1, seenBy: 'gateway', completionTokens: null }));
    api.emit('request.logged', request({ id: 2, status: 503, errorCode: 'deployment_offline' }));
    api.emit('request.logged', request({ id: 1, seenBy: 'both', completionTokens: 12 }));
    expect(store.getState().inspected.map((r) => [r.id, r.completionTokens])).toEqual([[2, 2], [1, 12]]);
    expect(filterRequests(store.getState().inspected, { text: '', status: 'errors', deploymentId: '' }).map((r) => r.id)).toEqual([2]);
    expect(filterRequests(store.getState().inspected, { text: 'offline', status: 'all', deploymentId: '' }).map((r) => r.id)).toEqual([2]);
    expect(filterRequests(store.getState().inspected, { text: '', status: 'all', deploymentId: 'other' })).toEqual([]);
  });

  it('appends log lines once each, and filters them by source, level and text', () => {
    const { api, store } = setup();
    const line = (seq: number, level: 'info' | 'warn' | 'error', source: string, text: string) => ({ seq, time: seq, level, source, text });
    api.emit('logs.appended', { lines: [line(1, 'info', 'app', 'started'), line(2, 'warn', 'gateway', 'slow client')] });
    api.emit('logs.appended', { lines: [line(2, 'warn', 'gateway', 'slow client'), line(3, 'error', 'd1', 'worker crashed')] });
    const lines = store.getState().logLines;
    expect(lines.map((l) => l.seq)).toEqual([1, 2, 3]);
    expect(filterLogs(lines, '', 'warn', '').map((l) => l.seq)).toEqual([2, 3]);
    expect(filterLogs(lines, 'd1', 'debug', '').map((l) => l.seq)).toEqual([3]);
    expect(filterLogs(lines, '', 'debug', 'SLOW').map((l) => l.seq)).toEqual([2]);
  });

  it('streams test replies into the run, in order, under the deployment\'s id', async () => {
    const { api, store } = setup();
    api.answer('test.chat', () => ({ requestId: 'r1' }));
    await store.getState().sendTest('d1', 'gemma-tunnel', 'Hi');
    api.emit('test.chat', { requestId: 'r1', type: 'first-token', ttftMs: 80 });
    api.emit('test.chat', { requestId: 'r1', type: 'chunk', text: 'Hello' });
    api.emit('test.chat', { requestId: 'r1', type: 'chunk', text: ' there' });
    expect(store.getState().tests.r1).toMatchObject({ text: 'Hello there', ttftMs: 80, status: 'streaming' });
    api.emit('test.chat', { requestId: 'r1', type: 'done', durationMs: 300, ttftMs: 80, completionTokens: 2 });
    expect(store.getState().tests.r1).toMatchObject({ status: 'done', durationMs: 300 });
    expect(store.getState().latestTest.d1).toBe('r1');
  });

  it('clears a failed test once the deployment is back online, and never hands it to a new deployment with the same name', async () => {
    const { api, store } = setup();
    api.answer('test.chat', () => ({ requestId: 'r1' }));
    await store.getState().sendTest('d1', 'gemma-tunnel', 'Hi');
    api.emit('test.chat', { requestId: 'r1', type: 'error', message: "Deployment 'gemma-tunnel' is offline" });
    expect(store.getState().latestTest.d1).toBe('r1');
    // Still failing: a state other than online keeps the error in view.
    api.emit('deployment.state', { id: 'd1', name: 'gemma-tunnel', state: 'reconnecting', previous: 'offline' });
    expect(store.getState().latestTest.d1).toBe('r1');
    api.emit('deployment.state', { id: 'd1', name: 'gemma-tunnel', state: 'online', previous: 'reconnecting' });
    expect(store.getState().latestTest.d1).toBeUndefined();

    api.answer('test.chat', () => ({ requestId: 'r2' }));
    await store.getState().sendTest('d1', 'gemma-tunnel', 'Hi');
    api.emit('test.chat', { requestId: 'r2', type: 'error', message: 'boom' });
    api.emit('deployment.removed', { id: 'd1' });
    api.emit('deployment.updated', deployment({ id: 'd9', name: 'gemma-tunnel' }));
    expect(store.getState().latestTest.d9).toBeUndefined();
    expect(store.getState().latestTest.d1).toBeUndefined();
  });

  it('a successful test stays when the state changes', async () => {
    const { api, store } = setup();
    api.answer('test.chat', () => ({ requestId: 'r1' }));
    await store.getState().sendTest('d1', 'gemma-tunnel', 'Hi');
    api.emit('test.chat', { requestId: 'r1', type: 'done', durationMs: 1, ttftMs: 1, completionTokens: 1 });
    api.emit('deployment.state', { id: 'd1', name: 'gemma-tunnel', state: 'online', previous: 'connecting' });
    expect(store.getState().latestTest.d1).toBe('r1');
  });

  it('hands the API key to the clipboard and keeps no copy in the store', async () => {
    const { api, store } = setup();
    api.answer('gateway.revealApiKey', () => ({ apiKey: 'sk-tokios-secret-value-0123456789' }));
    await loadInitial(store);
    let copied = '';
    await store.getState().withApiKey(async (key) => {
      copied = key;
    });
    expect(copied).toBe('sk-tokios-secret-value-0123456789');
    expect(JSON.stringify(store.getState())).not.toContain('secret-value');
  });

  it('start and stop call the API and apply what it returns', async () => {
    const { api, store } = setup();
    await loadInitial(store);
    api.answer('deployments.stop', () => deployment({ state: 'stopped' }));
    await store.getState().setRunning('d1', false);
    expect(api.callsTo('deployments.stop')).toEqual([{ id: 'd1' }]);
    expect(store.getState().deployments.d1!.health.state).toBe('stopped');
  });
});

describe('rate decay', () => {
  const health = (over: Partial<Parameters<typeof liveRates>[0]> = {}) => ({ state: 'online' as const, requestsPerMinute: 6, tokensPerSecond: 40, ttftMs: 120, lastRequestAt: 1_000_000, ...over });

  it('shows the published rates while the last request is within the minute', () => {
    expect(liveRates(health(), 1_000_000 + 59_999)).toEqual({ requestsPerMinute: 6, tokensPerSecond: 40, ttftMs: 120 });
  });

  it('falls to 0 and "—" once the last request is a minute old, without a new publication', () => {
    expect(liveRates(health(), 1_000_000 + 60_000)).toEqual({ requestsPerMinute: 0, tokensPerSecond: null, ttftMs: null });
    expect(liveRates(health({ lastRequestAt: null }), 1_000_000)).toEqual({ requestsPerMinute: 0, tokensPerSecond: null, ttftMs: null });
  });

  it('has no rates at all when the deployment is not running', () => {
    for (const state of ['stopped', 'crash-looping', 'token-rejected'] as const) {
      expect(liveRates(health({ state }), 1_000_000)).toEqual({ requestsPerMinute: null, tokensPerSecond: null, ttftMs: null });
    }
  });

  it('the page clock advances the decay by itself', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const { store } = setup();
    store.getState().setConnection('open');
    store.getState().applyDeployment(deployment({ health: { ...deployment().health, lastRequestAt: 1_000_000, tokensPerSecond: 40 } }));
    const stop = startClock(store);
    const shown = (): number | null => liveRates(store.getState().deployments.d1!.health, store.getState().now).tokensPerSecond;
    expect(shown()).toBe(40);
    vi.advanceTimersByTime(61_000);
    expect(shown()).toBeNull();
    stop();
  });
});

describe('what the form saves', () => {
  it('turns spaces in names into dashes instead of dropping them', () => {
    expect(normalizeDeploymentName('  my model ')).toBe('my-model');
    expect(normalizeDeploymentName('qwen 2.5  coder')).toBe('qwen-2.5-coder');
    expect(normalizeDeploymentName('library/gemma3:4b')).toBe('library-gemma3:4b');
    expect(normalizeDeploymentName('gemma-tunnel')).toBe('gemma-tunnel');
  });

  it('accepts a model server typed without its scheme, or as an OpenAI /v1 base', () => {
    const fail = (p: string): Error => new Error(p);
    expect(upstreamFromInput('localhost:8080', fail)).toBe('http://localhost:8080');
    expect(upstreamFromInput(' 127.0.0.1:11434/ ', fail)).toBe('http://127.0.0.1:11434');
    expect(upstreamFromInput('http://127.0.0.1:1234/v1', fail)).toBe('http://127.0.0.1:1234');
    expect(upstreamFromInput('https://models.example.com', fail)).toBe('https://models.example.com');
    expect(() => upstreamFromInput('ftp://host:21', fail)).toThrow(/http\(s\) URL/);
    expect(() => upstreamFromInput('http://host:8080/api/chat', fail)).toThrow(/without a path/);
  });
});

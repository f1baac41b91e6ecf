import { describe, expect, it } from 'vitest';
import { deployment, FakeApi } from '../test-support/fake-api';
import { bindEvents, createAppStore, loadInitial } from './app-store';

function setup(): { api: FakeApi; store: ReturnType<typeof createAppStore> } {
  const api = new FakeApi()
    .answer('deployments.list', () => [deployment()])
    .answer('gateway.info', () => ({ mode: 'embedded', url: 'http://127.0.0.1:8787', status: 'running', error: null, apiKey: 'sk-tokios-AbCd…wxyz', canMintTokens: true }))
    .answer('app.info', () => ({ version: '0.1.0', host: 'headless', dataDir: '/d', configDir: '/d/connectors', configDirError: null, secretStorage: { kind: 'file', warning: null } }))
    .answer('detect.list', () => []);
  const store = createAppStore(api);
  bindEvents(api, store);
  return { api, store };
}

describe('store slices', () => {
  it('loads the first screen and follows deployment events', async () => {
    const { api, store } = setup();
    await loadInitial(store);
    expect(store.getState().order).toEqual(['d1']);
    api.emit('deployment.updated', deployment({ state: 'reconnecting' }));
    expect(store.getState().deployments.d1!.health.state).toBe('reconnecting');
    api.emit('deployment.updated', deployment({ id: 'd2', name: 'llama3-local' }));
    expect(store.getState().order).toEqual(['d1', 'd2']);
    api.emit('deployment.removed', { id: 'd1' });
    expect(store.getState().order).toEqual(['d2']);
    expect(store.getState().deployments.d1).toBeUndefined();
  });

  it('keeps a tokens/s series for each sparkline', async () => {
    const { api, store } = setup();
    await loadInitial(store);
    api.emit('deployment.updated', deployment({ id: 'd3' }));
    expect(store.getState().spark.d3).toEqual([42]);
  });

  it('records requests newest first, at most 200', async () => {
    const { api, store } = setup();
    const record = { time: 1, method: 'POST', path: '/v1/chat/completions', model: 'm', status: 200, ttftMs: 1, durationMs: 2, promptTokens: 1, completionTokens: 2, tokensPerSecond: 3, error: null, requestId: null };
    for (let i = 0; i < 205; i++) api.emit('deployment.request', { id: 'd1', record: { ...record, time: i } });
    const list = store.getState().requests.d1!;
    expect(list).toHaveLength(200);
    expect(list[0]!.time).toBe(204);
  });

  it('streams test replies into the run, in order', async () => {
    const { api, store } = setup();
    api.answer('test.chat', () => ({ requestId: 'r1' }));
    await store.getState().sendTest('gemma-tunnel', 'Hi');
    api.emit('test.chat', { requestId: 'r1', type: 'first-token', ttftMs: 80 });
    api.emit('test.chat', { requestId: 'r1', type: 'chunk', text: 'Hello' });
    api.emit('test.chat', { requestId: 'r1', type: 'chunk', text: ' there' });
    expect(store.getState().tests.r1).toMatchObject({ text: 'Hello there', ttftMs: 80, status: 'streaming' });
    api.emit('test.chat', { requestId: 'r1', type: 'done', durationMs: 300, ttftMs: 80, completionTokens: 2 });
    expect(store.getState().tests.r1).toMatchObject({ status: 'done', durationMs: 300 });
    expect(store.getState().latestTest['gemma-tunnel']).toBe('r1');
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

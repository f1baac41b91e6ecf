import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCore, waitForState } from '../../e2e/support/core-rig.js';
import { startFakeOllama, type FakeOllama } from '../../e2e/support/fake-ollama.js';
import type { AppCore } from './app-core.js';

/** What the window's new pages rely on, through the real core, gateway and worker processes. */

let ollama: FakeOllama;
beforeAll(async () => {
  ollama = await startFakeOllama({ models: ['gemma3:4b'] });
});
afterAll(async () => {
  await ollama?.close();
});
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function core(): Promise<AppCore> {
  const rig = await startCore({ detect: { urls: [ollama.url], intervalMs: 60_000 } });
  closers.push(rig.close);
  return rig.core;
}

async function post(app: AppCore, model: string, key?: string): Promise<number> {
  const { url } = await app.handlers['gateway.info']();
  const apiKey = key ?? (await app.handlers['gateway.revealApiKey']()).apiKey;
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Hi' }] }),
  });
  await response.arrayBuffer();
  return response.status;
}

describe('request inspector feed', () => {
  it('shows requests the gateway refused, and counts them for their deployment', async () => {
    const app = await core();
    const d = await app.handlers['deployments.create']({ name: 'gemma', upstream: ollama.url, model: 'gemma3:4b', enabled: false });
    expect(await post(app, 'gemma')).toBe(503);
    expect(await post(app, 'nope')).toBe(404);
    expect(await post(app, 'gemma', 'sk-tokios-wrongwrongwrongwrongwrongwrongwrongwro')).toBe(401);
    await expect.poll(async () => (await app.handlers['requests.list']({})).length).toBe(3);
    const list = await app.handlers['requests.list']({});
    expect(list.map((r) => [r.status, r.deployment, r.errorCode])).toEqual([
      [401, null, 'invalid_api_key'],
      [404, 'nope', 'model_not_found'],
      [503, 'gemma', 'deployment_offline'],
    ]);
    expect(list[2]!.deploymentId).toBe(d.id);
    const view = (await app.handlers['deployments.list']()).find((x) => x.id === d.id)!;
    expect(view.health.totals).toMatchObject({ requests: 1, errors: 1 });
  });
});

describe('switching gateways', () => {
  it('a wrong URL is found out before anything changes; the built-in gateway keeps serving', async () => {
    const app = await core();
    const d = await app.handlers['deployments.create']({ name: 'gemma', upstream: ollama.url, model: 'gemma3:4b' });
    await waitForState(app, d.id, 'online');
    const check = await app.handlers['gateway.verify']({ url: 'http://127.0.0.1:9', apiKey: null });
    expect(check).toMatchObject({ reachable: false, problem: expect.stringMatching(/Nothing answers at http:\/\/127\.0\.0\.1:9/) });
    await expect(app.handlers['gateway.useRemote']({ url: 'http://127.0.0.1:9', apiKey: null })).rejects.toMatchObject({ code: 'GATEWAY_UNREACHABLE' });
    expect((await app.handlers['gateway.info']()).mode).toBe('embedded');
    expect(app.deployments().find((x) => x.id === d.id)!.health.state).toBe('online');
    expect(await post(app, 'gemma')).toBe(200);
  });

  it('says what clients of the built-in gateway would lose', async () => {
    const app = await core();
    await app.handlers['deployments.create']({ name: 'gemma', upstream: ollama.url, model: 'gemma3:4b', enabled: false });
    const other = await startCore();
    closers.push(other.close);
    const { url } = await other.core.handlers['gateway.info']();
    const check = await app.handlers['gateway.verify']({ url, apiKey: null });
    expect(check.problem).toBeNull();
    expect(check.consequences.join('\n')).toMatch(/stop reaching your deployments/);
    expect(check.consequences.join('\n')).toMatch(/'gemma' uses a token this app created for the previous gateway/);
    const wrongKey = await app.handlers['gateway.verify']({ url, apiKey: 'sk-tokios-wrongwrongwrongwrongwrongwrongwrongwro' });
    expect(wrongKey).toMatchObject({ keyAccepted: false, problem: expect.stringMatching(/does not accept this API key/) });
  });
});

describe('API key rotation', () => {
  it('the new key works at once and the old one is refused', async () => {
    const app = await core();
    const d = await app.handlers['deployments.create']({ name: 'gemma', upstream: ollama.url, model: 'gemma3:4b' });
    await waitForState(app, d.id, 'online');
    const before = (await app.handlers['gateway.revealApiKey']()).apiKey;
    const info = await app.handlers['gateway.rotateApiKey']();
    const after = (await app.handlers['gateway.revealApiKey']()).apiKey;
    expect(after).not.toBe(before);
    expect(JSON.stringify(info)).not.toContain(after);
    expect(await post(app, 'gemma', before)).toBe(401);
    expect(await post(app, 'gemma', after)).toBe(200);
  });
});

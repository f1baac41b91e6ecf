import { readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { record, startCore, waitForDeployment, waitForState } from '../../e2e/support/core-rig.js';
import { startFakeLlamaServer, type FakeLlamaServer } from '../../e2e/support/fake-llama-server.js';
import { startFakeOllama, type FakeOllama } from '../../e2e/support/fake-ollama.js';
import { REPO_ROOT, runTokios, startGatewayProcess, tempDir } from '../../e2e/support/processes.js';
import { TunnelRig } from '../../e2e/support/tunnel-rig.js';
import { addLogSink } from '../logging/logger.js';
import { ChildProcessSpawner } from '../supervisor/child-process-spawner.js';
import type { AppCore } from './app-core.js';

/** AppCore with its embedded gateway, real worker processes and test upstreams. */

let ollama: FakeOllama;
let llama: FakeLlamaServer;
beforeAll(async () => {
  ollama = await startFakeOllama({ models: ['gemma3:4b'] });
  llama = await startFakeLlamaServer();
});
afterAll(async () => {
  await ollama?.close();
  await llama?.close();
});

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function core(overrides: Parameters<typeof startCore>[0] = {}, settings?: Record<string, unknown>): Promise<Awaited<ReturnType<typeof startCore>>> {
  const rig = await startCore({ detect: { urls: [ollama.url, llama.url], intervalMs: 60_000 }, ...overrides }, settings);
  closers.push(rig.close);
  return rig;
}

async function chatThrough(app: AppCore, model: string): Promise<{ status: number; body: any }> {
  const gateway = await app.handlers['gateway.info']();
  const { apiKey } = await app.handlers['gateway.revealApiKey']();
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Hello' }] }),
  });
  return { status: response.status, body: await response.json() };
}

describe('detect → deploy → request', () => {
  it('turns each detected upstream into a deployment that serves requests through the embedded gateway', async () => {
    const { core: app } = await core();
    const detected = await app.handlers['detect.list']();
    expect(detected.map((d) => [d.url, d.kind])).toEqual([[ollama.url, 'ollama'], [llama.url, 'llamacpp']]);
    expect(detected[0]!.proposal).toEqual({ name: 'gemma3-4b', model: 'gemma3:4b' });
    expect(detected[1]!.proposal).toEqual({ name: 'llama-3.2-1b-instruct-q4_k_m', model: '/models/llama-3.2-1b-instruct-q4_k_m.gguf' });

    const gemma = await app.handlers['detect.createDeployment']({ url: ollama.url });
    const custom = await app.handlers['detect.createDeployment']({ url: llama.url, name: 'llama3-local' });
    await waitForState(app, gemma.id, 'online');
    await waitForState(app, custom.id, 'online');

    const before = ollama.requests.length;
    const answer = await chatThrough(app, 'gemma3-4b');
    expect(answer.status).toBe(200);
    expect(answer.body.choices[0].message.content).toMatch(/^Hello from ollama\./);
    expect(ollama.requests.length).toBe(before + 1);
    expect((await chatThrough(app, 'llama3-local')).body.choices[0].message.content).toMatch(/^Hello from llama\.cpp\./);

    // Health and the request log reflect what happened.
    // The gateway's record and the connector's meet in one inspected request.
    await expect.poll(async () => (await app.handlers['requests.list']({ deploymentId: gemma.id }))[0]?.seenBy, { timeout: 3000 }).toBe('both');
    const [request] = await app.handlers['requests.list']({ deploymentId: gemma.id });
    expect(request).toMatchObject({ path: '/v1/chat/completions', deployment: 'gemma3-4b', upstreamModel: 'gemma3:4b', status: 200, completionTokens: 8, client: '127.0.0.1' });
    expect(request!.timing.upstreamMs).not.toBeNull();
    expect(request!.timing.gatewayMs).not.toBeNull();
    expect(request!.timing.tunnelMs).not.toBeNull();
    expect((await app.handlers['requests.list']({})).filter((r) => r.deploymentId === gemma.id)).toHaveLength(1);
    expect((await app.handlers['detect.list']())[0]!.deploymentIds).toEqual([gemma.id]);
  });
});

describe('start and stop', () => {
  it('emits the state changes in order', async () => {
    const { core: app } = await core();
    const states = record(app, 'deployment.state');
    const deployment = await app.handlers['deployments.create']({ name: 'gemma', upstream: ollama.url, model: 'gemma3:4b' });
    await waitForState(app, deployment.id, 'online');
    await app.handlers['deployments.stop']({ id: deployment.id });
    await waitForState(app, deployment.id, 'stopped');
    await app.handlers['deployments.start']({ id: deployment.id });
    await waitForState(app, deployment.id, 'online');
    expect(states.filter((s) => s.id === deployment.id).map((s) => s.state)).toEqual(['connecting', 'online', 'stopped', 'connecting', 'online']);
    expect((await chatThrough(app, 'gemma')).status).toBe(200);
  });
});

describe('supervision', () => {
  // The policy itself (delays, jitter, the cap) is main/supervisor/connector-supervisor.test.ts, on fake timers.
  it('restarts a real worker that crashes on start until it is crash-looping, and again when the user retries', async () => {
    let spawned = 0;
    const crashing = new ChildProcessSpawner(join(REPO_ROOT, 'e2e', 'support', 'crashing-worker.mjs'));
    const spawner = { spawn: (label: string) => (spawned++, crashing.spawn(label)) };
    const { core: app } = await core({ spawner, restart: { baseMs: 50, capMs: 200, stableMs: 60_000, crashLoop: { exits: 5, windowMs: 60_000 } } });
    const deployment = await app.handlers['deployments.create']({ name: 'broken', upstream: ollama.url });
    await waitForState(app, deployment.id, 'crash-looping', 15_000);
    expect(spawned).toBe(5);
    const view = (await app.handlers['deployments.list']()).find((d) => d.id === deployment.id)!;
    expect(view.health).toMatchObject({ state: 'crash-looping', restarts: 4, lastError: { code: 'WORKER_FAILED' } });
    expect(view.health.lastError?.message).toMatch(/exited 5 times/);

    // The user's retry clears it and tries again.
    await app.handlers['deployments.retry']({ id: deployment.id });
    await expect.poll(() => spawned).toBe(6);
  });
});

describe('config folder', () => {
  it('mirrors drop, edit, delete and keeps the last good settings on an invalid edit', async () => {
    const { core: app, configDir } = await core();
    const { token } = await app.handlers['gateway.info']().then(async () => ({ token: await mint(app) }));
    const file = join(configDir, 'tokios-gemma.json');
    const good = { tunnel_token: token, upstream: ollama.url, model: 'gemma3:4b' };

    writeFileSync(file, JSON.stringify(good));
    const dropped = await waitForDeployment(app, (d) => d.name === 'gemma' && d.health.state === 'online');
    expect(dropped).toMatchObject({ source: 'folder', file, upstream: ollama.url });
    expect((await chatThrough(app, 'gemma')).body.choices[0].message.content).toMatch(/ollama/);

    // Edit: same token, now pointing at llama.cpp; the connector restarts with it.
    writeFileSync(file, JSON.stringify({ tunnel_token: token, upstream: llama.url }));
    await waitForDeployment(app, (d) => d.name === 'gemma' && d.upstream === llama.url && d.health.state === 'online');
    await expect.poll(async () => (await chatThrough(app, 'gemma')).body.choices[0].message.content, { timeout: 5000 }).toMatch(/llama\.cpp/);

    // Invalid edit: an error naming file and field, and the last good settings keep serving.
    const broken = '{"tunnel_token": "' + token + '", "upstream": "localhost:8080"}';
    writeFileSync(file, broken);
    const invalid = await waitForDeployment(app, (d) => d.name === 'gemma' && d.configError !== null);
    expect(invalid.configError).toContain(file);
    expect(invalid.configError).toContain('field `upstream`');
    expect(invalid.health.state).toBe('online');
    expect((await chatThrough(app, 'gemma')).body.choices[0].message.content).toMatch(/llama\.cpp/);
    expect(readFileSync(file, 'utf8')).toBe(broken);

    // A symlink swapped in is refused the same way, and never followed.
    const elsewhere = join(configDir, '..', 'elsewhere.json');
    writeFileSync(elsewhere, JSON.stringify(good));
    symlinkSync(elsewhere, join(configDir, 'tokios-linked.json'));
    const linked = await waitForDeployment(app, (d) => d.name === 'linked');
    expect(linked.configError).toMatch(/symbolic link/);
    expect(linked.health.state).toBe('stopped');

    // Delete: stopped and removed.
    const id = invalid.id;
    rmSync(file);
    await expect.poll(async () => (await app.handlers['deployments.list']()).some((d) => d.id === id), { timeout: 5000 }).toBe(false);
    expect((await chatThrough(app, 'gemma')).status).toBe(404);
  });
});

describe('config folder, a token of another gateway', () => {
  it("names the file's tunnel_token field and what to do, never the token", async () => {
    const { core: app, configDir } = await core();
    const foreign = `tt-${'f'.repeat(43)}`;
    const file = join(configDir, 'tokios-foreign.json');
    writeFileSync(file, JSON.stringify({ tunnel_token: foreign, upstream: ollama.url }));
    const view = await waitForDeployment(app, (d) => d.name === 'foreign' && d.configError !== null);
    expect(view.configError).toContain(`${file}: field \`tunnel_token\``);
    expect(view.configError).toMatch(/must hold tokens of the app's own gateway/);
    expect(view.configError).not.toContain(foreign);
  });
});

describe('secrets', () => {
  it('keeps a canary token out of worker command lines, logs and API results; exports 0600 and imports back equal', async () => {
    const logLines: string[] = [];
    const stopLogs = addLogSink((r) => logLines.push(r.message));
    try {
      const rig = await core();
      const app = rig.core;
      const canary = await mint(app);
      const events: unknown[] = [];
      for (const event of ['deployment.updated', 'deployment.state', 'request.logged', 'logs.appended', 'gateway.changed'] as const) app.on(event, (p) => events.push(p));

      const created = await app.handlers['deployments.create']({ name: 'canary', upstream: ollama.url, model: 'gemma3:4b', token: canary });
      await waitForState(app, created.id, 'online');
      await chatThrough(app, 'canary');

      for (const pid of app.workerPids()) expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain(canary);
      for (const pid of app.workerPids()) expect(readFileSync(`/proc/${pid}/environ`, 'utf8')).not.toContain(canary);
      const results = [created, await app.handlers['deployments.list'](), await app.handlers['requests.list']({ deploymentId: created.id }), await app.handlers['logs.list'](), await app.handlers['app.info'](), await app.handlers['gateway.info']()];
      expect(JSON.stringify(results)).not.toContain(canary);
      expect(created.token).toMatch(/^tt-.{4}….{4}$/);
      expect(JSON.stringify(events)).not.toContain(canary);
      expect(logLines.join('\n')).not.toContain(canary);
      expect(rig.workerLines.join('\n')).not.toContain(canary);
      expect(rig.workerLines.length).toBeGreaterThan(0);

      // The test rig's stand-in for a save dialog chooses a folder; the result says where and what it holds.
      const exported = await app.handlers['deployments.export']({ id: created.id });
      if (exported.outcome !== 'saved') throw new Error(`expected a saved export, got ${exported.outcome}`);
      const target = exported.path;
      expect(exported.warning).toMatch(/contains the tunnel token/);
      expect(exported.runHint).toMatch(/listens on this computer only/);
      expect(statSync(target).mode & 0o777).toBe(0o600);
      const text = readFileSync(target, 'utf8');
      expect(JSON.parse(text)).toEqual({ tunnel_token: canary, upstream: ollama.url, name: 'canary', model: 'gemma3:4b' });

      await app.handlers['deployments.remove']({ id: created.id });
      const imported = await app.handlers['deployments.import']({ text, fileName: 'tokios-canary.json' });
      expect({ name: imported.name, upstream: imported.upstream, model: imported.model, token: imported.token }).toEqual({ name: created.name, upstream: created.upstream, model: created.model, token: created.token });
      const again = await app.handlers['deployments.export']({ id: imported.id });
      if (again.outcome !== 'saved') throw new Error(`expected a saved export, got ${again.outcome}`);
      expect(again.path).not.toBe(target);
      expect(readFileSync(again.path, 'utf8')).toBe(text);
      // Files on disk other than the deliberate exports hold no plain token (secrets.json is the headless secret store).
      for (const name of ['deployments.json', 'gateway/gateway.json']) {
        expect(readFileSync(join(rig.dataDir, name), 'utf8')).not.toContain(canary);
      }
    } finally {
      stopLogs();
    }
  });
});

async function mint(app: AppCore): Promise<string> {
  // The embedded gateway mints tokens; the test gets one the way a user of a hosted gateway would.
  const gateway = await app.handlers['gateway.info']();
  const { apiKey } = await app.handlers['gateway.revealApiKey']();
  const response = await fetch(`${gateway.url}/v1/tunnel-tokens`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}` } });
  return ((await response.json()) as { token: string }).token;
}


describe('a hosted gateway', () => {
  it('registers deployments there, mints tokens with its API key, and serves through it', async () => {
    const rig = await new TunnelRig().start();
    closers.push(() => rig.close());
    const { core: app } = await core();
    const info = await app.handlers['gateway.useRemote']({ url: rig.url, apiKey: rig.apiKey });
    expect(info).toMatchObject({ mode: 'remote', url: rig.url, status: 'running', canMintTokens: true });
    expect(JSON.stringify(info)).not.toContain(rig.apiKey);
    const deployment = await app.handlers['deployments.create']({ name: 'hosted', upstream: ollama.url, model: 'gemma3:4b' });
    await waitForState(app, deployment.id, 'online');
    const answer = await rig.chat('hosted');
    expect(answer.status).toBe(200);
    expect(answer.json.choices[0].message.content).toMatch(/^Hello from ollama\./);

    // Back to the built-in gateway: the deployment follows.
    const embedded = await app.handlers['gateway.useEmbedded']();
    expect(embedded.mode).toBe('embedded');
    await waitForState(app, deployment.id, 'online');
    expect((await chatThrough(app, 'hosted')).status).toBe(200);
  });
});

describe('the embedded gateway', () => {
  it('lets browser apps in from the origins settings.json allows, and says which setting is wrong', async () => {
    const { core: app } = await core({}, { corsOrigins: ['http://localhost:5173'] });
    const { url } = await app.handlers['gateway.info']();
    const preflight = (origin: string): Promise<Response> => fetch(`${url}/v1/chat/completions`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
    const allowed = await preflight('http://localhost:5173');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect((await preflight('http://elsewhere.example')).status).toBe(403);

    const { core: misconfigured, dataDir } = await core({}, { corsOrigins: ['localhost:5173'] });
    const info = await misconfigured.handlers['gateway.info']();
    expect(info.status).toBe('error');
    expect(info.error).toBe(`${join(dataDir, 'settings.json')}: corsOrigins: 'localhost:5173' is not an origin; give one like https://app.example.com or http://localhost:5173, or * for any`);
  });
});

describe('signing in to a hosted gateway', () => {
  it('with the device grant: a wrong URL changes nothing; once approved, the deployments move to the account', async () => {
    const dir = tempDir('tokios-hosted-');
    const dataDir = join(dir.path, 'hosted');
    const hosted = await startGatewayProcess(dataDir);
    closers.push(async () => {
      await hosted.process.stop();
      dir.remove();
    });
    const passwordFile = join(dir.path, 'pw');
    writeFileSync(passwordFile, 'correct horse battery\n');
    expect((await runTokios(['account', 'create', '--data', dataDir, '--email', 'ada@example.com', '--password-file', passwordFile])).code).toBe(0);

    const { core: app } = await core();
    const deployment = await app.handlers['deployments.create']({ name: 'travels', upstream: ollama.url, model: 'gemma3:4b' });
    await waitForState(app, deployment.id, 'online');

    await expect(app.handlers['gateway.signIn']({ url: 'http://127.0.0.1:9' })).rejects.toThrow(/cannot reach the gateway at http:\/\/127\.0\.0\.1:9/);
    expect((await app.handlers['gateway.info']()).mode).toBe('embedded');

    const outcomes = record(app, 'gateway.signIn');
    const started = await app.handlers['gateway.signIn']({ url: hosted.url });
    expect(started.verificationUri).toBe(`${hosted.url}/device`);

    // The person approves the code on the dashboard.
    const signIn = await fetch(`${hosted.url}/dashboard/api/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'ada@example.com', password: 'correct horse battery' }) });
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
    const { csrfToken } = (await signIn.json()) as { csrfToken: string };
    const approve = await fetch(`${hosted.url}/dashboard/api/device`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrfToken, 'content-type': 'application/json' }, body: JSON.stringify({ user_code: started.userCode, approve: true }) });
    expect(approve.status).toBe(200);

    await expect.poll(() => outcomes.at(-1)?.state, { timeout: 20_000 }).toBe('signed-in');
    expect(await app.handlers['gateway.info']()).toMatchObject({ mode: 'remote', url: hosted.url, status: 'running', canMintTokens: true });
    await waitForState(app, deployment.id, 'online');
    // The name is the account's now: a key of that account reaches the deployment.
    const key = (await runTokios(['key', 'create', '--data', dataDir, '--account', 'ada@example.com'])).stdout.trim();
    const answer = await fetch(`${hosted.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ model: 'travels', max_tokens: 1, messages: [{ role: 'user', content: 'Hi' }] }) });
    expect(answer.status).toBe(200);
    const devices = (await (await fetch(`${hosted.url}/v1/api-keys`, { headers: { cookie, 'x-csrf-token': csrfToken } })).json()) as { data: Array<{ device: boolean; label: string }> };
    expect(devices.data.filter((k) => k.device).map((k) => k.label)).toEqual([expect.stringMatching(/^Tokios Desktop on /)]);
  });
});

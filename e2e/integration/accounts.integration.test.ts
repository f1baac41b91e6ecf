import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOllama, type FakeOllama } from '../support/fake-ollama.js';
import { createSecret, killAll, runTokios, startGatewayProcess, tempDir, tokios, writeConfig, type TokiosProcess } from '../support/processes.js';

/**
 * Several accounts on one real `tokios gateway`: each account's keys reach only its own
 * deployments (even under the same name), a client key cannot use the control plane, the
 * swap needs admin, and a revocation made by another process is in force within a second —
 * for keys (401) and for open tunnels (the connector stops with exit code 3).
 */

const dir = tempDir('tokios-accounts-');
const dataDir = join(dir.path, 'gateway');
let url = '';
let upstreamA: FakeOllama;
let upstreamB: FakeOllama;
let accountB = '';
const keys = { adminA: '', clientA: '', adminB: '', clientB: '' };
const tokens = { a: '', b: '' };
const connectors: TokiosProcess[] = [];

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const result = await runTokios([...args, '--data', dataDir], { env });
  if (result.code !== 0) throw new Error(`tokios ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
  return result.stdout.trim().split('\n').pop()!;
}

function call(path: string, key: string, init: { method?: string; body?: unknown } = {}): Promise<Response> {
  return fetch(url + path, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
}

async function chat(key: string, model: string): Promise<{ status: number; text: string }> {
  const response = await call('/v1/chat/completions', key, { body: { model, max_tokens: 2, messages: [{ role: 'user', content: 'Hi' }] } });
  return { status: response.status, text: await response.text() };
}

function connect(token: string, upstream: FakeOllama): TokiosProcess {
  const file = writeConfig(dir.path, `tokios-${connectors.length}.json`, { tunnel_token: token, upstream: upstream.url });
  const p = tokios(['connect', '--config', file, '--gateway', url]);
  connectors.push(p);
  return p;
}

beforeAll(async () => {
  upstreamA = await startFakeOllama({ label: 'upstream-A' });
  upstreamB = await startFakeOllama({ label: 'upstream-B' });
  url = (await startGatewayProcess(dataDir)).url;
  accountB = await cli(['account', 'create', '--email', 'bea@example.com']);
  keys.adminA = await createSecret('key', dataDir, ['--scope', 'admin']);
  keys.clientA = await createSecret('key', dataDir, ['--label', 'ci-bot']);
  keys.adminB = await cli(['key', 'create', '--account', 'bea@example.com', '--scope', 'admin']);
  keys.clientB = await cli(['key', 'create', '--account', 'bea@example.com']);
  tokens.a = await createSecret('token', dataDir);
  tokens.b = await cli(['token', 'create', '--account', accountB]);
  // The same name in both accounts, each claimed with its token alone (as the README does).
  for (const token of [tokens.a, tokens.b]) {
    const result = await runTokios(['register', '--gateway', url, '--name', 'gemma-tunnel', '--token', token], { env: { TOKIOS_API_KEY: '' } });
    expect(result.code, result.stderr).toBe(0);
  }
  await Promise.all([connect(tokens.a, upstreamA).waitFor(/state: online/), connect(tokens.b, upstreamB).waitFor(/state: online/)]);
});

afterAll(async () => {
  await killAll();
  await upstreamA?.close();
  await upstreamB?.close();
  dir.remove();
});

describe('two accounts on one gateway', () => {
  it("each account's keys reach only its own deployments, though both are named the same", async () => {
    expect((await chat(keys.clientA, 'gemma-tunnel')).text).toContain('Hello from upstream-A');
    expect((await chat(keys.clientB, 'gemma-tunnel')).text).toContain('Hello from upstream-B');
    const modelsB = (await (await call('/v1/models', keys.clientB)).json()) as { data: Array<{ id: string }> };
    expect(modelsB.data.map((m) => m.id)).toEqual(['gemma-tunnel']);

    const onlyB = await cli(['token', 'create', '--account', accountB, '--label', 'only-b']);
    expect((await call('/v1/deployments', keys.adminB, { body: { name: 'only-b', token: onlyB } })).status).toBe(201);
    const fromA = await chat(keys.clientA, 'only-b');
    expect(fromA.status).toBe(404);
    expect(fromA.text).not.toContain('only-b.');
    // An admin of A cannot bind B's token, nor see B's deployments or keys.
    const steal = await call('/v1/deployments', keys.adminA, { body: { name: 'stolen', token: onlyB } });
    expect(steal.status).toBe(400);
    const listedA = (await (await call('/v1/deployments', keys.adminA)).json()) as { deployments: Array<{ name: string }> };
    expect(listedA.deployments.map((d) => d.name)).toEqual(['gemma-tunnel']);
    const keysB = (await (await call('/v1/api-keys', keys.adminB)).json()) as { data: Array<{ id: string; scope: string }> };
    expect(keysB.data.map((k) => k.scope).sort()).toEqual(['admin', 'client']);
    expect(JSON.stringify(keysB)).not.toContain('sk-tokios-');
  });

  it("counts usage per account: B's report holds only B's traffic", async () => {
    const before = await usageTotals(keys.adminB);
    for (let i = 0; i < 3; i++) await chat(keys.clientA, 'gemma-tunnel');
    await chat(keys.clientB, 'gemma-tunnel');
    const after = await usageTotals(keys.adminB);
    expect(after.requests - before.requests).toBe(1);
    expect(after.output_tokens - before.output_tokens).toBe(2);
  });
});

async function usageTotals(adminKey: string): Promise<{ requests: number; output_tokens: number }> {
  const response = await call('/v1/usage?group_by=deployment', adminKey);
  expect(response.status).toBe(200);
  return ((await response.json()) as { totals: { requests: number; output_tokens: number } }).totals;
}

describe('scopes and the swap', () => {
  it('refuses the control plane to a client key, naming the scope it lacks', async () => {
    const response = await call('/v1/api-keys', keys.clientA, { body: {} });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/scope 'client'.*needs scope 'admin'/);
    const listing = await runTokios(['deployments', '--gateway', url], { env: { TOKIOS_API_KEY: keys.clientA } });
    expect(listing.code).toBe(1);
    expect(listing.stderr).toMatch(/needs scope 'admin'/);
  });

  it('keeps a key limited to its deployments', async () => {
    const narrow = await cli(['key', 'create', '--models', 'elsewhere']);
    const refused = await chat(narrow, 'gemma-tunnel');
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('limited to: elsewhere');
    expect(((await (await call('/v1/models', narrow)).json()) as { data: unknown[] }).data).toEqual([]);
  });

  it('refuses the swap to a tunnel token alone and makes it with an admin key', async () => {
    const next = await createSecret('token', dataDir);
    const alone = await runTokios(['register', '--gateway', url, '--name', 'gemma-tunnel', '--token', next], { env: { TOKIOS_API_KEY: '' } });
    expect(alone.code).toBe(1);
    expect(alone.stderr).toMatch(/needs an admin credential/);
    const keyFile = join(dir.path, 'admin.key');
    writeFileSync(keyFile, `${keys.adminA}\n`, { mode: 0o600 });
    const asAdmin = await runTokios(['register', '--gateway', url, '--name', 'gemma-tunnel', '--token', next, '--api-key-file', keyFile], { env: { TOKIOS_API_KEY: '' } });
    expect(asAdmin.code, asAdmin.stderr).toBe(0);
    expect(asAdmin.stdout).toMatch(/moved to the new token/);
    // Swap back, so the connector already online serves the name again.
    const back = await runTokios(['register', '--gateway', url, '--name', 'gemma-tunnel', '--token', tokens.a], { env: { TOKIOS_API_KEY: keys.adminA } });
    expect(back.code, back.stderr).toBe(0);
  });
});

describe('revocation by another process, within a second', () => {
  it('an API key revoked with `tokios key revoke LABEL` gets 401', async () => {
    expect((await chat(keys.clientA, 'gemma-tunnel')).status).toBe(200);
    await cli(['key', 'revoke', 'ci-bot']);
    await expect.poll(async () => (await chat(keys.clientA, 'gemma-tunnel')).status, { timeout: 1000, interval: 50 }).toBe(401);
    expect((await chat(keys.clientA, 'gemma-tunnel')).text).toContain('revoked');
  });

  it("a revoked tunnel token's open tunnel closes, its deployment goes offline, its connector exits 3", async () => {
    const [connectorB] = connectors.slice(1);
    const listed = JSON.parse((await runTokios(['token', 'list', '--json', '--account', accountB, '--data', dataDir])).stdout) as Array<{ id: string; status: string; deployment: string | null }>;
    const bound = listed.find((t) => t.deployment === 'gemma-tunnel')!;
    expect(bound.status).toBe('active');
    await cli(['token', 'revoke', bound.id, '--account', accountB]);
    const exited = await Promise.race([connectorB!.exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), 1000))]);
    expect(exited?.code).toBe(3);
    // Stopped at the close, saying why: no retry against a token that will not come back.
    expect(connectorB!.output).toMatch(/closed the tunnel: tunnel token revoked/);
    expect(connectorB!.output).not.toMatch(/reconnecting/);
    const offline = await chat(keys.clientB, 'gemma-tunnel');
    expect(offline.status).toBe(503);
    const deployments = (await (await call('/v1/deployments', keys.adminB)).json()) as { deployments: Array<{ name: string; status: string }> };
    expect(deployments.deployments.find((d) => d.name === 'gemma-tunnel')?.status).toBe('offline');
  });

  it('an API key revoked through the control API by its secret gets 401 at once', async () => {
    expect((await chat(keys.clientB, 'only-b')).status).not.toBe(401);
    const response = await call('/v1/api-keys/revoke', keys.adminB, { body: { ref: keys.clientB } });
    expect(response.status).toBe(200);
    expect((await chat(keys.clientB, 'only-b')).status).toBe(401);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOllama, type FakeOllama } from '../support/fake-ollama.js';
import { createSecret, killAll, runTokios, startGatewayProcess, tempDir, tokios, writeConfig, type TokiosProcess } from '../support/processes.js';

/**
 * Pools on one real `tokios gateway`: several connectors serving one deployment — the same
 * tokios.json run twice, and a second token added with `tokios register --pool` — share its
 * requests by least outstanding; one whose upstream goes down gets none (its connector says
 * so on the tunnel) and comes back when it answers again; one killed mid-load costs no
 * request that had not started streaming; and the swap still moves a pooled name.
 */

const dir = tempDir('tokios-pools-');
const dataDir = `${dir.path}/gateway`;
let url = '';
let adminKey = '';
let clientKey = '';
let tokenA = '';
const upstreams: FakeOllama[] = [];
const connectors: TokiosProcess[] = [];

interface Member { id: string; state: string; tokenId: string; upstreamModel: string | null }

async function members(name = 'gemma'): Promise<Member[]> {
  const response = await fetch(`${url}/v1/deployments`, { headers: { authorization: `Bearer ${adminKey}` } });
  const body = (await response.json()) as { deployments: Array<{ name: string; members?: Member[] }> };
  return body.deployments.find((d) => d.name === name)?.members ?? [];
}

function connect(token: string, upstream: FakeOllama): TokiosProcess {
  const file = writeConfig(dir.path, `tokios-${connectors.length}.json`, { tunnel_token: token, upstream: upstream.url });
  const p = tokios(['connect', '--config', file, '--gateway', url]);
  connectors.push(p);
  return p;
}

/** A streamed chat; `started` says whether the client saw the status line before it failed. */
async function streamChat(): Promise<{ ok: boolean; started: boolean; text: string; status: number }> {
  let started = false;
  let status = 0;
  try {
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${clientKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gemma', stream: true, max_tokens: 6, messages: [{ role: 'user', content: 'Hi' }] }),
    });
    started = true;
    status = response.status;
    const text = await response.text();
    return { ok: response.status === 200 && text.includes('[DONE]'), started, text, status };
  } catch {
    return { ok: false, started, text: '', status };
  }
}

/** Which upstream answered each of `n` requests sent `parallel` at a time. */
async function spread(n: number, parallel = 4): Promise<{ byUpstream: Map<string, number>; failed: number }> {
  const byUpstream = new Map<string, number>();
  let failed = 0;
  for (let i = 0; i < n; i += parallel) {
    const results = await Promise.all(Array.from({ length: Math.min(parallel, n - i) }, () => streamChat()));
    for (const r of results) {
      if (!r.ok) failed++;
      const label = /Hello from (upstream-\w)/.exec(r.text)?.[1] ?? 'none';
      byUpstream.set(label, (byUpstream.get(label) ?? 0) + 1);
    }
  }
  return { byUpstream, failed };
}

beforeAll(async () => {
  for (const label of ['upstream-A', 'upstream-B', 'upstream-C', 'upstream-D']) upstreams.push(await startFakeOllama({ label, tokenIntervalMs: 15 }));
  url = (await startGatewayProcess(dataDir)).url;
  adminKey = await createSecret('key', dataDir, ['--scope', 'admin']);
  clientKey = await createSecret('key', dataDir);
  tokenA = await createSecret('token', dataDir);
  const registered = await runTokios(['register', '--gateway', url, '--name', 'gemma', '--token', tokenA], { env: { TOKIOS_API_KEY: '' } });
  expect(registered.code, registered.stderr).toBe(0);
});

afterAll(async () => {
  await killAll();
  await Promise.all(upstreams.map((u) => u.close()));
  dir.remove();
});

describe('a pool of connectors serving one deployment', () => {
  it('the same tokios.json on two machines: both serve, shown as two members, balanced', async () => {
    await Promise.all([connect(tokenA, upstreams[0]!).waitFor(/state: online/), connect(tokenA, upstreams[1]!).waitFor(/state: online/)]);
    await expect.poll(async () => (await members()).filter((m) => m.state === 'serving').length).toBe(2);
    const { byUpstream, failed } = await spread(16);
    expect(failed).toBe(0);
    expect(byUpstream.get('upstream-A')).toBeGreaterThanOrEqual(4);
    expect(byUpstream.get('upstream-B')).toBeGreaterThanOrEqual(4);
  });

  it('a second token joins with `tokios register --pool` (admin only); its connector takes a share', async () => {
    const tokenC = await createSecret('token', dataDir);
    const alone = await runTokios(['register', '--gateway', url, '--name', 'gemma', '--token', tokenC, '--pool'], { env: { TOKIOS_API_KEY: '' } });
    expect(alone.code).toBe(1);
    expect(alone.stderr).toMatch(/Adding a token to its pool needs an admin credential/);
    const pooled = await runTokios(['register', '--gateway', url, '--name', 'gemma', '--token', tokenC, '--pool'], { env: { TOKIOS_API_KEY: adminKey } });
    expect(pooled.code, pooled.stderr).toBe(0);
    expect(pooled.stdout).toMatch(/has this token in its pool now: online/);
    await connect(tokenC, upstreams[2]!).waitFor(/state: online/);
    await expect.poll(async () => new Set((await members()).map((m) => m.tokenId)).size).toBe(2);
    const { byUpstream, failed } = await spread(18, 6);
    expect(failed).toBe(0);
    expect(byUpstream.get('upstream-C')).toBeGreaterThanOrEqual(3);
  });

  it('a member whose upstream is down gets no requests, and none fails; it serves again once the upstream is back', async () => {
    const b = upstreams[1]!;
    const port = b.port;
    await b.close();
    // Whatever reached B before its connector noticed was retried on another member.
    const during = await spread(12);
    expect(during.failed).toBe(0);
    expect(during.byUpstream.get('upstream-B') ?? 0).toBe(0);
    await expect.poll(async () => (await members()).map((m) => m.state).sort(), { timeout: 20_000 }).toEqual(['serving', 'serving', 'upstream-down']);
    const restarted = await startFakeOllama({ label: 'upstream-B', tokenIntervalMs: 15, port });
    upstreams[1] = restarted;
    await expect.poll(async () => (await members()).filter((m) => m.state === 'serving').length, { timeout: 20_000 }).toBe(3);
  });

  it('a member killed mid-load: every request that had not started streaming is served by another', async () => {
    const victim = connectors[1]!;
    upstreams.forEach((u) => (u.tokenIntervalMs = 40));
    const load = Promise.all(Array.from({ length: 24 }, (_, i) => new Promise<Awaited<ReturnType<typeof streamChat>>>((resolve) => setTimeout(() => void streamChat().then(resolve), i * 15))));
    await expect.poll(() => upstreams[1]!.requests.filter((r) => r.finishedAt === null && !r.aborted).length, { interval: 5 }).toBeGreaterThan(0);
    victim.signal('SIGKILL');
    const results = await load;
    upstreams.forEach((u) => (u.tokenIntervalMs = 15));
    expect(results.filter((r) => !r.ok && !r.started)).toEqual([]);
    expect(results.filter((r) => r.ok).length).toBeGreaterThanOrEqual(20);
    await expect.poll(async () => (await members()).length).toBe(2);
  });

  it('the swap moves a pooled name: the new token takes over, every old member drains', async () => {
    const tokenD = await createSecret('token', dataDir);
    const swapped = await runTokios(['register', '--gateway', url, '--name', 'gemma', '--token', tokenD], { env: { TOKIOS_API_KEY: adminKey } });
    expect(swapped.code, swapped.stderr).toBe(0);
    // Until the new connector is online, the old pool keeps serving.
    expect((await streamChat()).ok).toBe(true);
    await connect(tokenD, upstreams[3]!).waitFor(/state: online/);
    await expect.poll(async () => (await members()).map((m) => m.state)).toEqual(['serving']);
    const { byUpstream, failed } = await spread(4);
    expect(failed).toBe(0);
    expect([...byUpstream.keys()]).toEqual(['upstream-D']);
  });
});

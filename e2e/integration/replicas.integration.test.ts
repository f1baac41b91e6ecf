import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enginesMissing } from '../support/engines.js';
import { startFakeOllama, type FakeOllama } from '../support/fake-ollama.js';
import { killAll, runTokios, tempDir, tokios, writeConfig, type TokiosProcess } from '../support/processes.js';
import { startReplicaRig, type ReplicaRig } from '../support/replica-rig.js';

/**
 * Three real gateway replicas on one PostgreSQL and one Redis, behind a round-robin TCP
 * balancer that clients and connectors use: every deployment answers through every replica;
 * a revocation and a swap made on one replica are in force on all within a second; a key
 * limited to N requests a minute gets N across all replicas; and the failures — PostgreSQL
 * stopped, Redis restarted, a replica SIGKILLed — cost nothing they should not.
 * (`npm run test:faults` runs these failures at full size.)
 */

const missing = enginesMissing();
if (missing) throw new Error(`replica tests: ${missing}`);

const dir = tempDir('tokios-replicas-test-');
let rig: ReplicaRig;
const upstreams: Record<string, FakeOllama> = {};
const keys = { admin: '', client: '' };
const tokens = { gemma: '', llama: '' };
const connectors: TokiosProcess[] = [];

async function chat(base: string, key: string, model: string): Promise<{ status: number; text: string }> {
  try {
    const response = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', connection: 'close' },
      body: JSON.stringify({ model, max_tokens: 3, messages: [{ role: 'user', content: 'Hi' }] }),
    });
    return { status: response.status, text: await response.text() };
  } catch (error) {
    return { status: 0, text: (error as Error).message };
  }
}

function connect(token: string, upstream: FakeOllama): TokiosProcess {
  const file = writeConfig(dir.path, `tokios-${connectors.length}.json`, { tunnel_token: token, upstream: upstream.url });
  const p = tokios(['connect', '--config', file, '--gateway', rig.balancer.url]);
  connectors.push(p);
  return p;
}

async function register(name: string, token: string, env: NodeJS.ProcessEnv = { TOKIOS_API_KEY: '' }): Promise<void> {
  const result = await runTokios(['register', '--gateway', rig.balancer.url, '--name', name, '--token', token], { env });
  expect(result.code, result.stderr).toBe(0);
}

/** Which replica (its id) holds the member serving `name`. */
async function holderOf(name: string): Promise<string> {
  const response = await fetch(`${rig.replicas[0]!.url}/v1/deployments`, { headers: { authorization: `Bearer ${keys.admin}` } });
  const body = (await response.json()) as { deployments: Array<{ name: string; members: Array<{ replica: string | null; state: string }> }> };
  const member = body.deployments.find((d) => d.name === name)?.members.find((m) => m.state === 'serving');
  return member?.replica ?? replicaId(0);
}

function replicaId(i: number): string {
  return /replica (rep_\w+) joined/.exec(rig.replicas[i]!.process.output)![1]!;
}

const everyReplica = (): string[] => rig.replicas.filter((r) => r.process.child.exitCode === null && r.process.child.signalCode === null).map((r) => r.url);

beforeAll(async () => {
  rig = await startReplicaRig({ replicas: 3 });
  for (const label of ['upstream-gemma', 'upstream-llama', 'upstream-gemma-2', 'upstream-late']) upstreams[label] = await startFakeOllama({ label });
  keys.admin = await rig.cli(['key', 'create', '--scope', 'admin']);
  keys.client = await rig.cli(['key', 'create']);
  tokens.gemma = await rig.cli(['token', 'create']);
  tokens.llama = await rig.cli(['token', 'create']);
  await register('gemma', tokens.gemma);
  await register('llama', tokens.llama);
  await Promise.all([connect(tokens.gemma, upstreams['upstream-gemma']!).waitFor(/state: online/), connect(tokens.llama, upstreams['upstream-llama']!).waitFor(/state: online/)]);
}, 90_000);

afterAll(async () => {
  await killAll();
  await Promise.all(Object.values(upstreams).map((u) => u.close()));
  await rig?.destroy();
  dir.remove();
});

describe('three replicas behind a balancer', () => {
  it('answers every deployment through every replica', async () => {
    for (const url of everyReplica()) {
      for (const [name, label] of [['gemma', 'upstream-gemma'], ['llama', 'upstream-llama']] as const) {
        await expect.poll(async () => (await chat(url, keys.client, name)).text).toContain(`Hello from ${label}`);
      }
    }
  });

  it('a key limited to 6 requests a minute gets 6 across all replicas, not 6 each', async () => {
    const limited = await rig.cli(['key', 'create', '--rpm', '6']);
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) statuses.push((await chat(rig.replicas[i % 3]!.url, limited, 'gemma')).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(6);
    expect(statuses.slice(6)).toEqual([429, 429, 429]);
  });

  it('a key revoked on one replica gets 401 on every replica within a second', async () => {
    const doomed = await rig.cli(['key', 'create', '--label', 'doomed']);
    for (const url of everyReplica()) expect((await chat(url, doomed, 'gemma')).status).toBe(200);
    const revoked = await fetch(`${rig.replicas[1]!.url}/v1/api-keys/doomed`, { method: 'DELETE', headers: { authorization: `Bearer ${keys.admin}` } });
    expect(revoked.status).toBe(200);
    await Promise.all(everyReplica().map((url) => expect.poll(async () => (await chat(url, doomed, 'gemma')).status, { timeout: 1000, interval: 50 }).toBe(401)));
  });

  it('the swap made through one replica moves the name on every replica once the new connector is online', async () => {
    const next = await rig.cli(['token', 'create']);
    await register('gemma', next, { TOKIOS_API_KEY: keys.admin });
    await connect(next, upstreams['upstream-gemma-2']!).waitFor(/state: online/);
    await Promise.all(everyReplica().map((url) => expect.poll(async () => (await chat(url, keys.client, 'gemma')).text, { timeout: 1000, interval: 50 }).toContain('Hello from upstream-gemma-2')));
    tokens.gemma = next;
  });

  it('PostgreSQL stopped: known keys keep working everywhere, changes get 503 saying why, usage is written once it is back', async () => {
    const before = await usageRequests();
    // Each replica has verified the admin key once (a key never seen cannot be checked while the database is away: 503).
    for (const url of everyReplica()) expect((await fetch(`${url}/v1/deployments`, { headers: { authorization: `Bearer ${keys.admin}` } })).status).toBe(200);
    await rig.pg.stop();
    try {
      for (const url of everyReplica()) expect((await chat(url, keys.client, 'llama')).status).toBe(200);
      for (let i = 0; i < 4; i++) expect((await chat(rig.replicas[0]!.url, keys.client, 'llama')).status).toBe(200);
      const change = await fetch(`${rig.replicas[2]!.url}/v1/api-keys`, { method: 'POST', headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' }, body: '{}' });
      expect(change.status).toBe(503);
      expect(((await change.json()) as { error: { message: string } }).error.message).toMatch(/database .* cannot be reached, so nothing can be changed right now.*Retry in a moment/);
    } finally {
      await rig.pg.start();
    }
    // Replica 0 stops with SIGTERM: what it counted while the database was away is written as it stops.
    expect((await rig.replicas[0]!.process.stop()).code).toBe(0);
    await rig.restart(0);
    expect((await usageRequests()) - before).toBeGreaterThanOrEqual(4 + 3);
  });

  it('Redis restarted: serving goes on, and a connector that arrives afterwards is reachable from every replica', async () => {
    await rig.redis.stop();
    try {
      for (const url of everyReplica()) expect((await chat(url, keys.client, 'llama')).status).toBe(200);
    } finally {
      await rig.redis.start();
    }
    const late = await rig.cli(['token', 'create']);
    await register('late', late);
    await connect(late, upstreams['upstream-late']!).waitFor(/state: online/);
    await Promise.all(everyReplica().map((url) => expect.poll(async () => (await chat(url, keys.client, 'late')).text, { timeout: 10_000, interval: 100 }).toContain('Hello from upstream-late')));
  });

  it('a replica SIGKILLed: its connectors come back through the balancer, the others never noticed', async () => {
    const holder = await holderOf('llama');
    const victim = rig.replicas.findIndex((_, i) => replicaId(i) === holder);
    const others = rig.replicas.filter((_, i) => i !== victim).map((r) => r.url);
    rig.replicas[victim]!.process.signal('SIGKILL');
    await rig.replicas[victim]!.process.exited;
    // Requests sent once its connector is back (the gateway waits for it briefly) succeed.
    await Promise.all(others.map((url) => expect.poll(async () => (await chat(url, keys.client, 'llama')).status, { timeout: 15_000, interval: 100 }).toBe(200)));
    for (const url of others) expect((await chat(url, keys.client, 'llama')).text).toContain('Hello from upstream-llama');
  });
});

async function usageRequests(): Promise<number> {
  const response = await fetch(`${rig.replicas[1]!.url}/v1/usage?group_by=deployment`, { headers: { authorization: `Bearer ${keys.admin}` } });
  return ((await response.json()) as { totals: { requests: number } }).totals.requests;
}

import { startFakeOllama, type FakeOllama } from '../support/fake-ollama.js';
import { runTokios, tempDir, tokios, writeConfig, type TokiosProcess } from '../support/processes.js';
import { startReplicaRig, type ReplicaRig } from '../support/replica-rig.js';
import { eventually, sleep, type FaultReport, type Scale } from './fault-report.js';
import { chat, type Outcome } from './network-faults.js';

/**
 * Faults of a replicated gateway: three real replicas on one PostgreSQL and one Redis,
 * behind a round-robin TCP balancer that clients and connectors use. Redis restarted
 * (serving goes on; limits follow `--limits-when-redis-down`, and are shared again once it
 * is back), PostgreSQL stopped (known keys and tokens keep working, changes get 503, usage
 * is written once it is back), and a replica SIGKILLed under load (its connectors come back
 * through the balancer; what the other replicas were serving is untouched). Replica 2 runs
 * with `--limits-when-redis-down closed`, the others with the default `open`, so one rig
 * shows both policies.
 */

const ok = (o: Outcome, from: string): boolean => o.status === 200 && o.error === null && o.text.includes(`Hello from ${from}`);

interface Deployment {
  name: string;
  token: string;
  upstream: FakeOllama;
  connector: TokiosProcess;
}

export async function replicaFaults(report: FaultReport, scale: Scale): Promise<void> {
  const perReplica = scale === 'full' ? 30 : 4;
  const rig = await startReplicaRig({ replicas: 3, gatewayArgs: (i) => (i === 2 ? ['--limits-when-redis-down', 'closed'] : []) });
  const dir = tempDir('tokios-replica-faults-');
  const deployments: Deployment[] = [];
  try {
    const admin = await rig.cli(['key', 'create', '--scope', 'admin']);
    const client = await rig.cli(['key', 'create']);
    const start = (d: Omit<Deployment, 'connector'>): TokiosProcess => {
      const file = writeConfig(dir.path, `tokios-${d.name}.json`, { tunnel_token: d.token, upstream: d.upstream.url });
      return tokios(['connect', '--config', file, '--gateway', rig.balancer.url]);
    };
    for (const name of ['alpha', 'beta']) {
      const token = await rig.cli(['token', 'create']);
      const registered = await runTokios(['register', '--gateway', rig.balancer.url, '--name', name, '--token', token], { env: { TOKIOS_API_KEY: '' } });
      if (registered.code !== 0) throw new Error(`register ${name}: ${registered.stderr}`);
      const upstream = await startFakeOllama({ label: name });
      const d = { name, token, upstream };
      const connector = start(d);
      deployments.push({ ...d, connector });
      await connector.waitFor(/state: online/, 30_000);
    }
    const ctx: Context = { rig, admin, client, perReplica, deployments, restart: (d) => (d.connector = start(d)) };
    await redisRestarted(report, ctx);
    await postgresStopped(report, ctx);
    await replicaKilled(report, ctx, scale);
  } finally {
    await Promise.all(deployments.map((d) => d.connector.stop(3000)));
    await Promise.all(deployments.map((d) => d.upstream.close()));
    await rig.destroy();
    dir.remove();
  }
}

interface Context {
  rig: ReplicaRig;
  admin: string;
  client: string;
  perReplica: number;
  deployments: Deployment[];
  /** Starts the deployment's connector again (after it was stopped). */
  restart(d: Deployment): TokiosProcess;
}

const live = (rig: ReplicaRig): number[] => rig.replicas.flatMap((r, i) => (r.process.child.exitCode === null && r.process.child.signalCode === null ? [i] : []));

async function redisRestarted(report: FaultReport, { rig, client, perReplica }: Context): Promise<void> {
  const limited = await rig.cli(['key', 'create', '--rpm', '1000']);
  let tried = 0;
  let served = 0;
  const refusedClosed: Outcome[] = [];
  await rig.redis.stop();
  try {
    for (let n = 0; n < perReplica; n++) {
      for (const i of [0, 1, 2]) {
        const url = rig.replicas[i]!.url;
        // Keys without limits never need Redis: served everywhere.
        tried++;
        if (ok(await chat(url, client, 'alpha'), 'alpha')) served++;
        // A limited key: served by the `open` replicas, refused with 503 by the `closed` one.
        const outcome = await chat(url, limited, 'beta');
        if (i === 2) refusedClosed.push(outcome);
        else {
          tried++;
          if (ok(outcome, 'beta')) served++;
        }
      }
    }
  } finally {
    await rig.redis.start();
  }
  const closedRight = refusedClosed.filter((o) => o.status === 503 && /limits cannot be checked right now \(the gateway's Redis is unreachable\)/.test(o.text)).length;
  // Back: every replica says so, and limits are shared again (exact across replicas).
  const back = await Promise.all(rig.replicas.map((r) => r.process.waitFor(/Redis is back/, 15_000).then(() => true, () => false)));
  const servedAgain = await eventually(async () => (await chat(rig.replicas[2]!.url, limited, 'beta')).status === 200, 10_000, 100);
  const four = await rig.cli(['key', 'create', '--rpm', '4']);
  const statuses: number[] = [];
  for (let n = 0; n < 6; n++) statuses.push((await chat(rig.replicas[n % 3]!.url, four, 'alpha')).status);
  const exact = statuses.filter((s) => s === 200).length === 4 && statuses.slice(4).every((s) => s === 429);
  report.add({
    area: 'faults', scenario: 'replicas: Redis restarted under load (replica 2 with --limits-when-redis-down closed)',
    tried: tried + refusedClosed.length + 1,
    survived: served + closedRight + (back.every(Boolean) && servedAgain && exact ? 1 : 0),
    lost: tried - served,
    figures: `${served}/${tried} served while Redis was down (open policy and unlimited keys); closed policy: ${closedRight}/${refusedClosed.length} limited requests refused with 503; back on all replicas: ${back.every(Boolean)}; a 4 rpm key after: ${statuses.join(' ')}`,
  });
}

async function postgresStopped(report: FaultReport, { rig, admin, client, perReplica, deployments, restart }: Context): Promise<void> {
  const beta = deployments[1]!;
  const usage = async (): Promise<number> => {
    const response = await fetch(`${rig.replicas[live(rig)[0]!]!.url}/v1/usage?group_by=deployment`, { headers: { authorization: `Bearer ${admin}` } });
    return ((await response.json()) as { totals: { requests: number } }).totals.requests;
  };
  // Every replica has seen the admin key and beta's token once (the cache keeps what was verified; a secret never seen cannot be checked while the database is away).
  for (const r of rig.replicas) {
    if ((await fetch(`${r.url}/v1/deployments`, { headers: { authorization: `Bearer ${admin}` } })).status !== 200) throw new Error('admin key refused before the fault');
    const again = await fetch(`${r.url}/v1/deployments`, { method: 'POST', headers: { authorization: `Bearer ${beta.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: beta.name, token: beta.token }) });
    if (again.status >= 300) throw new Error(`re-registering beta with its own token: ${again.status} ${await again.text()}`);
  }
  const before = await usage();
  let tried = 0;
  let served = 0;
  let change: { status: number; message: string } | undefined;
  let reconnected = false;
  await rig.pg.stop();
  try {
    for (let n = 0; n < perReplica; n++) {
      for (const r of rig.replicas) {
        tried++;
        if (ok(await chat(r.url, client, 'alpha'), 'alpha')) served++;
      }
    }
    const response = await fetch(`${rig.replicas[1]!.url}/v1/api-keys`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: '{}' });
    change = { status: response.status, message: ((await response.json()) as { error?: { message?: string } }).error?.message ?? '' };
    // A connector that comes back while the database is away is let in on its known token.
    await beta.connector.stop(3000);
    await restart(beta).waitFor(/state: online/, 30_000).then(() => (reconnected = true), () => undefined);
    for (const r of rig.replicas) {
      tried++;
      if (reconnected && ok(await chat(r.url, client, 'beta'), 'beta')) served++;
    }
  } finally {
    await rig.pg.start();
  }
  const changeRight = change?.status === 503 && /database .* cannot be reached, so nothing can be changed right now/.test(change.message);
  // What was counted meanwhile is written once the database is back (batches: every 10 s).
  const written = await eventually(async () => (await usage().catch(() => 0)) - before >= tried, 30_000, 500);
  report.add({
    area: 'faults', scenario: 'replicas: PostgreSQL stopped under load; a connector reconnects meanwhile',
    tried: tried + 2, survived: served + (changeRight ? 1 : 0) + (written ? 1 : 0), lost: tried - served,
    figures: `${served}/${tried} served from cache; connector back on its known token: ${reconnected}; a change got ${change?.status ?? 'no answer'}; usage written after: ${written}`,
  });
}

async function replicaKilled(report: FaultReport, { rig, admin, client, deployments, restart }: Context, scale: Scale): Promise<void> {
  const idOf = (i: number): string | undefined => /replica (rep_\w+) joined/.exec(rig.replicas[i]!.process.output)?.[1];
  /** The replica holding `name`'s serving member, as replica `ask` lists it. */
  const holder = async (name: string, ask: number): Promise<number | null> => {
    try {
      const response = await fetch(`${rig.replicas[ask]!.url}/v1/deployments`, { headers: { authorization: `Bearer ${admin}` } });
      const body = (await response.json()) as { deployments: Array<{ name: string; members?: Array<{ replica: string | null; state: string }> }> };
      const member = body.deployments.find((d) => d.name === name)?.members?.find((m) => m.state === 'serving');
      if (!member) return null;
      return member.replica === null ? ask : rig.replicas.findIndex((_, i) => idOf(i) === member.replica);
    } catch {
      return null;
    }
  };
  const beta = deployments[1]!;
  // alpha and beta must sit on different replicas: beta's connector dials again until it does (the balancer moves it on).
  for (let attempt = 0; attempt < 6 && (await holder('alpha', 0)) === (await holder('beta', 0)); attempt++) {
    await beta.connector.stop(3000);
    await restart(beta).waitFor(/state: online/, 30_000);
    await eventually(async () => (await holder('beta', 0)) !== null, 5000, 50);
  }
  const victim = (await holder('alpha', 0))!;
  const betaHolder = await holder('beta', 0);
  if (victim === betaHolder) throw new Error('alpha and beta stayed on one replica');
  const survivors = [0, 1, 2].filter((i) => i !== victim);

  // Load on both deployments through the surviving replicas, while alpha's replica dies.
  let running = true;
  let killedAt = Number.POSITIVE_INFINITY;
  let backAt = Number.POSITIVE_INFINITY;
  const betaOutcomes: Outcome[] = [];
  const alphaAfterBack: Outcome[] = [];
  let alphaWhileAway = 0;
  const load = Promise.all(survivors.map(async (i) => {
    const url = rig.replicas[i]!.url;
    while (running) {
      betaOutcomes.push(await chat(url, client, 'beta'));
      const sentAt = Date.now();
      const a = await chat(url, client, 'alpha', { limitMs: 20_000 });
      if (sentAt >= backAt) alphaAfterBack.push(a);
      else if (sentAt >= killedAt && !ok(a, 'alpha')) alphaWhileAway++;
      // Pacing, not synchronisation: a refused request comes back at once.
      if (a.status !== 200) await sleep(20);
    }
  }));
  await eventually(() => betaOutcomes.length >= 4, 20_000, 20);
  killedAt = Date.now();
  rig.replicas[victim]!.process.signal('SIGKILL');
  await rig.replicas[victim]!.process.exited;
  // Back: every survivor lists alpha served by a live replica.
  const isBack = async (): Promise<boolean> => {
    for (const i of survivors) {
      const h = await holder('alpha', i);
      if (h === null || h === victim) return false;
    }
    return true;
  };
  const cameBack = await eventually(isBack, 30_000, 50);
  backAt = Date.now();
  const wanted = scale === 'full' ? 40 : 6;
  await eventually(() => alphaAfterBack.length >= wanted, 30_000, 50);
  running = false;
  await load;
  const betaFailed = betaOutcomes.filter((o) => !ok(o, 'beta')).length;
  const alphaFailed = alphaAfterBack.filter((o) => !ok(o, 'alpha')).length;
  const tried = betaOutcomes.length + alphaAfterBack.length + 1;
  report.add({
    area: 'faults', scenario: 'replicas: the replica holding a tunnel SIGKILLed under load',
    tried,
    survived: tried - betaFailed - alphaFailed - (cameBack ? 0 : 1),
    lost: betaFailed + alphaFailed,
    figures: `connector back through the balancer in ${cameBack ? `${backAt - killedAt} ms` : 'never'}; other deployment (another replica's tunnel): ${betaOutcomes.length - betaFailed}/${betaOutcomes.length} served throughout; after it was back: ${alphaAfterBack.length - alphaFailed}/${alphaAfterBack.length}; while it was away: ${alphaWhileAway} refused`,
  });
}

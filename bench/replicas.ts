import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { DEFAULT_LIMITS, TUNNEL_SUBPROTOCOL, type HelloPayload } from '../shared/tunnel-protocol.js';
import { TunnelClient } from '../main/connector/tunnel-client.js';
import { Logger, setLogLevel } from '../main/logging/logger.js';
import { TunnelSession } from '../main/tunnel/tunnel-session.js';
import { enginesMissing } from '../e2e/support/engines.js';
import { runTokios, tempDir, tokios, type TokiosProcess } from '../e2e/support/processes.js';
import { startReplicaRig, type ReplicaRig } from '../e2e/support/replica-rig.js';
import { TcpBalancer } from '../e2e/support/tcp-balancer.js';
import { concurrentStreams, median, percentile, requestsPerSecond, sequential, type Target } from './load.js';
import { cpuDuring, rssBytes } from './proc-stats.js';
import { startTokios, type Upstream } from './targets.js';

/**
 * The replicated gateway's figures: efficiency (requests and streamed tokens per CPU-second
 * of all gateway processes together) of one standalone gateway, of three replicas with one
 * connector (two requests in three cross the peer hop), and of three replicas with a
 * connector on each (no hop: what "connectors holding tunnels to every replica" would give);
 * the latency the hop adds; idle memory per 1,000 tunnels on one replica; and how long the
 * tunnels of a killed replica take to be back through the balancer. Engines from Debian's
 * packages; without them the rows say why they were skipped.
 */

export interface ReplicaRow {
  figure: string;
  unit: string;
  direct: number | string | null;
  tokios: number | string | null;
  versus: string;
  goal: string;
  met: boolean | null;
  peers: Record<string, string>;
}

const HELLO: HelloPayload = { version: 'bench', upstreamKind: 'openai', models: ['bench'], model: 'bench', limits: DEFAULT_LIMITS };

export async function measureReplicas(upstream: Upstream, quick: boolean, log: (text: string) => void): Promise<ReplicaRow[]> {
  const missing = enginesMissing();
  if (missing) {
    return [{ figure: 'replicated gateway (efficiency, hop, memory per 1,000 tunnels, reconnects)', unit: '', direct: null, tokios: 'skipped', versus: missing, goal: '', met: null, peers: {} }];
  }
  const rows: ReplicaRow[] = [];
  const seconds = quick ? 2 : 4;
  const rounds = quick ? 2 : 3;
  const events = quick ? 1500 : 4000;
  await upstream.configure({ intervalMs: 0 });

  // ---- one standalone gateway, through a balancer of one ----------------------------------
  const single = await startTokios(upstream.base);
  const singleLb = await new TcpBalancer([Number(new URL(single.base).port)]).listen();
  const rig = await startReplicaRig({ replicas: 3, gatewayArgs: [] });
  const dir = tempDir('tokios-bench-replicas-');
  const connectors: TokiosProcess[] = [];
  try {
    const key = await rig.cli(['key', 'create']);
    const admin = await rig.cli(['key', 'create', '--scope', 'admin']);
    const token = await rig.cli(['token', 'create']);
    const registered = await runTokios(['register', '--gateway', rig.balancer.url, '--name', 'bench', '--token', token]);
    if (registered.code !== 0) throw new Error(registered.stderr);
    const config = join(dir.path, 'tokios-bench.json');
    writeFileSync(config, JSON.stringify({ tunnel_token: token, upstream: upstream.base, model: 'bench' }));
    const connect = (gateway: string): TokiosProcess => {
      const p = tokios(['connect', '--config', config, '--gateway', gateway], { env: { TOKIOS_LOG_LEVEL: 'warn' } });
      connectors.push(p);
      return p;
    };
    const membersOnline = async (n: number): Promise<Array<{ replica: string | null }>> => {
      for (const deadline = Date.now() + 20_000; Date.now() < deadline; await sleep(50)) {
        const response = await fetch(`${rig.replicas[0]!.url}/v1/deployments`, { headers: { authorization: `Bearer ${admin}` } });
        const members = ((await response.json()) as { deployments: Array<{ members?: Array<{ replica: string | null; state: string }> }> }).deployments[0]?.members ?? [];
        if (members.filter((m) => m.state === 'serving').length === n) return members;
      }
      throw new Error(`the bench deployment did not reach ${n} members`);
    };
    const replicaPids = rig.replicas.map((r) => r.process.pid);
    const headers = { authorization: `Bearer ${key}` };
    const singleTarget: Target = { name: 'one gateway', base: singleLb.url, headers: single.headers, pids: [single.gatewayPid] };
    const hopTarget: Target = { name: 'three replicas, one connector', base: rig.balancer.url, headers, pids: replicaPids };

    // One connector, through the balancer: it lands on one replica; the others hop to it.
    connect(rig.balancer.url);
    const [member] = await membersOnline(1);
    const holder = rig.replicas.findIndex((r) => member!.replica === null ? r === rig.replicas[0] : r.process.output.includes(`replica ${member!.replica} joined`));
    const other = rig.replicas.find((_, i) => i !== holder)!;

    // ---- the hop's latency: the holder directly vs another replica directly -------------
    const atHolder: Target = { name: 'holder', base: rig.replicas[holder]!.url, headers, pids: [] };
    const viaHop: Target = { name: 'hop', base: other.url, headers, pids: [] };
    const lat = { holder: [] as number[], hop: [] as number[] };
    await sequential(atHolder, 200, false);
    await sequential(viaHop, 200, false);
    for (let round = 0; round < rounds; round++) {
      lat.holder.push(...(await sequential(atHolder, quick ? 300 : 600, false)).latencies);
      lat.hop.push(...(await sequential(viaHop, quick ? 300 : 600, false)).latencies);
    }
    const hopAdded = median(lat.hop) - median(lat.holder);
    rows.push({
      figure: 'added latency of the cross-replica hop, non-streaming 1 KB, p50', unit: 'ms', direct: median(lat.holder), tokios: median(lat.hop),
      versus: `+${hopAdded.toFixed(2)} ms (p99 +${(percentile(lat.hop, 99) - percentile(lat.holder, 99)).toFixed(2)} ms)`, goal: '<= 0.5 ms', met: hopAdded <= 0.5, peers: {},
    });
    log('replicas: hop latency done');

    // ---- efficiency: requests and streamed tokens per CPU-second of the gateways ---------
    const efficiency = async (target: Target): Promise<{ rps: number; perCpuS: number; tokensPerCpuS: number; errors: number }> => {
      await requestsPerSecond(target, 50, 1);
      const perCpu: number[] = [];
      const tokensPerCpu: number[] = [];
      let rps = 0;
      let errors = 0;
      for (let round = 0; round < rounds; round++) {
        const { result, cpuMs } = await cpuDuring(target.pids, () => requestsPerSecond(target, 50, seconds));
        perCpu.push(result.total / (cpuMs / 1000));
        rps = Math.max(rps, result.rps);
        errors += result.errors;
        const streamed = await cpuDuring(target.pids, () => concurrentStreams(target, 16, events, false));
        const tokens = streamed.result.results.reduce((sum, r) => sum + r.bytes, 0) / upstream.eventBytes;
        errors += streamed.result.results.filter((r) => r.error || r.status !== 200).length;
        tokensPerCpu.push(tokens / (streamed.cpuMs / 1000));
      }
      return { rps, perCpuS: median(perCpu), tokensPerCpuS: median(tokensPerCpu), errors };
    };
    const one = await efficiency(singleTarget);
    log('replicas: one gateway done');
    const hop = await efficiency(hopTarget);
    log('replicas: three replicas, one connector done');
    // The same token on every replica directly: every replica has its own member, no hop.
    for (const [i, r] of rig.replicas.entries()) if (i !== holder) connect(r.url);
    await membersOnline(3);
    const local = await efficiency({ ...hopTarget, name: 'three replicas, a connector on each' });
    log('replicas: three replicas, a connector on each done');
    const cell = (e: typeof one): string => `${Math.round(e.perCpuS).toLocaleString('en-US')} req/CPU-s, ${Math.round(e.tokensPerCpuS).toLocaleString('en-US')} tokens/CPU-s${e.errors ? `, ${e.errors} errors` : ''}`;
    for (const [what, e] of [['three replicas, one connector (2 in 3 requests hop)', hop], ['three replicas, a connector on each (no hop)', local]] as const) {
      const reqRatio = e.perCpuS / one.perCpuS;
      const tokRatio = e.tokensPerCpuS / one.tokensPerCpuS;
      rows.push({
        figure: `efficiency of ${what}, vs one gateway: requests and streamed tokens per CPU-second of all gateway processes`, unit: 'x',
        direct: cell(one), tokios: cell(e),
        versus: `requests ${reqRatio.toFixed(2)}x, tokens ${tokRatio.toFixed(2)}x one gateway`, goal: '>= 0.8x one gateway', met: reqRatio >= 0.8 && tokRatio >= 0.8 && e.errors === 0, peers: {},
      });
    }

    // ---- idle memory per 1,000 tunnels on one replica --------------------------------------
    const count = quick ? 500 : 1000;
    const target = rig.replicas[0]!;
    await sleep(1000);
    const before = rssBytes(target.process.pid);
    const sockets = await openTunnels(target.url, token, count);
    await sleep(2000);
    const after = rssBytes(target.process.pid);
    const perThousand = ((after - before) / count) * 1000;
    rows.push({
      figure: 'idle memory per 1,000 tunnels on one replica', unit: 'MB', direct: null, tokios: perThousand / 1e6,
      versus: `${count} idle tunnels: +${((after - before) / 1e6).toFixed(1)} MB resident`, goal: '<= 30 MB', met: perThousand <= 30e6, peers: {},
    });
    for (const ws of sockets) ws.terminate();
    log('replicas: memory per 1,000 tunnels done');

    // ---- a replica killed: its tunnels back through the balancer --------------------------
    await Promise.all(connectors.splice(0).map((c) => c.stop(2000)));
    rows.push(await reconnectsAfterKill(rig, token, admin, quick ? 150 : 300));
    log('replicas: reconnects done');
  } finally {
    await Promise.all(connectors.map((c) => c.stop(2000)));
    await singleLb.close();
    await single.stop();
    await rig.destroy();
    dir.remove();
  }
  return rows;
}

/** `count` idle tunnels of `token` straight to one replica: a WebSocket and a Hello each, nothing more. */
async function openTunnels(base: string, token: string, count: number): Promise<WebSocket[]> {
  const url = `${base.replace(/^http/, 'ws')}/v1/tunnel`;
  const out: WebSocket[] = [];
  for (let i = 0; i < count; i += 50) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, () => new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(url, TUNNEL_SUBPROTOCOL, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
      ws.once('open', () => {
        const session = new TunnelSession(ws, { role: 'connector', limits: DEFAULT_LIMITS, heartbeatMs: 60_000 });
        session.once('settings', () => resolve(ws));
        session.sendHello(HELLO);
      });
      ws.once('error', reject);
    })))));
  }
  return out;
}

/**
 * `count` real tunnel clients (the connector's own, with its backoff) through the balancer;
 * one replica SIGKILLed; for each of its tunnels, the time until it was serving again.
 */
async function reconnectsAfterKill(rig: ReplicaRig, token: string, admin: string, count: number): Promise<ReplicaRow> {
  const log = new Logger('bench-tunnel');
  // Hundreds of clients in this process: only their problems are worth a line.
  setLogLevel('warn');
  const clients = Array.from({ length: count }, () => new TunnelClient({ gatewayUrl: rig.balancer.url, token, log, hello: () => HELLO }));
  const served = new Map<TunnelClient, number>();
  for (const client of clients) {
    client.on('settings', (settings) => {
      if (settings.serving) served.set(client, performance.now());
    });
    client.start();
  }
  for (const deadline = Date.now() + 30_000; served.size < count && Date.now() < deadline; ) await sleep(50);
  let held = await membersByReplica(rig, admin);
  for (const deadline = Date.now() + 10_000; held.reduce((a, b) => a + b, 0) !== count && Date.now() < deadline; await sleep(100)) held = await membersByReplica(rig, admin);
  // The replica holding the most of them dies.
  const victim = held.indexOf(Math.max(...held));
  const affected = held[victim]!;
  const killedAt = performance.now();
  served.clear();
  rig.replicas[victim]!.process.signal('SIGKILL');
  await rig.replicas[victim]!.process.exited;
  // Those that were on it reconnect; the others are untouched (they get no new settings).
  for (const deadline = Date.now() + 60_000; served.size < affected && Date.now() < deadline; ) await sleep(20);
  const times = [...served.values()].map((t) => t - killedAt);
  for (const client of clients) client.destroy();
  const p95 = percentile(times, 95);
  return {
    figure: 'tunnels of a killed replica serving again through the balancer, p95', unit: 'ms', direct: null, tokios: p95,
    versus: `${times.length} of ${affected} tunnels back (${count} over 3 replicas); p50 ${median(times).toFixed(0)} ms, all back in ${Math.max(...times).toFixed(0)} ms`,
    goal: 'all back', met: times.length >= affected, peers: {},
  };
}

/** How many members of the bench deployment each replica holds (as replica 0 sees them). */
async function membersByReplica(rig: ReplicaRig, admin: string): Promise<number[]> {
  const response = await fetch(`${rig.replicas[0]!.url}/v1/deployments`, { headers: { authorization: `Bearer ${admin}` } });
  const members = ((await response.json()) as { deployments: Array<{ members?: Array<{ replica: string | null }> }> }).deployments[0]?.members ?? [];
  return rig.replicas.map((r, i) => members.filter((m) => (m.replica === null ? i === 0 : r.process.output.includes(`replica ${m.replica} joined`))).length);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

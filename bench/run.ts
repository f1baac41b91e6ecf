import { fork, spawn } from 'node:child_process';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { agentFor, concurrentStreams, exchange, median, percentile, requestsPerSecond, sequential, type Target } from './load.js';
import { measureAccountingCost } from './accounting-cost.js';
import { measureReplicas } from './replicas.js';
import { cpuDuring, rssBytes } from './proc-stats.js';
import { cpuBoundUpstream, pacedTokens, streamAfterNonStreaming, type PaceContext } from './real-pace.js';
import { fmt, printReport, type Cell, type Row } from './report.js';
import { REPO_ROOT } from '../e2e/support/processes.js';
import { installPeers, startHttpProxy, startNodeProxy, startPortkey, startTokios, startUpstream, tryLocaltunnel, type Running, type TokiosTarget } from './targets.js';

/**
 * `npm run bench`: every figure of the performance goals, each next to the same figure for
 * a direct call to the upstream measured in the same run, direct and tunneled rounds
 * interleaved, with warm-up, medians and p99, CPU summed over the processes of each path,
 * and the peers measured alongside. Prints one table and writes it to bench/results/
 * latest.json and latest.md (a partial run, `--only X`, to latest-X.json and .md).
 *
 *   npm run bench            the whole run (about 6 minutes on 2 cores)
 *   npm run bench -- --quick fewer rounds and requests, for a look while optimising
 *   npm run bench -- --quick --only translation   just the translated-stream figures
 *   npm run bench -- --quick --only replicas      just the replicated gateway's figures
 *   npm run bench -- --only saturation  just the saturated SSE figures (events/s, CPU per 1,000)
 *   npm run bench -- --only paced|cpu-bound|nagle  just the figures at real model rates
 *     (real-pace.ts), against direct and the one-hop proxies
 */

const QUICK = process.argv.includes('--quick');
const ONLY = process.argv.includes('--only') ? (process.argv[process.argv.indexOf('--only') + 1] ?? null) : null;
const ROUNDS = QUICK ? 2 : 3;
const scale = (n: number): number => (QUICK ? Math.ceil(n / 3) : n);

const rows: Row[] = [];
const notes: string[] = [];
const log = (text: string): void => void process.stderr.write(`${text}\n`);

async function main(): Promise<void> {
  const started = Date.now();
  log(`bench: ${os.cpus().length} cores, Node ${process.version}${QUICK ? ', quick run' : ''}`);
  const upstream = await startUpstream();
  const direct: Target = upstream;
  if (ONLY === 'replicas') {
    try {
      rows.push(...(await measureReplicas(upstream, QUICK, log)));
    } finally {
      await upstream.stop();
    }
    return printReport(rows, notes, [], started, QUICK, ONLY);
  }
  const tokios = await startTokios(upstream.base);
  if (ONLY === 'translation') {
    try {
      await translatedStreams(upstream, tokios);
    } finally {
      await tokios.stop();
      await upstream.stop();
    }
    return printReport(rows, notes, [], started, QUICK, ONLY);
  }
  const peers: Running[] = [];
  const peerProblems: Record<string, string> = {};
  const installProblem = installPeers();
  if (installProblem) {
    for (const name of ['http-proxy', 'portkey', 'localtunnel']) peerProblems[name] = installProblem;
    peers.push(await startNodeProxy(upstream.base));
  } else {
    for (const [name, start] of [['node-proxy', startNodeProxy], ['http-proxy', startHttpProxy], ['portkey', startPortkey]] as const) {
      try {
        peers.push(await start(upstream.base));
      } catch (error) {
        peerProblems[name] = `did not start: ${(error as Error).message.split('\n')[0]}`;
      }
    }
    peerProblems.localtunnel = await tryLocaltunnel();
  }
  const all: Target[] = [direct, tokios, ...peers];
  const peerNames = ['node-proxy', 'http-proxy', 'portkey', 'localtunnel'];
  // The figures at real model rates compare with the one-hop proxies only.
  const pace: PaceContext = { upstream, tokios, targets: all.filter((t) => t.name !== 'portkey'), quick: QUICK, log };
  const REAL_PACE = { paced: pacedTokens, 'cpu-bound': cpuBoundUpstream, nagle: streamAfterNonStreaming } as const;
  if (ONLY && ONLY in REAL_PACE) {
    try {
      rows.push(...(await REAL_PACE[ONLY as keyof typeof REAL_PACE](pace)));
    } finally {
      for (const peer of peers) await peer.stop();
      await tokios.stop();
      await upstream.stop();
    }
    return printReport(rows, notes, peerNames, started, QUICK, ONLY);
  }
  const peerCell = (name: string, value: (t: Target) => Cell): Cell => {
    const peer = peers.find((p) => p.name === name);
    return peer ? value(peer) : 'n/a';
  };
  if (ONLY === 'saturation') {
    try {
      await saturatedStreams(all, upstream, peerNames, peerCell);
    } finally {
      for (const peer of peers) await peer.stop();
      await tokios.stop();
      await upstream.stop();
    }
    return printReport(rows, notes, peerNames, started, QUICK, ONLY);
  }
  const idle = await idleWorkerRss(tokios);

  try {
    // ---- latency, non-streaming 1 KB -------------------------------------------------
    await upstream.configure({ intervalMs: 0 });
    const lat = new Map<string, number[]>(all.map((t) => [t.name, []]));
    for (const t of all) await sequential(t, scale(200), false); // warm-up
    for (let round = 0; round < ROUNDS; round++) for (const t of all) lat.get(t.name)!.push(...(await sequential(t, scale(500), false)).latencies);
    const p = (name: string, q: number): number => percentile(lat.get(name)!, q);
    for (const [q, goal] of [[50, 0.5], [99, 2]] as const) {
      const added = p('tokios', q) - p('direct', q);
      rows.push({
        figure: `added latency, non-streaming 1 KB, p${q}`, unit: 'ms', direct: p('direct', q), tokios: p('tokios', q),
        versus: `+${fmt(added)} ms`, goal: `<= ${goal} ms over direct`, met: added <= goal,
        peers: Object.fromEntries(peerNames.map((n) => [n, peerCell(n, (t) => `+${fmt(p(t.name, q) - p('direct', q))}`)])),
      });
    }
    log('latency done');

    // ---- time to first streamed event -----------------------------------------------
    await upstream.configure({ intervalMs: 2 });
    const ttfe = new Map<string, number[]>(all.map((t) => [t.name, []]));
    for (const t of all) await sequential(t, scale(50), true, 3);
    for (let round = 0; round < ROUNDS; round++) for (const t of all) ttfe.get(t.name)!.push(...(await sequential(t, scale(200), true, 3)).firstBytes);
    const ttfeP50 = (name: string): number => median(ttfe.get(name)!);
    const ttfeAdded = ttfeP50('tokios') - ttfeP50('direct');
    rows.push({
      figure: 'added time to first streamed event, p50', unit: 'ms', direct: ttfeP50('direct'), tokios: ttfeP50('tokios'),
      versus: `+${fmt(ttfeAdded)} ms`, goal: '<= 0.5 ms', met: ttfeAdded <= 0.5,
      peers: Object.fromEntries(peerNames.map((n) => [n, peerCell(n, (t) => `+${fmt(ttfeP50(t.name) - ttfeP50('direct'))}`)])),
    });
    log('time to first event done');

    // ---- gaps between chunks at 64 streams x 100 tokens/s ---------------------------
    await upstream.configure({ intervalMs: 10 });
    const gaps = new Map<string, number[]>(all.map((t) => [t.name, []]));
    for (let round = 0; round < ROUNDS - 1; round++) {
      for (const t of all) {
        const { results } = await concurrentStreams(t, 64, 100, true);
        for (const r of results) gaps.get(t.name)!.push(...r.gaps);
      }
    }
    const gapP99 = (name: string): number => percentile(gaps.get(name)!, 99);
    const gapAdded = gapP99('tokios') - gapP99('direct');
    rows.push({
      figure: 'chunk gap p99 at 64 streams x 100 tokens/s', unit: 'ms', direct: gapP99('direct'), tokios: gapP99('tokios'),
      versus: `+${fmt(gapAdded)} ms`, goal: '<= 1 ms more than direct', met: gapAdded <= 1,
      peers: Object.fromEntries(peerNames.map((n) => [n, peerCell(n, (t) => `+${fmt(gapP99(t.name) - gapP99('direct'))}`)])),
    });
    log('chunk gaps done');

    await saturatedStreams(all, upstream, peerNames, peerCell);
    await translatedStreams(upstream, tokios);
    rows.push(...(await streamAfterNonStreaming(pace)));
    rows.push(...(await pacedTokens(pace)));
    rows.push(...(await cpuBoundUpstream(pace)));

    // ---- requests/s under sustained load, and CPU per 1,000 requests -----------------
    const seconds = QUICK ? 2 : 4;
    // The same tokios once more with a key that has limits: what checking them costs.
    const loaded = [...all, tokios.limited];
    const rps = new Map<string, number[]>(loaded.map((t) => [t.name, []]));
    const rpsCpu = new Map<string, number[]>(loaded.map((t) => [t.name, []]));
    const rpsErrors = new Map<string, number>(loaded.map((t) => [t.name, 0]));
    for (const t of loaded) await requestsPerSecond(t, 50, 1);
    for (let round = 0; round < ROUNDS - 1; round++) {
      for (const t of loaded) {
        const { result, cpuMs } = await cpuDuring(t.pids, () => requestsPerSecond(t, 50, seconds));
        rps.get(t.name)!.push(result.rps);
        rpsCpu.get(t.name)!.push(cpuMs / (result.total / 1000));
        rpsErrors.set(t.name, rpsErrors.get(t.name)! + result.errors);
      }
    }
    const rpsOf = (name: string): number => median(rps.get(name)!);
    const rpsCpuOf = (name: string): number => median(rpsCpu.get(name)!);
    rows.push({
      figure: 'requests/s, 50 connections, no pipelining', unit: 'req/s', direct: rpsOf('direct'), tokios: rpsOf('tokios'),
      versus: `${(rpsOf('tokios') / rpsOf('direct')).toFixed(2)}x direct${rpsErrors.get('tokios') ? `, ${rpsErrors.get('tokios')} errors` : ''}`,
      goal: '>= 0.3x direct', met: rpsOf('tokios') / rpsOf('direct') >= 0.3 && rpsErrors.get('tokios') === 0,
      peers: Object.fromEntries(peerNames.map((n) => [n, peerCell(n, (t) => `${(rpsOf(t.name) / rpsOf('direct')).toFixed(2)}x`)])),
    });
    rows.push({
      figure: 'CPU per 1,000 requests (gateway + connector)', unit: 'ms', direct: null, tokios: rpsCpuOf('tokios'),
      versus: `${fmt(rpsCpuOf('tokios'))} ms`, goal: '<= 90 ms', met: rpsCpuOf('tokios') <= 90,
      peers: Object.fromEntries(peerNames.map((n) => [n, peerCell(n, (t) => fmt(rpsCpuOf(t.name)))])),
    });
    const limitedName = tokios.limited.name;
    rows.push({
      figure: 'requests/s with a key that has rpm, tpm and parallel limits', unit: 'req/s', direct: rpsOf('direct'), tokios: rpsOf(limitedName),
      versus: `${(rpsOf(limitedName) / rpsOf('tokios')).toFixed(2)}x the same without limits${rpsErrors.get(limitedName) ? `, ${rpsErrors.get(limitedName)} errors` : ''}`,
      goal: '>= 0.95x without limits', met: rpsOf(limitedName) / rpsOf('tokios') >= 0.95 && rpsErrors.get(limitedName) === 0, peers: {},
    });
    rows.push({
      figure: 'CPU per 1,000 requests with that key (gateway + connector)', unit: 'ms', direct: null, tokios: rpsCpuOf(limitedName),
      versus: `${rpsCpuOf(limitedName) >= rpsCpuOf('tokios') ? '+' : ''}${fmt(rpsCpuOf(limitedName) - rpsCpuOf('tokios'))} ms over the same without limits`,
      goal: '<= 5 ms more than without limits', met: rpsCpuOf(limitedName) - rpsCpuOf('tokios') <= 5, peers: {},
    });
    // What accounts, limits and usage add per request, on CPU time in this process, next
    // to the gateway's whole CPU per request measured above (ms per 1,000 = µs per request).
    const cost = await measureAccountingCost(scale(60_000));
    const perRequestUs = rpsCpuOf('tokios');
    rows.push({
      figure: 'accounts, limits and usage per request on the gateway (in-process CPU; direct: the key lookup before accounts)', unit: 'µs',
      direct: cost.beforeUs, tokios: cost.unlimitedUs,
      versus: `+${fmt(cost.unlimitedUs - cost.beforeUs)} µs without limits, +${fmt(cost.limitedUs - cost.beforeUs)} µs with rpm/tpm/parallel: ${fmt((100 * (cost.limitedUs - cost.beforeUs)) / perRequestUs)}% of the ${fmt(perRequestUs)} µs a request costs`,
      goal: '<= 5% of the CPU per request', met: cost.limitedUs - cost.beforeUs <= 0.05 * perRequestUs, peers: {},
    });
    log('requests/s done');
    for (const peer of peers) await peer.stop();
    peers.length = 0;

    await thousandStreams(upstream, tokios);
    await stalledAndHuge(upstream, tokios);

    rows.push({
      figure: 'connector worker idle RSS (direct: an idle bare node)', unit: 'MB', direct: idle.bare / 1e6, tokios: idle.worker / 1e6,
      versus: `+${fmt((idle.worker - idle.bare) / 1e6)} MB over bare Node`, goal: '<= 50 MB', met: idle.worker <= 50e6, peers: {},
    });
    await reconnects(upstream);
    rows.push(...(await measureReplicas(upstream, QUICK, log)));
  } finally {
    for (const peer of peers) await peer.stop();
    await tokios.stop();
    await upstream.stop();
  }

  for (const [name, problem] of Object.entries(peerProblems)) notes.push(`${name}: not measured — ${problem}`);
  printReport(rows, notes, peerNames, started, QUICK, ONLY);
}

/**
 * Saturated streaming: 16 streams of events sent back to back, many per event-loop turn,
 * through each target in turn; events/s against direct and CPU per 1,000 events.
 */
async function saturatedStreams(all: Target[], upstream: Awaited<ReturnType<typeof startUpstream>>, peerNames: string[], peerCell: (name: string, value: (t: Target) => Cell) => Cell): Promise<void> {
  await upstream.configure({ intervalMs: 0 });
  const eventsPerStream = scale(4000);
  const rate = new Map<string, number[]>(all.map((t) => [t.name, []]));
  const cpuPerK = new Map<string, number[]>(all.map((t) => [t.name, []]));
  for (const t of all) await concurrentStreams(t, 16, scale(500), false);
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of all) {
      const { result, cpuMs } = await cpuDuring(t.pids, () => concurrentStreams(t, 16, eventsPerStream, false));
      const events = result.results.reduce((sum, r) => sum + r.bytes, 0) / upstream.eventBytes;
      rate.get(t.name)!.push(events / (result.wallMs / 1000));
      cpuPerK.get(t.name)!.push(cpuMs / (events / 1000));
    }
  }
  const eps = (name: string): number => median(rate.get(name)!);
  const epsCpu = (name: string): number => median(cpuPerK.get(name)!);
  rows.push({
    figure: 'SSE events/s through one tunnel', unit: 'events/s', direct: eps('direct'), tokios: eps('tokios'),
    versus: `${(eps('tokios') / eps('direct')).toFixed(2)}x direct`, goal: '>= 0.75x direct', met: eps('tokios') / eps('direct') >= 0.75,
    peers: Object.fromEntries(peerNames.map((n) => [n, peerCell(n, (t) => `${(eps(t.name) / eps('direct')).toFixed(2)}x`)])),
  });
  rows.push({
    figure: 'CPU per 1,000 SSE events (gateway + connector)', unit: 'ms', direct: null, tokios: epsCpu('tokios'),
    versus: `${fmt(epsCpu('tokios'))} ms`, goal: '<= 9 ms', met: epsCpu('tokios') <= 9,
    peers: Object.fromEntries(peerNames.map((n) => [n, peerCell(n, (t) => fmt(epsCpu(t.name)))])),
  });
  log('events/s done');
}

/**
 * A connector worker as the app runs it (forked, config over IPC), connected and idle,
 * next to a bare `node` doing nothing: what the worker itself adds.
 */
async function idleWorkerRss(tokios: TokiosTarget): Promise<{ worker: number; bare: number }> {
  const worker = fork(join(REPO_ROOT, 'dist', 'main', 'connector', 'connector-worker.js'), [], { stdio: 'ignore', execArgv: [] });
  const online = new Promise<void>((resolve) => worker.on('message', (m: { type: string; health?: { state: string } }) => {
    if (m.type === 'health' && m.health && m.health.state !== 'connecting') resolve();
  }));
  worker.send({ type: 'start', config: { tunnel_token: tokios.token, upstream: tokios.upstream, model: 'bench' }, gatewayUrl: tokios.base });
  await online;
  await sleep(2000);
  const workerRss = rssBytes(worker.pid!);
  worker.kill();
  const bare = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  await sleep(2000);
  const bareRss = rssBytes(bare.pid!);
  bare.kill();
  return { worker: workerRss, bare: bareRss };
}

/**
 * CPU per 1,000 streamed tokens when the gateway translates (a Messages or Responses client,
 * an upstream that speaks only Chat Completions: the bench upstream) next to the same
 * stream passed through, rounds interleaved. Every event of the bench upstream is a token.
 */
async function translatedStreams(upstream: Awaited<ReturnType<typeof startUpstream>>, tokios: TokiosTarget): Promise<void> {
  await upstream.configure({ intervalMs: 0 });
  const streams = 16;
  const tokens = scale(4000);
  const dialects = ['chat', 'messages', 'responses'] as const;
  const cpu = new Map<string, number[]>(dialects.map((d) => [d, []]));
  for (const dialect of dialects) await concurrentStreams(tokios, streams, scale(500), false, dialect);
  for (let round = 0; round < ROUNDS; round++) {
    for (const dialect of dialects) {
      const { result, cpuMs } = await cpuDuring(tokios.pids, () => concurrentStreams(tokios, streams, tokens, false, dialect));
      // Every token must have arrived: each is one event of well over 100 bytes in every dialect.
      const failed = result.results.filter((r) => r.error || r.status !== 200 || r.bytes < tokens * 100).length;
      if (failed) throw new Error(`${failed} of ${streams} ${dialect} streams failed or came back short (${result.results.map((r) => r.bytes).join(", ")} bytes)`);
      cpu.get(dialect)!.push(cpuMs / ((streams * tokens) / 1000));
    }
  }
  const passthrough = median(cpu.get('chat')!);
  for (const [dialect, name] of [['messages', 'Messages'], ['responses', 'Responses']] as const) {
    const translated = median(cpu.get(dialect)!);
    const ratio = translated / passthrough;
    rows.push({
      figure: `CPU per 1,000 streamed tokens, ${name} client translated from Chat Completions (gateway + connector)`, unit: 'ms', direct: null, tokios: translated,
      versus: `${ratio.toFixed(2)}x passthrough (${fmt(passthrough)} ms), +${fmt(translated - passthrough)} ms`, goal: '<= 2x passthrough', met: ratio <= 2, peers: {},
    });
  }
  log('translated streams done');
}

/** 1,000 concurrent streams through one tunnel: errors, and memory per open stream. */
async function thousandStreams(upstream: Awaited<ReturnType<typeof startUpstream>>, tokios: TokiosTarget): Promise<void> {
  await upstream.configure({ intervalMs: 100 });
  const before = tokios.pids.reduce((sum, pid) => sum + rssBytes(pid), 0);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, tokios.pids.reduce((sum, pid) => sum + rssBytes(pid), 0))), 100);
  const { results } = await concurrentStreams(tokios, 1000, 20, false);
  clearInterval(sampler);
  const errors = results.filter((r) => r.error || r.status !== 200 || r.bytes < 20 * upstream.eventBytes).length;
  const perStream = (peak - before) / 1000;
  const directResults = (await concurrentStreams(upstream, 1000, 20, false)).results.filter((r) => r.error || r.status !== 200).length;
  rows.push({
    figure: '1,000 concurrent streams through one tunnel', unit: 'KB/stream', direct: `${directResults} errors`, tokios: perStream / 1024,
    versus: `${errors} errors, ${fmt(perStream / 1024)} KB/stream`, goal: '0 errors, <= 30 KB/stream', met: errors === 0 && perStream <= 30 * 1024, peers: {},
  });
  log('1,000 streams done');
}

/** A stalled client, then a 10 MB response, among 50 streams: the others' chunk gaps. */
async function stalledAndHuge(upstream: Awaited<ReturnType<typeof startUpstream>>, tokios: TokiosTarget): Promise<void> {
  const othersP99 = async (extra: 'none' | 'stalled' | 'huge'): Promise<{ p99: number; growth: number }> => {
    await upstream.configure({ intervalMs: 10, fastAbove: 10_000 });
    const agent = agentFor(60);
    const before = tokios.pids.reduce((sum, pid) => sum + rssBytes(pid), 0);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, tokios.pids.reduce((sum, pid) => sum + rssBytes(pid), 0))), 100);
    let special: http.ClientRequest | null = null;
    let hugeDone: Promise<unknown> = Promise.resolve();
    if (extra === 'stalled') {
      // Reads nothing: the tunnel must hold it back without slowing the others.
      special = http.request(`${tokios.base}/v1/chat/completions`, { method: 'POST', agent, headers: { ...tokios.headers, 'content-type': 'application/json' } });
      special.on('response', (res) => res.pause());
      special.on('error', () => undefined);
      special.end(JSON.stringify({ model: 'bench', stream: true, max_tokens: 45_000, messages: [] }));
    } else if (extra === 'huge') {
      hugeDone = exchange(agent, tokios, true, 45_000); // ~10 MB at full speed
    }
    const results = await Promise.all(Array.from({ length: extra === 'none' ? 50 : 49 }, () => exchange(agent, tokios, true, 100, { keepGaps: true })));
    await hugeDone;
    clearInterval(sampler);
    special?.destroy();
    agent.destroy();
    await sleep(300);
    return { p99: percentile(results.flatMap((r) => r.gaps), 99), growth: peak - before };
  };
  const baseline = await othersP99('none');
  const stalled = await othersP99('stalled');
  const huge = await othersP99('huge');
  for (const [what, result] of [['one stalled client', stalled], ['one 10 MB response', huge]] as const) {
    const ratio = result.p99 / baseline.p99;
    rows.push({
      figure: `${what} among 50 streams: others' p99 chunk gap`, unit: 'ms', direct: null, tokios: result.p99,
      versus: `${ratio.toFixed(2)}x baseline (${fmt(baseline.p99)} ms), memory +${fmt(result.growth / 1e6)} MB`,
      goal: '<= 2x baseline; memory bounded', met: ratio <= 2 && result.growth < 64e6, peers: {},
    });
  }
  await upstream.configure({ intervalMs: 0, fastAbove: Number.MAX_SAFE_INTEGER });
  log('stalled and 10 MB done');
}

/** Cuts the tunnel's TCP connection and times the first request that succeeds afterwards. */
async function reconnects(upstream: Awaited<ReturnType<typeof startUpstream>>): Promise<void> {
  await upstream.configure({ intervalMs: 0 });
  const samples: number[] = [];
  // Several connectors cut at once, rounds spaced past the backoff's stable period, so each
  // cut meets a tunnel that had settled (as a dropped network would).
  const tunnels = await Promise.all(Array.from({ length: 5 }, () => startTokios(upstream.base, true)));
  try {
    for (let round = 0; round < (QUICK ? 2 : 4); round++) {
      await sleep(5500);
      const cutAt = performance.now();
      for (const t of tunnels) t.proxy!.cut();
      await Promise.all(tunnels.map(async (t) => {
        const agent = agentFor(1);
        for (;;) {
          const r = await exchange(agent, t, false, 1);
          if (r.status === 200) break;
          await sleep(5);
        }
        samples.push(performance.now() - cutAt);
        agent.destroy();
      }));
    }
  } finally {
    await Promise.all(tunnels.map((t) => t.stop()));
  }
  const p95 = percentile(samples, 95);
  rows.push({
    figure: 'first successful request after the tunnel is cut, p95', unit: 'ms', direct: null, tokios: p95,
    versus: `p50 ${fmt(median(samples))} ms, max ${fmt(Math.max(...samples))} ms (${samples.length} cuts)`, goal: '<= 1000 ms', met: p95 <= 1000, peers: {},
  });
  log('reconnects done');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);

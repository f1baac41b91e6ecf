import { agentFor, concurrentStreams, exchange, median, pacedStreams, percentile, type Target } from './load.js';
import { cpuEachDuring } from './proc-stats.js';
import { fmt, signed, type Row } from './report.js';
import type { TokiosTarget, Upstream } from './targets.js';

/**
 * Figures at the rates real models stream at, where every token arrives alone and pays for
 * its own wake-ups and system calls in every process it crosses (at saturation, many events
 * share one event-loop turn and batch for free, which flatters every proxy):
 *
 * - CPU per 1,000 paced tokens, gateway and connector apart, next to one-hop proxies, and
 *   the gap between tokens the client sees, at three paces;
 * - tokens/s a CPU-bound upstream keeps when the tunnel shares its CPUs;
 * - the first token of a stream sent right after a non-streaming request on warm
 *   keep-alive connections, from an upstream that leaves Nagle's algorithm on.
 *
 * Targets run interleaved, round by round, so load from elsewhere on the machine falls on
 * all of them alike.
 */

export interface PaceContext {
  upstream: Upstream;
  tokios: TokiosTarget;
  /** Direct first, then tokios, then the one-hop proxies to compare with. */
  targets: Target[];
  quick: boolean;
  log: (text: string) => void;
}

/** Streams x tokens/s per stream: a few fast local streams, a hosted gateway's many slow ones. */
const PACES = [
  { streams: 4, rate: 600 },
  { streams: 200, rate: 20 },
  { streams: 1000, rate: 5 },
] as const;

/** The peers these figures are compared with (named as the table's peer columns), those that started. */
const peersIn = (targets: Target[]): string[] => ['node-proxy', 'http-proxy'].filter((name) => targets.some((t) => t.name === name));

export async function pacedTokens({ upstream, tokios, targets, quick, log }: PaceContext): Promise<Row[]> {
  const rows: Row[] = [];
  const PEERS = peersIn(targets);
  const seconds = quick ? 2 : 4;
  const rounds = quick ? 1 : 2;
  for (const { streams, rate } of PACES) {
    const interval = 1000 / rate;
    await upstream.configure({ intervalMs: interval });
    const events = Math.round(rate * seconds);
    const cpu = new Map<string, number[][]>(targets.map((t) => [t.name, []]));
    const gaps = new Map<string, number[]>(targets.map((t) => [t.name, []]));
    const failed = new Map<string, number>(targets.map((t) => [t.name, 0]));
    // Warm-up: every hop opens its connections for this many streams.
    for (const t of targets) await pacedStreams(t, streams, Math.min(events, 3 * rate), interval);
    for (let round = 0; round < rounds; round++) {
      for (const t of targets) {
        const { result, cpuMs } = await cpuEachDuring(t.pids, () => pacedStreams(t, streams, events, interval));
        const tokens = result.results.reduce((sum, r) => sum + r.bytes, 0) / upstream.eventBytes;
        cpu.get(t.name)!.push(cpuMs.map((ms) => ms / (tokens / 1000)));
        for (const r of result.results) {
          if (r.error || r.status !== 200 || r.bytes < events * upstream.eventBytes) failed.set(t.name, failed.get(t.name)! + 1);
          // The first gaps include the stream's start; the steady pace is what a reader feels.
          gaps.get(t.name)!.push(...r.gaps.slice(2));
        }
      }
    }
    // Per process, the median over rounds; tokios is gateway + connector.
    const cpuOf = (name: string): number[] => cpu.get(name)![0]!.map((_, i) => median(cpu.get(name)!.map((round) => round[i]!)));
    const total = (name: string): number => cpuOf(name).reduce((sum, ms) => sum + ms, 0);
    const [gateway, connector] = cpuOf(tokios.name) as [number, number];
    const proxy = total('node-proxy');
    const errors = failed.get(tokios.name)! ? `; ${failed.get(tokios.name)} streams failed or came back short` : '';
    rows.push({
      figure: `CPU per 1,000 tokens at ${streams} streams x ${rate} tokens/s (gateway + connector)`, unit: 'ms', direct: null, tokios: gateway + connector,
      versus: `gateway ${fmt(gateway)} + connector ${fmt(connector)}; ${((gateway + connector) / proxy).toFixed(2)}x the node:http proxy${errors}`,
      goal: '<= the one-hop node:http proxy', met: gateway + connector <= proxy && !errors, peers: Object.fromEntries(PEERS.map((n) => [n, fmt(total(n))])),
    });
    const gap = (name: string, q: number): number => percentile(gaps.get(name)!, q);
    rows.push({
      figure: `gap between tokens at ${streams} streams x ${rate} tokens/s, p99 (p50 in comparison)`, unit: 'ms', direct: gap('direct', 99), tokios: gap(tokios.name, 99),
      versus: `${signed(gap(tokios.name, 99) - gap('direct', 99))} ms p99, ${signed(gap(tokios.name, 50) - gap('direct', 50))} ms p50`, goal: '<= 1 ms over direct at p99',
      met: gap(tokios.name, 99) - gap('direct', 99) <= 1, peers: Object.fromEntries(PEERS.map((n) => [n, signed(gap(n, 99) - gap('direct', 99))])),
    });
    log(`paced ${streams} x ${rate} done`);
  }
  return rows;
}

/**
 * A CPU-only model sharing the machine with the tunnel: tokens/s at the client, 1 and 4
 * streams. Each decode step costs about 1.6 ms on every core (≈ 600 tokens/s per stream on
 * an idle machine, the rate of a small model on this kind of CPU), so whatever CPU a path
 * takes per token is taken from the model.
 */
export async function cpuBoundUpstream({ upstream, tokios, targets, quick, log }: PaceContext): Promise<Row[]> {
  const rows: Row[] = [];
  const PEERS = peersIn(targets);
  await upstream.configure({ stepMs: 1.6 });
  const rounds = quick ? 2 : 3;
  for (const streams of [1, 4]) {
    const tokens = quick ? 600 : 1500;
    const rates = new Map<string, number[]>(targets.map((t) => [t.name, []]));
    for (const t of targets) await concurrentStreams(t, streams, 200, false);
    for (let round = 0; round < rounds; round++) {
      for (const t of targets) {
        const { results, wallMs } = await concurrentStreams(t, streams, tokens, false);
        const received = results.reduce((sum, r) => sum + r.bytes, 0) / upstream.eventBytes;
        rates.get(t.name)!.push(received / (wallMs / 1000));
      }
    }
    const rate = (name: string): number => median(rates.get(name)!);
    const ratio = rate(tokios.name) / rate('direct');
    rows.push({
      figure: `tokens/s from a CPU-bound upstream, ${streams} stream${streams > 1 ? 's' : ''}`, unit: 'tokens/s', direct: rate('direct'), tokios: rate(tokios.name),
      versus: `${ratio.toFixed(2)}x direct`, goal: '>= 0.9x direct', met: ratio >= 0.9,
      peers: Object.fromEntries(PEERS.map((n) => [n, `${(rate(n) / rate('direct')).toFixed(2)}x`])),
    });
    log(`CPU-bound upstream, ${streams} streams done`);
  }
  return rows;
}

/**
 * A streamed request right after a non-streaming one, on connections every hop keeps
 * alive, from an upstream that leaves Nagle's algorithm on and writes its head apart from
 * its body (llama.cpp's server does both). The head goes out; the first token then waits for
 * the head's ACK, and a receiver that has just replied on that connection delays its ACK
 * (up to 40 ms on Linux). Next to it: the same stream sent alone, after a pause.
 */
export async function streamAfterNonStreaming({ upstream, tokios, targets, quick, log }: PaceContext): Promise<Row[]> {
  const PEERS = peersIn(targets);
  await upstream.configure({ nagle: true, intervalMs: 2 });
  const tries = quick ? 6 : 15;
  const after = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  const alone = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  const agents = new Map(targets.map((t) => [t.name, agentFor(1)]));
  for (const t of targets) await exchange(agents.get(t.name)!, t, false, 1);
  for (let i = 0; i < tries; i++) {
    for (const t of targets) {
      const agent = agents.get(t.name)!;
      // Past any delayed-ACK timer: the connections are warm, not busy.
      await new Promise((resolve) => setTimeout(resolve, 250));
      alone.get(t.name)!.push((await exchange(agent, t, true, 3)).firstByteMs);
      await exchange(agent, t, false, 1);
      after.get(t.name)!.push((await exchange(agent, t, true, 3)).firstByteMs);
    }
  }
  for (const agent of agents.values()) agent.destroy();
  await upstream.configure({});
  const p50 = (map: Map<string, number[]>, name: string): number => median(map.get(name)!);
  const added = p50(after, tokios.name) - p50(alone, tokios.name);
  log('stream after a non-streaming request done');
  return [{
    figure: 'first token of a stream sent right after a non-streaming request, warm connections, upstream without TCP_NODELAY, p50', unit: 'ms',
    direct: p50(after, 'direct'), tokios: p50(after, tokios.name),
    versus: `${signed(added)} ms over the same stream alone (${fmt(p50(alone, tokios.name))} ms); direct alone ${fmt(p50(alone, 'direct'))} ms`,
    // The stall this guards against is a delayed ACK: 40 ms on Linux, far above the noise.
    goal: 'no delayed-ACK stall: <= 5 ms over the stream alone', met: added <= 5,
    peers: Object.fromEntries(PEERS.map((n) => [n, `${fmt(p50(after, n))} (alone ${fmt(p50(alone, n))})`])),
  }];
}

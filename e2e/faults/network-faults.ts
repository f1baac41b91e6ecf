import http from 'node:http';
import { startFakeOllama, type FakeOllama } from '../support/fake-ollama.js';
import { tokios, writeConfig, type TokiosProcess } from '../support/processes.js';
import { TcpCutProxy } from '../support/tcp-cut-proxy.js';
import { TunnelRig } from '../support/tunnel-rig.js';
import { eventually, fdCount, percentile, sleep, type FaultReport, type Scale } from './fault-report.js';

/** Faults of the network and of processes: gateway kills, a sick link, a dying upstream, SIGTERM. */

export interface Outcome {
  status: number;
  text: string;
  error: string | null;
  ms: number;
}

/** One chat request (streaming or not), never longer than `limitMs`: a hang shows up as 'hung'. */
export function chat(base: string, key: string, model: string, options: { stream?: boolean; tokens?: number; limitMs?: number } = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const started = performance.now();
    const body = JSON.stringify({ model, stream: options.stream ?? false, max_tokens: options.tokens ?? 4, messages: [{ role: 'user', content: 'Hi' }] });
    let settled = false;
    const finish = (outcome: Omit<Outcome, 'ms'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      resolve({ ...outcome, ms: performance.now() - started });
    };
    const req = http.request(`${base}/v1/chat/completions`, {
      method: 'POST', agent: false,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    const guard = setTimeout(() => {
      req.destroy();
      finish({ status: 0, text: '', error: 'hung' });
    }, options.limitMs ?? 15_000);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => finish({ status: res.statusCode ?? 0, text, error: null }));
      res.on('error', (error) => finish({ status: res.statusCode ?? 0, text, error: error.message }));
      res.on('aborted', () => finish({ status: res.statusCode ?? 0, text, error: 'aborted mid-response' }));
    });
    req.on('error', (error) => finish({ status: 0, text: '', error: error.message }));
    req.end(body);
  });
}

const complete = (o: Outcome, stream: boolean): boolean =>
  o.status === 200 && o.error === null && (stream ? o.text.includes('data: [DONE]') : o.text.includes('Hello from'));

/** Gateway SIGKILLed under load, several times, with several connectors dialling it. */
export async function gatewayKills(report: FaultReport, scale: Scale): Promise<void> {
  const connectors = scale === 'full' ? 6 : 3;
  const kills = scale === 'full' ? 4 : 2;
  const rig = await new TunnelRig(['--heartbeat', '1000']).start();
  const upstreams: FakeOllama[] = [];
  const proxy = await new TcpCutProxy(Number(new URL(rig.url).port)).listen();
  try {
    for (let i = 0; i < connectors; i++) {
      const upstream = await startFakeOllama({ models: ['gemma3:4b'] });
      upstreams.push(upstream);
      const token = await rig.newToken();
      await rig.register(`d${i}`, token);
      const file = writeConfig(rig.dir.path, `tokios-d${i}.json`, { tunnel_token: token, upstream: upstream.url });
      const connector = tokios(['connect', '--config', file, '--gateway', `http://127.0.0.1:${proxy.port}`]);
      await connector.waitFor(/state: online/);
    }
    const online = async (): Promise<number> => {
      try {
        const response = await fetch(`${rig.url}/v1/models`, { headers: { authorization: `Bearer ${rig.apiKey}` } });
        return ((await response.json()) as { data: unknown[] }).data.length;
      } catch {
        return 0;
      }
    };
    const reconnectMs: number[] = [];
    let survivedKills = 0;
    let lost = 0;
    let refusedWhileDown = 0;
    for (let k = 0; k < kills; k++) {
      // Load keeps coming while the gateway dies and comes back.
      let running = true;
      let readyAt = Number.POSITIVE_INFINITY;
      const afterReady: Outcome[] = [];
      const load = (async () => {
        for (let n = 0; running; n++) {
          const sentAt = Date.now();
          const outcome = await chat(rig.url, rig.apiKey, `d${n % connectors}`, { limitMs: 15_000 });
          if (sentAt >= readyAt) afterReady.push(outcome);
          else if (outcome.status !== 200) refusedWhileDown++;
          if (outcome.status === 0) await sleep(20);
        }
      })();
      await sleep(k === 0 ? 300 : SETTLED_MS);
      await rig.restartGateway('SIGKILL');
      readyAt = Date.now();
      const seen = new Set<number>();
      const reconnected = await eventually(async () => {
        const count = await online();
        while (seen.size < count) {
          seen.add(seen.size);
          reconnectMs.push(Date.now() - readyAt);
        }
        return count === connectors;
      }, 20_000, 20);
      await sleep(500);
      running = false;
      await load;
      const failed = afterReady.filter((o) => !complete(o, false));
      lost += failed.length;
      if (reconnected && failed.length === 0) survivedKills++;
    }
    // Connection attempts: the busiest second of all the connectors' dialling.
    const perSecond = new Map<number, number>();
    for (const t of proxy.accepted) perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
    const maxPerSecond = Math.max(...perSecond.values());
    const herd = maxPerSecond > connectors * 4 ? 1 : 0;
    report.add({
      area: 'faults',
      scenario: `gateway SIGKILLed under load, ${connectors} connectors`,
      tried: kills,
      survived: survivedKills,
      lost: lost + herd,
      figures: `reconnect p50 ${Math.round(percentile(reconnectMs, 50))} ms, p99 ${Math.round(percentile(reconnectMs, 99))} ms, max ${Math.round(Math.max(...reconnectMs))} ms; busiest second ${maxPerSecond} connection attempts (${connectors} connectors); ${refusedWhileDown} requests refused while it was down (before it was ready)`,
    });
  } finally {
    await proxy.close();
    await rig.close();
    await Promise.all(upstreams.map((u) => u.close()));
  }
}

/** One deployment whose connector dials through a proxy the test controls. */
async function degradedRig(): Promise<{ rig: TunnelRig; proxy: TcpCutProxy; upstream: FakeOllama; connector: TokiosProcess }> {
  const rig = await new TunnelRig(['--heartbeat', '500']).start();
  const upstream = await startFakeOllama({ models: ['gemma3:4b'], tokenIntervalMs: 20 });
  const proxy = await new TcpCutProxy(Number(new URL(rig.url).port)).listen();
  const token = await rig.newToken();
  await rig.register('sick', token);
  const file = writeConfig(rig.dir.path, 'tokios-sick.json', { tunnel_token: token, upstream: upstream.url });
  const connector = tokios(['connect', '--config', file, '--gateway', `http://127.0.0.1:${proxy.port}`]);
  await connector.waitFor(/state: online/);
  return { rig, proxy, upstream, connector };
}

/**
 * A connector resets its reconnect backoff once a tunnel has stayed up this long; faults
 * are spaced past it so each meets a settled tunnel, as a real network drop would (faults
 * in quicker succession are the backoff's job to slow down, and would be measured as such).
 */
const SETTLED_MS = 5500;

/** The tunnel's link reset, stalled, slowed, or sliced into tiny pieces. */
export async function degradedTunnel(report: FaultReport, scale: Scale): Promise<void> {
  const rounds = scale === 'full' ? 3 : 1;
  const { rig, proxy, upstream, connector } = await degradedRig();
  const gatewayPid = rig.gateway.pid;
  const reconnected = (): Promise<boolean> => eventually(async () => (await chat(rig.url, rig.apiKey, 'sick', { limitMs: 3000 })).status === 200, 15_000, 100);
  try {
    // Warm: the connector's pool holds keep-alive connections to the upstream from here on.
    await Promise.all(Array.from({ length: 5 }, () => chat(rig.url, rig.apiKey, 'sick', { stream: true, tokens: 5 })));
    await sleep(300);
    const baseline = { gateway: fdCount(gatewayPid), connector: fdCount(connector.pid) };
    const fdLeak = (): number => Number(fdCount(gatewayPid) > baseline.gateway + 2 || fdCount(connector.pid) > baseline.connector + 2);

    // Reset: in-flight streams fail fast with a clear error, and the tunnel comes back.
    for (const [what, breakLink, heal, limitMs] of [
      ['reset', () => proxy.cut(), () => undefined, 3000],
      // A silent link is only noticed by the heartbeat: 2 x 500 ms, plus scheduling.
      ['stall', () => proxy.stall(true), () => {
        proxy.stall(false);
        proxy.cut();
      }, 4000],
    ] as const) {
      let survived = 0;
      let lost = 0;
      for (let i = 0; i < rounds; i++) {
        await sleep(SETTLED_MS);
        const inFlight = Array.from({ length: 5 }, () => chat(rig.url, rig.apiKey, 'sick', { stream: true, tokens: 200, limitMs: 10_000 }));
        await sleep(300);
        breakLink();
        const outcomes = await Promise.all(inFlight);
        const hung = outcomes.filter((o) => o.error === 'hung').length;
        const slow = outcomes.filter((o) => o.error !== null || o.status !== 200).filter((o) => o.ms > limitMs + 1000).length;
        heal();
        const back = await reconnected();
        await sleep(300);
        const leak = fdLeak();
        lost += hung + leak + (back ? 0 : 1);
        if (hung === 0 && slow === 0 && back && !leak) survived++;
      }
      report.add({
        area: 'faults',
        scenario: `tunnel link ${what} with 5 streams in flight`,
        tried: rounds,
        survived,
        lost,
        figures: what === 'stall' ? 'dead link noticed by the 500 ms heartbeat; streams fail with the tunnel, none hang; fds back to baseline' : 'streams fail at once with the tunnel; connector back by itself; fds back to baseline',
      });
    }

    // Slow and sliced links: everything still arrives intact.
    for (const [what, set, unset] of [
      ['50 ms added latency', () => (proxy.delayMs = 50), () => (proxy.delayMs = 0)],
      ['7-byte TCP slices', () => (proxy.sliceBytes = 7), () => (proxy.sliceBytes = 0)],
    ] as const) {
      await sleep(SETTLED_MS);
      proxy.cut();
      set();
      await reconnected();
      const outcomes = await Promise.all(Array.from({ length: scale === 'full' ? 20 : 6 }, () => chat(rig.url, rig.apiKey, 'sick', { stream: true, tokens: 30, limitMs: 15_000 })));
      unset();
      const intact = outcomes.filter((o) => complete(o, true) && (o.text.match(/ word\d+/g) ?? []).length === 29).length;
      report.add({ area: 'faults', scenario: `tunnel link with ${what}`, tried: outcomes.length, survived: intact, lost: outcomes.length - intact, figures: 'every streamed event arrived, in order' });
    }
  } finally {
    await rig.close();
    await proxy.close();
    await upstream.close();
  }
}

/** The model server dies mid-stream, then comes back. */
export async function upstreamKilled(report: FaultReport, scale: Scale): Promise<void> {
  const rounds = scale === 'full' ? 3 : 1;
  const rig = await new TunnelRig().start();
  let upstream = await startFakeOllama({ models: ['gemma3:4b'], tokenIntervalMs: 50 });
  const port = upstream.port;
  const { connector } = await rig.deploy('fragile', upstream, { model: 'gemma3:4b' });
  let survived = 0;
  let lost = 0;
  const errorMs: number[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      const stream = chat(rig.url, rig.apiKey, 'fragile', { stream: true, tokens: 200, limitMs: 10_000 });
      await sleep(400);
      const killedAt = performance.now();
      await upstream.close();
      const outcome = await stream;
      const sawError = outcome.error !== null || !outcome.text.includes('[DONE]');
      errorMs.push(performance.now() - killedAt);
      const refused = await chat(rig.url, rig.apiKey, 'fragile', { limitMs: 5000 });
      const down = await connector.waitFor(/state: upstream-down/, 5000).then(() => true, () => false);
      upstream = await startFakeOllama({ models: ['gemma3:4b'], tokenIntervalMs: 50, port });
      const recovered = await eventually(async () => (await chat(rig.url, rig.apiKey, 'fragile', { limitMs: 3000 })).status === 200, 10_000, 100);
      const ok = sawError && refused.status === 502 && down && recovered;
      if (ok) survived++;
      else lost++;
    }
    report.add({
      area: 'faults', scenario: 'upstream killed mid-stream, then restarted', tried: rounds, survived, lost,
      figures: `client saw the failure ${Math.round(percentile(errorMs, 50))} ms after the kill (p50); new requests got 502; state upstream-down; back once it answered`,
    });
  } finally {
    await rig.close();
    await upstream.close();
  }
}

/** SIGTERM to a connector, then to the gateway, each with 10 streams in flight. */
export async function drains(report: FaultReport): Promise<void> {
  const rig = await new TunnelRig().start();
  const upstream = await startFakeOllama({ models: ['gemma3:4b'], tokenIntervalMs: 50 });
  try {
    for (const who of ['connector', 'gateway'] as const) {
      const { connector } = await rig.deploy(`drain-${who}`, upstream, { model: 'gemma3:4b' });
      const before = upstream.requests.length;
      const streams = Array.from({ length: 10 }, () => chat(rig.url, rig.apiKey, `drain-${who}`, { stream: true, tokens: 30, limitMs: 15_000 }));
      // All ten are streaming (the upstream has them) before the signal, and the drain has
      // begun (the gateway says so) before the extra request: conditions, not sleeps.
      await eventually(async () => upstream.requests.length - before >= 10, 10_000, 20);
      const target = who === 'connector' ? connector : rig.gateway;
      target.signal('SIGTERM');
      await rig.gateway.waitFor(who === 'connector' ? /draining at the connector's request/ : /draining: \d+ request/, 10_000);
      const during = await chat(rig.url, rig.apiKey, `drain-${who}`, { limitMs: 5000 });
      const outcomes = await Promise.all(streams);
      const { code } = await target.exited;
      const completed = outcomes.filter((o) => complete(o, true)).length;
      report.add({
        area: 'faults', scenario: `SIGTERM to the ${who} with 10 streams in flight`, tried: 10, survived: completed, lost: 10 - completed + (during.status === 503 ? 0 : 1) + (code === 0 ? 0 : 1),
        figures: `all streams finished; a new request during the drain got ${during.status}; exit code ${code}`,
      });
      if (who === 'gateway') break;
    }
  } finally {
    await rig.close();
    await upstream.close();
  }
}

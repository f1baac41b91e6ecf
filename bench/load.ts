import http from 'node:http';
import autocannon from 'autocannon';

/**
 * The client side of every figure: plain node:http with keep-alive, the way an SDK talks to
 * a gateway. One target is a base URL plus the headers it needs.
 */

export interface Target {
  name: string;
  base: string;
  headers: Record<string, string>;
  /** Processes whose CPU and memory count for this path (gateway + connector, or the proxy). */
  pids: number[];
}

const REQUEST_1KB = JSON.stringify({
  model: 'bench',
  messages: [
    { role: 'system', content: 'You are a benchmark. '.repeat(20) },
    { role: 'user', content: 'x'.repeat(520) },
  ],
});

/** The API a client speaks: Chat Completions, or a dialect the gateway may translate. */
export type Dialect = 'chat' | 'messages' | 'responses';
const PATHS: Record<Dialect, string> = { chat: '/v1/chat/completions', messages: '/v1/messages', responses: '/v1/responses' };

function body(stream: boolean, events: number, dialect: Dialect): string {
  if (!stream) return REQUEST_1KB;
  if (dialect === 'responses') return JSON.stringify({ model: 'bench', stream: true, max_output_tokens: events, input: 'Hi' });
  // The same body is a valid Chat Completions and Messages request.
  return JSON.stringify({ model: 'bench', stream: true, max_tokens: events, messages: [{ role: 'user', content: 'Hi' }] });
}

export interface Exchange {
  status: number;
  firstByteMs: number;
  totalMs: number;
  bytes: number;
  gaps: number[];
  error: string | null;
}

/** One request; records time to first body byte and the gaps between body chunks. */
export function exchange(agent: http.Agent, target: Target, stream: boolean, events: number, options: { keepGaps?: boolean; pause?: boolean; dialect?: Dialect } = {}): Promise<Exchange> {
  return new Promise((resolve) => {
    const dialect = options.dialect ?? 'chat';
    const payload = body(stream, events, dialect);
    const started = performance.now();
    const req = http.request(`${target.base}${PATHS[dialect]}`, {
      method: 'POST',
      agent,
      headers: { ...target.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
    });
    req.on('response', (res) => {
      let first = 0;
      let last = 0;
      let bytes = 0;
      const gaps: number[] = [];
      if (options.pause) res.pause();
      res.on('data', (chunk: Buffer) => {
        const now = performance.now();
        if (!first) first = now;
        else if (options.keepGaps) gaps.push(now - last);
        last = now;
        bytes += chunk.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, firstByteMs: first - started, totalMs: performance.now() - started, bytes, gaps, error: null }));
      res.on('error', (error) => resolve({ status: res.statusCode ?? 0, firstByteMs: first - started, totalMs: performance.now() - started, bytes, gaps, error: error.message }));
    });
    req.on('error', (error) => resolve({ status: 0, firstByteMs: 0, totalMs: performance.now() - started, bytes: 0, gaps: [], error: error.message }));
    req.end(payload);
  });
}

export function agentFor(connections: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
}

/** `count` requests one after another: per-request latency (ms). */
export async function sequential(target: Target, count: number, stream: boolean, events = 1): Promise<{ latencies: number[]; firstBytes: number[]; errors: number }> {
  const agent = agentFor(1);
  const latencies: number[] = [];
  const firstBytes: number[] = [];
  let errors = 0;
  for (let i = 0; i < count; i++) {
    const result = await exchange(agent, target, stream, events);
    if (result.error || result.status !== 200) errors++;
    latencies.push(result.totalMs);
    firstBytes.push(result.firstByteMs);
  }
  agent.destroy();
  return { latencies, firstBytes, errors };
}

/** `streams` concurrent streaming requests of `events` events each. */
export async function concurrentStreams(target: Target, streams: number, events: number, keepGaps: boolean, dialect: Dialect = 'chat'): Promise<{ results: Exchange[]; wallMs: number }> {
  const agent = agentFor(streams);
  const started = performance.now();
  const results = await Promise.all(Array.from({ length: streams }, () => exchange(agent, target, true, events, { keepGaps, dialect })));
  const wallMs = performance.now() - started;
  agent.destroy();
  return { results, wallMs };
}

/**
 * `streams` streaming requests of `events` events each, paced by the upstream, started at
 * random moments within `spreadMs` (one token interval): streams of a real model are not in
 * step with each other, and starting them together would hand every hop a batch for free.
 */
export async function pacedStreams(target: Target, streams: number, events: number, spreadMs: number): Promise<{ results: Exchange[]; wallMs: number }> {
  const agent = agentFor(streams);
  const started = performance.now();
  const results = await Promise.all(Array.from({ length: streams }, async () => {
    await new Promise((resolve) => setTimeout(resolve, Math.random() * spreadMs));
    return exchange(agent, target, true, events, { keepGaps: true });
  }));
  const wallMs = performance.now() - started;
  agent.destroy();
  return { results, wallMs };
}

/** Sustained non-streaming load: `connections` keep-alive connections, no pipelining. */
export async function requestsPerSecond(target: Target, connections: number, seconds: number): Promise<{ rps: number; errors: number; total: number }> {
  const result = await autocannon({
    url: `${target.base}/v1/chat/completions`,
    method: 'POST',
    headers: { ...target.headers, 'content-type': 'application/json' },
    body: REQUEST_1KB,
    connections,
    pipelining: 1,
    duration: seconds,
  });
  return { rps: result.requests.average, errors: result.errors + result.non2xx + result.timeouts, total: result.requests.total };
}

export function percentile(values: number[], p: number): number {
  if (!values.length) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function median(values: number[]): number {
  return percentile(values, 50);
}

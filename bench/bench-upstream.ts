import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * The benchmark's upstream, run as its own process: OpenAI-style SSE chunks of about 230
 * bytes (like real ones), each token one write of its own, and 1 KB non-streaming answers.
 * How it behaves is set out of band (`POST /__bench/config`), so every path under test
 * carries identical requests; `max_tokens` sets the number of events of each response.
 *
 * Three ways to produce tokens, as real model servers do:
 * - as fast as the socket takes them (`intervalMs: 0`): a saturated stream;
 * - paced (`intervalMs > 0`): each stream on its own schedule, token i due at
 *   start + i × interval (no drift), as a model on a GPU streams;
 * - CPU-bound (`stepMs > 0`): a CPU-only model. Tokens come from decode steps that each do
 *   a fixed amount of arithmetic on every model thread (one per core, like llama.cpp's
 *   default), one token for every active stream per step, so whatever else runs on the
 *   machine slows the model down.
 *
 * `nagle` leaves Nagle's algorithm on (no TCP_NODELAY) and writes the response head apart
 * from the body, as llama.cpp's server (cpp-httplib's defaults) does.
 */

interface Config {
  /** Pause between events; 0 writes them as fast as the socket takes them. */
  intervalMs: number;
  /** Responses with at least this many events are sent at full speed (the "10 MB" stream). */
  fastAbove: number;
  /** No TCP_NODELAY, and the head written on its own before the body. */
  nagle: boolean;
  /** Above 0: a CPU-bound model whose decode step costs this much CPU on each model thread (calibrated on an idle core). */
  stepMs: number;
}

let config: Config = { intervalMs: 0, fastAbove: Number.POSITIVE_INFINITY, nagle: false, stepMs: 0 };
const created = Math.floor(Date.now() / 1000);
const head = `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":${created},"model":"bench","system_fingerprint":"fp_bench","choices":[{"index":0,"delta":{"content":"`;
const tail = '"},"finish_reason":null}]}\n\n';
/** One event, 230 bytes, its number in the content. */
function event(i: number): string {
  const word = ` tok${String(i).padStart(8, '0')}`;
  return head + word.padEnd(230 - head.length - tail.length, '.') + tail;
}
const EVENT_BYTES = Buffer.byteLength(event(0));
const DONE = 'data: [DONE]\n\n';
const ANSWER = JSON.stringify({
  id: 'chatcmpl-bench', object: 'chat.completion', created, model: 'bench',
  choices: [{ index: 0, message: { role: 'assistant', content: 'x'.repeat(760) }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 200, completion_tokens: 190, total_tokens: 390 },
});

function stream(res: ServerResponse, count: number): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  if (config.nagle) res.flushHeaders();
  if (config.stepMs > 0) return void model.add(res, count);
  const interval = config.intervalMs;
  const paced = interval > 0 && count < config.fastAbove;
  let i = 0;
  let timer: NodeJS.Timeout | null = null;
  const start = performance.now();
  res.on('close', () => timer && clearTimeout(timer));
  const next = (): void => {
    if (res.destroyed) return;
    if (paced) {
      if (i >= count) return void res.end(DONE);
      res.write(event(i++));
      timer = setTimeout(next, Math.max(0, start + i * interval - performance.now()));
      return;
    }
    while (i < count) {
      if (!res.write(event(i++))) return void res.once('drain', next);
    }
    res.end(DONE);
  };
  next();
}

/**
 * The CPU-bound model: model threads that each burn one step's arithmetic when told to;
 * after every step, one token for each active stream.
 */
class CpuModel {
  private readonly threads: Worker[] = [];
  private readonly active = new Map<ServerResponse, { sent: number; count: number }>();
  private running = false;
  /** Loop iterations worth one ms on an idle core (measured once, at the first use). */
  private perMs = 0;

  add(res: ServerResponse, count: number): void {
    this.active.set(res, { sent: 0, count });
    res.on('close', () => this.active.delete(res));
    if (!this.running) void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    if (this.threads.length === 0) await this.start();
    while (this.active.size > 0) {
      const work = Math.round(config.stepMs * this.perMs);
      await Promise.all(this.threads.map((thread) => this.ask(thread, work)));
      for (const [res, s] of this.active) {
        if (res.destroyed) continue;
        if (s.sent >= s.count) {
          this.active.delete(res);
          res.end(DONE);
        } else {
          res.write(event(s.sent++));
        }
      }
      // Let the writes and new requests through before the next step.
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.running = false;
  }

  private async start(): Promise<void> {
    for (let i = 0; i < os.cpus().length; i++) this.threads.push(new Worker(MODEL_THREAD, { eval: true }));
    // Best of several tries: the fastest is the closest to an idle core.
    let best = 0;
    for (let i = 0; i < 5; i++) {
      const iterations = 200_000;
      const ms = await this.ask(this.threads[0]!, iterations);
      best = Math.max(best, iterations / ms);
    }
    this.perMs = best;
  }

  /** Runs `iterations` on `thread`; resolves with the ms it took. */
  private ask(thread: Worker, iterations: number): Promise<number> {
    return new Promise((resolve) => {
      thread.once('message', resolve);
      thread.postMessage(iterations);
    });
  }
}

/** A model thread: a small matrix-vector product, repeated, stands in for a decode step. */
const MODEL_THREAD = `
const { parentPort } = require('node:worker_threads');
const n = 64;
const m = new Float64Array(n * n).map((_, i) => (i % 7) / 7);
let v = new Float64Array(n).fill(1);
parentPort.on('message', (iterations) => {
  const start = performance.now();
  let k = 0;
  while (k < iterations) {
    const out = new Float64Array(n);
    for (let r = 0; r < n && k < iterations; r++, k++) {
      let sum = 0;
      for (let c = 0; c < n; c++) sum += m[r * n + c] * v[c];
      out[r] = sum / n;
    }
    v = out;
  }
  parentPort.postMessage(performance.now() - start);
});
`;

const model = new CpuModel();

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const url = req.url ?? '/';
    if (req.method === 'GET' && url === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end('{"object":"list","data":[{"id":"bench","object":"model","owned_by":"bench"}]}');
    }
    if (req.method === 'POST' && url === '/__bench/config') {
      config = { ...config, ...(JSON.parse(Buffer.concat(chunks).toString()) as Partial<Config>) };
      res.writeHead(204);
      return void res.end();
    }
    if (req.method === 'POST' && url.startsWith('/v1/chat/completions')) {
      req.socket.setNoDelay(!config.nagle);
      let body: { stream?: boolean; max_tokens?: number } = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString()) as typeof body;
      } catch {
        // answered below as a normal request
      }
      if (body.stream) return stream(res, body.max_tokens ?? 100);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(ANSWER) });
      if (config.nagle) res.flushHeaders();
      return void res.end(ANSWER);
    }
    res.writeHead(404);
    res.end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port} ${EVENT_BYTES}\n`);
});

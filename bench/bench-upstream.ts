import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The benchmark's upstream, run as its own process: OpenAI-style SSE chunks of about 230
 * bytes (like real ones) at a controlled pace, and 1 KB non-streaming answers. The pace is
 * set out of band (`POST /__bench/config`), so every path under test carries identical
 * requests; `max_tokens` sets the number of events of each response.
 */

interface Config {
  /** Pause between events; 0 writes them as fast as the socket takes them. */
  intervalMs: number;
  /** Responses with at least this many events are sent at full speed (the "10 MB" stream). */
  fastAbove: number;
}

let config: Config = { intervalMs: 0, fastAbove: Number.POSITIVE_INFINITY };
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
  const paced = config.intervalMs > 0 && count < config.fastAbove;
  let i = 0;
  let timer: NodeJS.Timeout | null = null;
  res.on('close', () => timer && clearTimeout(timer));
  const next = (): void => {
    if (res.destroyed) return;
    if (paced) {
      if (i >= count) return void res.end(DONE);
      res.write(event(i++));
      timer = setTimeout(next, config.intervalMs);
      return;
    }
    while (i < count) {
      if (!res.write(event(i++))) return void res.once('drain', next);
    }
    res.end(DONE);
  };
  next();
}

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
      let body: { stream?: boolean; max_tokens?: number } = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString()) as typeof body;
      } catch {
        // answered below as a normal request
      }
      if (body.stream) return stream(res, body.max_tokens ?? 100);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(ANSWER) });
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

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * What Ollama-like and llama.cpp-like test upstreams share: a real HTTP server on
 * loopback that records every request that reached it (and whether the caller went away
 * before the answer finished), and generates tokens at a controlled pace.
 */

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The parsed body, when it was JSON. */
  json: unknown;
  receivedAt: number;
  /** The caller closed the connection before the response was complete. */
  aborted: boolean;
  abortedAt: number | null;
  finishedAt: number | null;
  /** Tokens generated before the end (or the abort). */
  tokensSent: number;
  /** The token usage the answer reported (null: it reported none), as a gateway would count it. */
  reported: { input: number; output: number } | null;
  /** The caller's port: requests with the same one came over the same connection. */
  clientPort: number;
}

export interface FakeUpstreamOptions {
  host?: string;
  port?: number;
  /** Model names the server reports. */
  models?: string[];
  /** Words the reply starts with, so a test can tell upstreams apart. */
  label?: string;
  /** Pause between generated tokens (ms). */
  tokenIntervalMs?: number;
  /** Tokens generated when the request sets no limit. */
  defaultTokens?: number;
}

export interface Generation {
  /** The i-th token's text. */
  token: (index: number) => string;
  count: number;
  /** Why it ends: "length" when the request's token limit cut it, else "stop" (the model was done). */
  finish: 'stop' | 'length';
}

export abstract class FakeUpstream {
  readonly requests: RecordedRequest[] = [];
  models: string[];
  label: string;
  tokenIntervalMs: number;
  defaultTokens: number;
  url = '';
  port = 0;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly options: FakeUpstreamOptions;

  constructor(options: FakeUpstreamOptions, defaults: { models: string[]; label: string }) {
    this.options = options;
    this.models = options.models ?? defaults.models;
    this.label = options.label ?? defaults.label;
    this.tokenIntervalMs = options.tokenIntervalMs ?? 0;
    this.defaultTokens = options.defaultTokens ?? 8;
    this.server = createServer((req, res) => this.onRequest(req, res));
    this.server.keepAliveTimeout = 5000;
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${this.port}`;
    return this;
  }

  async close(): Promise<void> {
    this.destroySockets();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Cuts every open connection, as a crashing server would. */
  destroySockets(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  /** Requests whose path (without query) is `path`. */
  requestsTo(path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path.split('?')[0] === path);
  }

  /** The reply a generation produces: the label first, then numbered words. */
  generation(limit: unknown): Generation {
    // A given limit is always reached (the fake never stops early); without one the reply ends by itself.
    const limited = typeof limit === 'number' && limit > 0;
    const count = limited ? Math.min(limit, 100_000) : this.defaultTokens;
    const label = this.label;
    return { count, token: (i) => (i === 0 ? `Hello from ${label}.` : ` word${i}`), finish: limited ? 'length' : 'stop' };
  }

  /** A reply of fixed text, one word per token. */
  say(text: string): Generation {
    const words = text.match(/\s*\S+/g) ?? [''];
    return { count: words.length, token: (i) => words[i] ?? '', finish: 'stop' };
  }

  /**
   * Emits `count` tokens through `write`, `tokenIntervalMs` apart, then calls `finish`.
   * Stops at once if the caller goes away, and records how far it got.
   */
  protected generate(req: RecordedRequest, res: ServerResponse, count: number, write: (index: number) => void, finish: () => void): void {
    let index = 0;
    let timer: NodeJS.Timeout | null = null;
    const step = (): void => {
      if (res.destroyed || req.aborted) return;
      if (index >= count) {
        finish();
        return;
      }
      write(index);
      index++;
      req.tokensSent = index;
      if (this.tokenIntervalMs > 0) timer = setTimeout(step, this.tokenIntervalMs);
      else setImmediate(step);
    };
    res.on('close', () => {
      if (timer) clearTimeout(timer);
    });
    step();
  }

  protected abstract route(req: IncomingMessage, res: ServerResponse, record: RecordedRequest): void;

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = body ? JSON.parse(body) : undefined;
      } catch {
        // not JSON: recorded as text only
      }
      const record: RecordedRequest = {
        method: req.method ?? 'GET', path: req.url ?? '/', headers: { ...req.headers }, body, json,
        receivedAt: Date.now(), aborted: false, abortedAt: null, finishedAt: null, tokensSent: 0, reported: null, clientPort: req.socket.remotePort ?? 0,
      };
      this.requests.push(record);
      res.on('close', () => {
        if (res.writableFinished) record.finishedAt = Date.now();
        else {
          record.aborted = true;
          record.abortedAt = Date.now();
        }
      });
      this.route(req, res, record);
    });
  }
}

/** What a tool-using request makes the model do next. */
export type ToolTurn = { call: { name: string; arguments: Record<string, unknown> } } | { answer: string } | null;

/**
 * How the test models use tools, the same for every dialect: given tools and no tool result
 * yet, they call the first tool (or the one `tool_choice` names) with "Paris" for its first
 * parameter; once the last message is a tool result, they answer with that result quoted,
 * so a test can see the round trip reached the model.
 */
export function toolTurn(body: Record<string, unknown>): ToolTurn {
  const messages = Array.isArray(body.messages) ? (body.messages as Array<Record<string, unknown>>) : [];
  const last = messages.at(-1);
  if (last?.role === 'tool') {
    const content = typeof last.content === 'string' ? last.content : JSON.stringify(last.content);
    return { answer: `The tool said: ${content}` };
  }
  const tools = Array.isArray(body.tools) ? (body.tools as Array<Record<string, unknown>>) : [];
  if (tools.length === 0 || body.tool_choice === 'none') return null;
  const forced = (body.tool_choice as { function?: { name?: string } } | undefined)?.function?.name;
  const fn = ((forced ? tools.find((t) => (t.function as { name?: string } | undefined)?.name === forced) : undefined) ?? tools[0]!).function as { name: string; parameters?: { properties?: Record<string, unknown> } };
  const first = Object.keys(fn.parameters?.properties ?? {})[0] ?? 'input';
  return { call: { name: fn.name, arguments: { [first]: 'Paris' } } };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * An embedding as the OpenAI embeddings API returns it: numbers, or with
 * `encoding_format: "base64"` (what the openai SDK asks for by default) the float32 values,
 * little-endian, in base64 — as Ollama and llama-server both do.
 */
export function encodeEmbedding(values: number[], format: unknown): number[] | string {
  if (format !== 'base64') return values;
  const bytes = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => bytes.writeFloatLE(v, i * 4));
  return bytes.toString('base64');
}

/** A deterministic embedding of `dims` numbers for `text`. */
export function embed(text: string, dims = 8): number[] {
  const out: number[] = [];
  for (let i = 0; i < dims; i++) out.push(Number((Math.sin(text.length * (i + 1)) * 0.5).toFixed(6)));
  return out;
}

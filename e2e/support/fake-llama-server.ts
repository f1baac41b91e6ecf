import type { IncomingMessage, ServerResponse } from 'node:http';
import { embed, encodeEmbedding, FakeUpstream, sendJson, toolTurn, type FakeUpstreamOptions, type RecordedRequest } from './fake-upstream-base.js';

/**
 * An upstream that answers like llama.cpp's `llama-server`, matched to the responses
 * captured from a real one in e2e/fixtures/llama-server-b4750: the same headers
 * (`Server: llama.cpp`, keep-alive), streaming that starts straight with content, a last
 * chunk with `finish_reason` plus `usage` and `timings`, `data: [DONE]`, the request's
 * `model` echoed back, HTTP 500 for malformed JSON, the 404 error object for unknown
 * paths, and 503 "Loading model" on every endpoint while the model loads. Tool calls
 * stream as newer llama-server builds send them (tools/server/README.md, "--jinja"): a
 * role-only chunk, the call's id and name, its arguments in fragments across several
 * chunks, `finish_reason` "tool_calls". Embeddings honour `encoding_format: "base64"`.
 */

const BUILD = 'b4750';
const HEADERS = { Server: 'llama.cpp', 'Keep-Alive': 'timeout=5, max=100', 'Access-Control-Allow-Origin': '' };

export interface FakeLlamaOptions extends FakeUpstreamOptions {
  /** Path of the loaded model file (llama-server reports it as the model id). */
  modelPath?: string;
  /** Answer 503 "Loading model" for this long after start. */
  loadingMs?: number;
}

export class FakeLlamaServer extends FakeUpstream {
  /** While true every endpoint answers 503 "Loading model", as llama-server does. */
  loading = false;
  private readonly modelPath: string;

  constructor(options: FakeLlamaOptions = {}) {
    const modelPath = options.modelPath ?? '/models/llama-3.2-1b-instruct-q4_k_m.gguf';
    super(options, { models: [modelPath], label: 'llama.cpp' });
    this.modelPath = modelPath;
    if (options.loadingMs) {
      this.loading = true;
      setTimeout(() => (this.loading = false), options.loadingMs).unref();
    }
  }

  protected route(req: IncomingMessage, res: ServerResponse, record: RecordedRequest): void {
    if (this.loading) return json(res, 503, { error: { code: 503, message: 'Loading model', type: 'unavailable_error' } });
    const path = record.path.split('?')[0];
    const body = (record.json ?? {}) as Record<string, unknown>;
    if (req.method === 'POST' && record.json === undefined) {
      return json(res, 500, {
        error: { code: 500, message: "[json.exception.parse_error.101] parse error at line 1, column 10: syntax error while parsing value - unexpected end of input; expected '[', '{', or a literal", type: 'server_error' },
      });
    }
    switch (`${req.method} ${path}`) {
      case 'GET /health':
        return json(res, 200, { status: 'ok' });
      case 'GET /v1/models':
      case 'GET /models':
        return json(res, 200, {
          object: 'list',
          data: [{ id: this.modelPath, object: 'model', created: Math.floor(Date.now() / 1000), owned_by: 'llamacpp', meta: { vocab_type: 1, n_vocab: 32000, n_ctx_train: 512, n_embd: 64, n_params: 4178240, size: 16712960 } }],
        });
      case 'GET /props':
        return json(res, 200, {
          default_generation_settings: { id: 0, id_task: -1, n_ctx: 4096, speculative: false, is_processing: false, params: { n_predict: -1, temperature: 0.8, top_k: 40, top_p: 0.95 } },
          total_slots: 4, model_path: this.modelPath, chat_template: '', bos_token: '<s>', eos_token: '</s>', build_info: BUILD,
        });
      case 'POST /v1/chat/completions':
      case 'POST /chat/completions':
        return this.chat(res, record, body);
      case 'POST /completion':
      case 'POST /completions':
        return this.completion(res, record, body);
      case 'POST /v1/completions':
        return this.openaiCompletion(res, record, body);
      case 'POST /v1/embeddings': {
        const inputs = Array.isArray(body.input) ? body.input.map(String) : [String(body.input ?? '')];
        return json(res, 200, {
          model: body.model ?? this.modelPath, object: 'list', usage: { prompt_tokens: 4 * inputs.length, total_tokens: 4 * inputs.length },
          data: inputs.map((input, index) => ({ embedding: encodeEmbedding(embed(input), body.encoding_format), index, object: 'embedding' })),
        });
      }
      default:
        return json(res, 404, { error: { code: 404, message: 'File Not Found', type: 'not_found_error' } });
    }
  }

  private chat(res: ServerResponse, record: RecordedRequest, body: Record<string, unknown>): void {
    const model = typeof body.model === 'string' ? body.model : 'gpt-3.5-turbo';
    const turn = toolTurn(body);
    if (turn && 'call' in turn) return this.toolCall(res, body, model, turn.call);
    const { count, token, finish } = turn ? this.say(turn.answer) : this.generation(body.max_tokens ?? body.n_predict);
    const created = Math.floor(Date.now() / 1000);
    const id = `chatcmpl-${Math.random().toString(36).slice(2, 12)}`;
    const usage = { completion_tokens: count, prompt_tokens: 29, total_tokens: 29 + count };
    const timings = { prompt_n: 29, prompt_ms: 1.008, prompt_per_token_ms: 0.0347, prompt_per_second: 28769.8, predicted_n: count, predicted_ms: count * 0.25, predicted_per_token_ms: 0.25, predicted_per_second: 4000 };
    if (body.stream !== true) {
      let text = '';
      this.generate(record, res, count, (i) => (text += token(i)), () =>
        json(res, 200, {
          choices: [{ finish_reason: finish, index: 0, message: { role: 'assistant', content: text } }],
          created, model, system_fingerprint: BUILD, object: 'chat.completion', usage, id, timings,
        }),
      );
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream', ...HEADERS });
    const chunk = (delta: Record<string, unknown>, finish: string | null, extra: Record<string, unknown> = {}): string =>
      `data: ${JSON.stringify({ choices: [{ finish_reason: finish, index: 0, delta }], created, id, model, system_fingerprint: BUILD, object: 'chat.completion.chunk', ...extra })}\n\n`;
    this.generate(record, res, count, (i) => res.write(chunk({ content: token(i) }, null)), () => {
      res.write(chunk({}, finish, { usage, timings }));
      res.end('data: [DONE]\n\n');
    });
  }

  private toolCall(res: ServerResponse, body: Record<string, unknown>, model: string, call: { name: string; arguments: Record<string, unknown> }): void {
    const created = Math.floor(Date.now() / 1000);
    const id = `chatcmpl-${Math.random().toString(36).slice(2, 12)}`;
    const callId = Math.random().toString(36).slice(2, 12);
    const args = JSON.stringify(call.arguments);
    const usage = { completion_tokens: 12, prompt_tokens: 40, total_tokens: 52 };
    if (body.stream !== true) {
      return json(res, 200, {
        choices: [{ finish_reason: 'tool_calls', index: 0, message: { role: 'assistant', content: null, tool_calls: [{ type: 'function', function: { name: call.name, arguments: args }, id: callId }] } }],
        created, model, system_fingerprint: BUILD, object: 'chat.completion', usage, id,
      });
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream', ...HEADERS });
    const chunk = (delta: Record<string, unknown>, finish: string | null, extra: Record<string, unknown> = {}): string =>
      `data: ${JSON.stringify({ choices: [{ finish_reason: finish, index: 0, delta }], created, id, model, system_fingerprint: BUILD, object: 'chat.completion.chunk', ...extra })}\n\n`;
    res.write(chunk({ role: 'assistant', content: null }, null));
    res.write(chunk({ tool_calls: [{ index: 0, id: callId, type: 'function', function: { name: call.name, arguments: '' } }] }, null));
    const third = Math.ceil(args.length / 3);
    for (let at = 0; at < args.length; at += third) res.write(chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(at, at + third) } }] }, null));
    res.write(chunk({}, 'tool_calls', { usage }));
    res.end('data: [DONE]\n\n');
  }

  /** The OpenAI-compatible text completion (`/v1/completions`): `prompt` in, `choices[].text` out. */
  private openaiCompletion(res: ServerResponse, record: RecordedRequest, body: Record<string, unknown>): void {
    const model = typeof body.model === 'string' ? body.model : 'gpt-3.5-turbo';
    const { count, token, finish } = this.generation(body.max_tokens ?? body.n_predict);
    const created = Math.floor(Date.now() / 1000);
    const id = `chatcmpl-${Math.random().toString(36).slice(2, 12)}`;
    const usage = { completion_tokens: count, prompt_tokens: 4, total_tokens: 4 + count };
    const timings = { prompt_n: 4, prompt_ms: 0.4, predicted_n: count, predicted_ms: count * 0.25, predicted_per_second: 4000 };
    const choice = (text: string, reason: string | null): Record<string, unknown> => ({ text, index: 0, logprobs: null, finish_reason: reason });
    if (body.stream !== true) {
      let text = '';
      this.generate(record, res, count, (i) => (text += token(i)), () =>
        json(res, 200, { choices: [choice(text, finish)], created, model, system_fingerprint: BUILD, object: 'text_completion', usage, id, timings }),
      );
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream', ...HEADERS });
    const chunk = (text: string, reason: string | null, extra: Record<string, unknown> = {}): string =>
      `data: ${JSON.stringify({ choices: [choice(text, reason)], created, id, model, system_fingerprint: BUILD, object: 'text_completion', ...extra })}\n\n`;
    this.generate(record, res, count, (i) => res.write(chunk(token(i), null)), () => {
      res.write(chunk('', finish, { usage, timings }));
      res.end('data: [DONE]\n\n');
    });
  }

  private completion(res: ServerResponse, record: RecordedRequest, body: Record<string, unknown>): void {
    const { count, token } = this.generation(body.n_predict ?? body.max_tokens);
    const timings = { prompt_n: 2, prompt_ms: 0.6, predicted_n: count, predicted_ms: count * 0.22, predicted_per_second: 4600 };
    const last = { index: 0, content: '', tokens: [], id_slot: 1, stop: true, model: 'gpt-3.5-turbo', tokens_predicted: count, tokens_evaluated: 2, stop_type: 'limit', timings };
    if (body.stream !== true) {
      let text = '';
      this.generate(record, res, count, (i) => (text += token(i)), () => json(res, 200, { ...last, content: text }));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream', ...HEADERS });
    this.generate(
      record, res, count,
      (i) => res.write(`data: ${JSON.stringify({ index: 0, content: token(i), tokens: [1000 + i], stop: false, id_slot: -1, tokens_predicted: i + 1, tokens_evaluated: 2 })}\n\n`),
      () => res.end(`data: ${JSON.stringify(last)}\n\n`),
    );
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  sendJson(res, status, body, HEADERS);
}

export async function startFakeLlamaServer(options: FakeLlamaOptions = {}): Promise<FakeLlamaServer> {
  return new FakeLlamaServer(options).listen();
}

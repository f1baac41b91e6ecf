import type { IncomingMessage, ServerResponse } from 'node:http';
import { embed, encodeEmbedding, FakeUpstream, sendJson, toolTurn, type FakeUpstreamOptions, type RecordedRequest } from './fake-upstream-base.js';

/**
 * An upstream that answers like Ollama (docs/api.md and docs/openai.md of ollama/ollama):
 * native `/api/*` endpoints streaming NDJSON by default with the timing fields of the final
 * object, and the OpenAI-compatible `/v1/*` endpoints with SSE and `data: [DONE]`.
 * Model management endpoints answer too — a test checks that nothing ever reaches them.
 * Tool calls come whole, in one chunk (Ollama parses them out of the model's output before
 * sending), with `arguments` an object on /api/chat and a JSON string on /v1.
 *
 * By default it is an Ollama from before the Responses (0.13.3) and Anthropic (0.14)
 * endpoints; `nativeDialects` makes it a newer one that serves `/v1/messages` and
 * `/v1/responses` itself (text only: enough to see requests pass through untranslated).
 */

const NS_PER_TOKEN = 20_000_000;

export interface FakeOllamaOptions extends FakeUpstreamOptions {
  /** Serve /v1/messages and /v1/responses natively, as Ollama 0.14 and later do. */
  nativeDialects?: boolean;
}

export class FakeOllama extends FakeUpstream {
  readonly nativeDialects: boolean;

  constructor(options: FakeOllamaOptions = {}) {
    super(options, { models: ['gemma3:4b'], label: 'ollama' });
    this.nativeDialects = options.nativeDialects ?? false;
  }

  protected route(req: IncomingMessage, res: ServerResponse, record: RecordedRequest): void {
    const path = record.path.split('?')[0];
    const key = `${req.method} ${path}`;
    const body = (record.json ?? {}) as Record<string, unknown>;
    if (req.method === 'POST' && record.body && record.json === undefined) {
      return sendJson(res, 400, { error: 'invalid character in request body' });
    }
    switch (key) {
      case 'GET /':
      case 'HEAD /':
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        return void res.end('Ollama is running');
      case 'GET /api/version':
        return sendJson(res, 200, { version: this.nativeDialects ? '0.14.2' : '0.6.2' });
      case 'GET /api/tags':
        return sendJson(res, 200, { models: this.models.map((name) => this.tag(name)) });
      case 'GET /v1/models':
        return sendJson(res, 200, { object: 'list', data: this.models.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'library' })) });
      case 'POST /api/chat':
      case 'POST /api/generate':
        return this.native(res, record, body, path === '/api/chat');
      case 'POST /api/embed':
        if (!this.knows(res, body.model, false)) return;
        return sendJson(res, 200, { model: body.model, embeddings: inputs(body.input).map((t) => embed(t)), total_duration: 1_000_000, load_duration: 1000, prompt_eval_count: 4 });
      case 'POST /v1/chat/completions':
        return this.openaiChat(res, record, body);
      case 'POST /v1/completions':
        return this.openaiCompletion(res, record, body);
      case 'POST /v1/embeddings':
        if (!this.knows(res, body.model, true)) return;
        return sendJson(res, 200, {
          object: 'list', model: body.model, usage: { prompt_tokens: 4, total_tokens: 4 },
          data: inputs(body.input).map((t, index) => ({ object: 'embedding', index, embedding: encodeEmbedding(embed(t), body.encoding_format) })),
        });
      case 'POST /api/show':
        if (!this.knows(res, body.model, false)) return;
        return sendJson(res, 200, {
          license: 'Gemma Terms of Use', modelfile: `FROM ${String(body.model)}`, parameters: 'temperature 1', template: '{{ .Prompt }}',
          details: this.tag(body.model as string).details, model_info: { 'general.architecture': 'gemma3', 'gemma3.context_length': 131072 },
          capabilities: ['completion', 'vision', 'tools'], modified_at: '2026-10-01T12:00:00Z',
        });
      case 'POST /v1/messages':
        if (this.nativeDialects) return this.anthropicMessages(res, record, body);
        return notFound(res);
      case 'POST /v1/responses':
        if (this.nativeDialects) return this.openaiResponses(res, record, body);
        return notFound(res);
      case 'POST /api/pull':
      case 'POST /api/push':
      case 'POST /api/create':
      case 'POST /api/copy':
      case 'DELETE /api/delete':
      case 'POST /api/delete':
        return sendJson(res, 200, { status: 'success' });
      default:
        return notFound(res);
    }
  }

  private tag(name: string): Record<string, unknown> {
    return {
      name, model: name, modified_at: '2026-10-01T12:00:00Z', size: 3_338_801_804,
      digest: 'a2af6cc3eb7fa8be8504abaf9b04e88f17a119ec3f04a3addf55f92841195f5a',
      details: { parent_model: '', format: 'gguf', family: 'gemma3', families: ['gemma3'], parameter_size: '4.3B', quantization_level: 'Q4_K_M' },
    };
  }

  /** Ollama answers an unknown model with 404; the OpenAI layer wraps it in `error.message`. */
  private knows(res: ServerResponse, model: unknown, openai: boolean): boolean {
    if (typeof model === 'string' && this.models.includes(model)) return true;
    const message = `model "${String(model)}" not found, try pulling it first`;
    sendJson(res, 404, openai ? { error: { message, type: 'api_error', param: null, code: null } } : { error: message });
    return false;
  }

  private native(res: ServerResponse, record: RecordedRequest, body: Record<string, unknown>, chat: boolean): void {
    if (!this.knows(res, body.model, false)) return;
    const model = body.model as string;
    const turn = chat ? toolTurn(body) : null;
    if (turn && 'call' in turn) {
      const message = { role: 'assistant', content: '', tool_calls: [{ function: { name: turn.call.name, arguments: turn.call.arguments } }] };
      const last = { model, created_at: new Date().toISOString(), message: { role: 'assistant', content: '' }, done: true, done_reason: 'stop', total_duration: 5_000_000, prompt_eval_count: 30, eval_count: 10, eval_duration: 2_000_000 };
      if (body.stream === false) return sendJson(res, 200, { ...last, message });
      res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
      res.write(`${JSON.stringify({ model, created_at: new Date().toISOString(), message, done: false })}\n`);
      return void res.end(`${JSON.stringify(last)}\n`);
    }
    const { count, token } = turn ? this.say(turn.answer) : this.generation((body.options as { num_predict?: unknown } | undefined)?.num_predict);
    const piece = (text: string): Record<string, unknown> => (chat ? { message: { role: 'assistant', content: text } } : { response: text });
    const stats = (): Record<string, unknown> => ({
      done_reason: 'stop', total_duration: count * NS_PER_TOKEN + 5_000_000, load_duration: 1_000_000,
      prompt_eval_count: 12, prompt_eval_duration: 2_000_000, eval_count: count, eval_duration: count * NS_PER_TOKEN,
    });
    const createdAt = (): string => new Date().toISOString();
    if (body.stream === false) {
      let text = '';
      this.generate(record, res, count, (i) => (text += token(i)), () => {
        record.reported = { input: 12, output: count };
        sendJson(res, 200, { model, created_at: createdAt(), ...piece(text), done: true, ...stats(), ...(chat ? {} : { context: [1, 2, 3] }) });
      });
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    this.generate(record, res, count, (i) => res.write(`${JSON.stringify({ model, created_at: createdAt(), ...piece(token(i)), done: false })}\n`), () => {
      record.reported = { input: 12, output: count };
      res.end(`${JSON.stringify({ model, created_at: createdAt(), ...piece(''), done: true, ...stats() })}\n`);
    });
  }

  /** Ollama 0.14's Anthropic-compatible endpoint, text only. */
  private anthropicMessages(res: ServerResponse, record: RecordedRequest, body: Record<string, unknown>): void {
    const error = (status: number, type: string, message: string): void => sendJson(res, status, { type: 'error', error: { type, message } });
    if (typeof body.model !== 'string' || !Array.isArray(body.messages)) return error(400, 'invalid_request_error', 'model is required');
    if (!this.models.includes(body.model)) return error(404, 'not_found_error', `model "${body.model}" not found, try pulling it first`);
    const model = body.model;
    const { count, token } = this.generation(body.max_tokens);
    const id = `msg_${Math.random().toString(36).slice(2, 14)}`;
    const usage = { input_tokens: 12, output_tokens: count };
    if (body.stream !== true) {
      let text = '';
      this.generate(record, res, count, (i) => (text += token(i)), () =>
        sendJson(res, 200, { id, type: 'message', role: 'assistant', model, content: [{ type: 'text', text }], stop_reason: 'end_turn', stop_sequence: null, usage }),
      );
      return;
    }
    const event = (name: string, data: unknown): string => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.write(event('message_start', { type: 'message_start', message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 12, output_tokens: 0 } } }));
    res.write(event('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }));
    this.generate(record, res, count, (i) => res.write(event('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: token(i) } })), () => {
      res.write(event('content_block_stop', { type: 'content_block_stop', index: 0 }));
      res.write(event('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: count } }));
      res.end(event('message_stop', { type: 'message_stop' }));
    });
  }

  /** Ollama 0.13.3's (stateless) Responses endpoint, text only, not streamed. */
  private openaiResponses(res: ServerResponse, record: RecordedRequest, body: Record<string, unknown>): void {
    if (typeof body.model !== 'string' || body.input === undefined) return sendJson(res, 400, { error: { message: 'model is required', type: 'invalid_request_error', param: null, code: null } });
    if (!this.knows(res, body.model, true)) return;
    const model = body.model;
    const { count, token } = this.generation(body.max_output_tokens);
    let text = '';
    this.generate(record, res, count, (i) => (text += token(i)), () =>
      sendJson(res, 200, {
        id: `resp_${Math.random().toString(36).slice(2, 14)}`, object: 'response', created_at: Math.floor(Date.now() / 1000), status: 'completed', model,
        output: [{ type: 'message', id: `msg_${Math.random().toString(36).slice(2, 10)}`, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] }],
        usage: { input_tokens: 12, output_tokens: count, total_tokens: 12 + count },
      }),
    );
  }

  /** The OpenAI-compatible text completion: `prompt` in, `choices[].text` out, usage on request when streaming. */
  private openaiCompletion(res: ServerResponse, record: RecordedRequest, body: Record<string, unknown>): void {
    if (!this.knows(res, body.model, true)) return;
    const model = body.model as string;
    const { count, token, finish } = this.generation(body.max_tokens);
    const id = `cmpl-${Math.floor(Math.random() * 1000)}`;
    const created = Math.floor(Date.now() / 1000);
    const usage = { prompt_tokens: 12, completion_tokens: count, total_tokens: 12 + count };
    const head = { id, object: 'text_completion', created, model, system_fingerprint: 'fp_ollama' };
    if (body.stream !== true) {
      let text = '';
      this.generate(record, res, count, (i) => (text += token(i)), () => {
        record.reported = { input: usage.prompt_tokens, output: usage.completion_tokens };
        sendJson(res, 200, { ...head, choices: [{ text, index: 0, finish_reason: finish }], usage });
      });
      return;
    }
    const chunk = (text: string, reason: string | null): string => `data: ${JSON.stringify({ ...head, choices: [{ text, index: 0, finish_reason: reason }] })}\n\n`;
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    this.generate(record, res, count, (i) => res.write(chunk(token(i), null)), () => {
      res.write(chunk('', finish));
      const includeUsage = (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
      if (includeUsage) record.reported = { input: usage.prompt_tokens, output: usage.completion_tokens };
      if (includeUsage) res.write(`data: ${JSON.stringify({ ...head, choices: [], usage })}\n\n`);
      res.end('data: [DONE]\n\n');
    });
  }

  private openaiChat(res: ServerResponse, record: RecordedRequest, body: Record<string, unknown>): void {
    if (!this.knows(res, body.model, true)) return;
    const model = body.model as string;
    const turn = toolTurn(body);
    const { count, token } = turn && 'answer' in turn ? this.say(turn.answer) : this.generation(body.max_tokens ?? body.max_completion_tokens);
    const id = `chatcmpl-${Math.floor(Math.random() * 1000)}`;
    const created = Math.floor(Date.now() / 1000);
    const usage = { prompt_tokens: 12, completion_tokens: count, total_tokens: 12 + count };
    if (turn && 'call' in turn) {
      const toolCalls = [{ id: `call_${Math.random().toString(36).slice(2, 10)}`, index: 0, type: 'function', function: { name: turn.call.name, arguments: JSON.stringify(turn.call.arguments) } }];
      if (body.stream !== true) {
        return sendJson(res, 200, {
          id, object: 'chat.completion', created, model, system_fingerprint: 'fp_ollama',
          choices: [{ index: 0, message: { role: 'assistant', content: '', tool_calls: toolCalls }, finish_reason: 'tool_calls' }], usage,
        });
      }
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      const chunk = (delta: Record<string, unknown>, finish: string | null): string =>
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_ollama', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      res.write(chunk({ role: 'assistant', content: '', tool_calls: toolCalls }, null));
      res.write(chunk({ role: 'assistant', content: '' }, 'tool_calls'));
      return void res.end('data: [DONE]\n\n');
    }
    if (body.stream !== true) {
      let text = '';
      this.generate(record, res, count, (i) => (text += token(i)), () => {
        record.reported = { input: usage.prompt_tokens, output: usage.completion_tokens };
        sendJson(res, 200, {
          id, object: 'chat.completion', created, model, system_fingerprint: 'fp_ollama',
          choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }], usage,
        });
      });
      return;
    }
    const chunk = (delta: Record<string, unknown>, finish: string | null): string =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_ollama', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    this.generate(record, res, count, (i) => res.write(chunk({ role: 'assistant', content: token(i) }, null)), () => {
      res.write(chunk({ role: 'assistant', content: '' }, 'stop'));
      const includeUsage = (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
      if (includeUsage) record.reported = { input: usage.prompt_tokens, output: usage.completion_tokens };
      if (includeUsage) res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_ollama', choices: [], usage })}\n\n`);
      res.end('data: [DONE]\n\n');
    });
  }
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('404 page not found');
}

function inputs(input: unknown): string[] {
  if (typeof input === 'string') return [input];
  if (Array.isArray(input)) return input.map(String);
  return [''];
}

export async function startFakeOllama(options: FakeOllamaOptions = {}): Promise<FakeOllama> {
  return new FakeOllama(options).listen();
}

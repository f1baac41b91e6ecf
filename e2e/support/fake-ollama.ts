import type { IncomingMessage, ServerResponse } from 'node:http';
import { embed, FakeUpstream, sendJson, type FakeUpstreamOptions, type RecordedRequest } from './fake-upstream-base.js';

/**
 * An upstream that answers like Ollama (docs/api.md and docs/openai.md of ollama/ollama):
 * native `/api/*` endpoints streaming NDJSON by default with the timing fields of the final
 * object, and the OpenAI-compatible `/v1/*` endpoints with SSE and `data: [DONE]`.
 * Model management endpoints answer too — a test checks that nothing ever reaches them.
 */

const VERSION = '0.6.2';
const NS_PER_TOKEN = 20_000_000;

export class FakeOllama extends FakeUpstream {
  constructor(options: FakeUpstreamOptions = {}) {
    super(options, { models: ['gemma3:4b'], label: 'ollama' });
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
        return sendJson(res, 200, { version: VERSION });
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
      case 'POST /v1/embeddings':
        if (!this.knows(res, body.model, true)) return;
        return sendJson(res, 200, {
          object: 'list', model: body.model, usage: { prompt_tokens: 4, total_tokens: 4 },
          data: inputs(body.input).map((t, index) => ({ object: 'embedding', index, embedding: embed(t) })),
        });
      case 'POST /api/pull':
      case 'POST /api/push':
      case 'POST /api/create':
      case 'POST /api/copy':
      case 'DELETE /api/delete':
      case 'POST /api/delete':
        return sendJson(res, 200, { status: 'success' });
      default:
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        return void res.end('404 page not found');
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
    const { count, token } = this.generation((body.options as { num_predict?: unknown } | undefined)?.num_predict);
    const piece = (text: string): Record<string, unknown> => (chat ? { message: { role: 'assistant', content: text } } : { response: text });
    const stats = (): Record<string, unknown> => ({
      done_reason: 'stop', total_duration: count * NS_PER_TOKEN + 5_000_000, load_duration: 1_000_000,
      prompt_eval_count: 12, prompt_eval_duration: 2_000_000, eval_count: count, eval_duration: count * NS_PER_TOKEN,
    });
    const createdAt = (): string => new Date().toISOString();
    if (body.stream === false) {
      let text = '';
      this.generate(record, res, count, (i) => (text += token(i)), () =>
        sendJson(res, 200, { model, created_at: createdAt(), ...piece(text), done: true, ...stats(), ...(chat ? {} : { context: [1, 2, 3] }) }),
      );
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    this.generate(record, res, count, (i) => res.write(`${JSON.stringify({ model, created_at: createdAt(), ...piece(token(i)), done: false })}\n`), () => {
      res.end(`${JSON.stringify({ model, created_at: createdAt(), ...piece(''), done: true, ...stats() })}\n`);
    });
  }

  private openaiChat(res: ServerResponse, record: RecordedRequest, body: Record<string, unknown>): void {
    if (!this.knows(res, body.model, true)) return;
    const model = body.model as string;
    const { count, token } = this.generation(body.max_tokens ?? body.max_completion_tokens);
    const id = `chatcmpl-${Math.floor(Math.random() * 1000)}`;
    const created = Math.floor(Date.now() / 1000);
    const usage = { prompt_tokens: 12, completion_tokens: count, total_tokens: 12 + count };
    if (body.stream !== true) {
      let text = '';
      this.generate(record, res, count, (i) => (text += token(i)), () =>
        sendJson(res, 200, {
          id, object: 'chat.completion', created, model, system_fingerprint: 'fp_ollama',
          choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }], usage,
        }),
      );
      return;
    }
    const chunk = (delta: Record<string, unknown>, finish: string | null): string =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_ollama', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    this.generate(record, res, count, (i) => res.write(chunk({ role: 'assistant', content: token(i) }, null)), () => {
      res.write(chunk({ role: 'assistant', content: '' }, 'stop'));
      const includeUsage = (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
      if (includeUsage) res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_ollama', choices: [], usage })}\n\n`);
      res.end('data: [DONE]\n\n');
    });
  }
}

function inputs(input: unknown): string[] {
  if (typeof input === 'string') return [input];
  if (Array.isArray(input)) return input.map(String);
  return [''];
}

export async function startFakeOllama(options: FakeUpstreamOptions = {}): Promise<FakeOllama> {
  return new FakeOllama(options).listen();
}

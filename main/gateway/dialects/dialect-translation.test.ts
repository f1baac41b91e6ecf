import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { normalize, parseSse } from '../../../e2e/support/sse-fixtures.js';
import { ByteBudget } from '../../http/held-body.js';
import { ChatStreamReader, type ChatStreamSink } from './chat-stream-reader.js';
import { translateMessages } from './messages-translator.js';
import { translateResponses } from './responses-translator.js';
import { MAX_COLLECTED_BYTES, TranslatedResponse, type AnswerContext } from './translated-response.js';
import { TranslationError, type Translate } from './translation-types.js';

/**
 * Translation against recorded sequences of each dialect (e2e/fixtures/dialects): requests
 * into Chat Completions, Chat Completions answers and streams back out — whole, cut into
 * pieces at every size, and with the fast path for text chunks ruled out.
 */

const fixture = (name: string): Buffer => readFileSync(new URL(`../../../e2e/fixtures/dialects/${name}`, import.meta.url));
const json = (name: string): unknown => JSON.parse(fixture(name).toString('utf8'));

const DIALECTS: Array<[string, Translate, Record<string, unknown>]> = [
  ['messages', translateMessages, { model: 'x', max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] }],
  ['responses', translateResponses, { model: 'x', input: 'Hi' }],
];

const answerTo = (budget = new ByteBudget(1 << 30)): AnswerContext => ({ deployment: 'my-deploy', dialect: 'anthropic', requestId: 'req_test', budget });

/** What the client gets: a stream as it goes, or a collected answer whole at the end. */
function run(translate: Translate, request: Record<string, unknown>, head: { status: number; type: string }, chunks: Buffer[]): string {
  const response = new TranslatedResponse(translate(request, 'my-deploy'), answerTo());
  const sent = response.head({ status: head.status, headers: { 'content-type': head.type } });
  let out = '';
  for (const chunk of chunks) out += response.data(chunk);
  return sent ? out + response.end() : response.whole().body;
}

function slices(buffer: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buffer.length; i += size) out.push(buffer.subarray(i, i + size));
  return out;
}

/** The same stream with spaces after every colon: valid, but not what the fast path takes. */
function spaced(sse: Buffer): Buffer {
  const text = sse.toString('utf8').split('\n').map((line) => {
    if (!line.startsWith('data: {')) return line;
    return `data: ${JSON.stringify(JSON.parse(line.slice(6)), null, 1).replace(/\n\s*/g, ' ')}`;
  });
  return Buffer.from(text.join('\n'));
}

describe('requests become Chat Completions requests', () => {
  it('Messages: system blocks, images, tool use and results, tool choice, stop sequences', () => {
    expect(translateMessages(json('messages-request.json'), 'claude-local').chat).toEqual(json('messages-request.chat.json'));
  });

  it('Responses: instructions, developer and image input, function calls and outputs, a JSON schema', () => {
    expect(translateResponses(json('responses-request.json'), 'codex-local').chat).toEqual(json('responses-request.chat.json'));
  });

  it('refuses what Chat Completions cannot carry, saying what and where', () => {
    const refuse = (translate: Translate, body: unknown): string => {
      try {
        translate(body, 'd');
      } catch (error) {
        expect(error).toBeInstanceOf(TranslationError);
        return (error as Error).message;
      }
      throw new Error('translated what it should have refused');
    };
    expect(refuse(translateMessages, { messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'web_search_20250305', name: 'web_search' }] })).toMatch(/tools\[0\].*web_search_20250305/);
    expect(refuse(translateMessages, { messages: [] })).toMatch(/`messages` must be a non-empty array/);
    expect(refuse(translateMessages, { messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'x' } }] }] })).toMatch(/messages\[0\]\.content\[0\]: document blocks/);
    expect(refuse(translateResponses, { input: 'x', previous_response_id: 'resp_1' })).toMatch(/previous_response_id/);
    expect(refuse(translateResponses, { input: 'x', tools: [{ type: 'web_search_preview' }] })).toMatch(/tools\[0\]: web_search_preview tools/);
  });

  it('carries turns of more blocks than a call takes arguments (no spread overflows the stack)', () => {
    const results = Array.from({ length: 200_000 }, (_, i) => ({ type: 'tool_result', tool_use_id: `t${i}`, content: '' }));
    const messages = translateMessages({ messages: [{ role: 'user', content: [...results, { type: 'text', text: 'go on' }] }] }, 'd').chat.messages;
    expect(messages).toHaveLength(200_001);
    expect(messages.at(-1)).toEqual({ role: 'user', content: 'go on' });
    const input = Array.from({ length: 200_000 }, () => ({ role: 'user', content: 'x' }));
    expect(translateResponses({ instructions: 'be brief', input }, 'd').chat.messages).toHaveLength(200_001);
  });

  it('asks for usage in streams, so the translated stream can report it', () => {
    expect(translateMessages({ stream: true, messages: [{ role: 'user', content: 'x' }] }, 'd').chat.stream_options).toEqual({ include_usage: true });
    expect(translateResponses({ stream: true, input: 'x' }, 'd').chat.stream_options).toEqual({ include_usage: true });
  });
});

describe.each(DIALECTS)('%s answers', (name, translate, request) => {
  for (const stream of ['stream-text', 'stream-tool-split']) {
    it(`${stream}: the documented event sequence, however the bytes are cut`, () => {
      const expected = json(`${name}-${stream}.events.json`);
      const input = fixture(`chat-${stream}.sse`);
      const streamed = { ...request, stream: true };
      const sse = { status: 200, type: 'text/event-stream' };
      for (const size of [input.length, 64, 7, 1]) {
        expect(normalize(parseSse(run(translate, streamed, sse, slices(input, size)))), `slices of ${size}`).toEqual(expected);
      }
      expect(normalize(parseSse(run(translate, streamed, sse, [spaced(input)]))), 'without the fast path').toEqual(expected);
    });
  }

  it('a whole answer with a tool call', () => {
    const out = run(translate, request, { status: 200, type: 'application/json' }, [fixture('chat-completion-tool.json')]);
    expect(normalize(JSON.parse(out))).toEqual(json(`${name}-reply-tool.json`));
  });

  it('a whole answer to a streaming request comes as that dialect\'s stream', () => {
    const out = parseSse(run(translate, { ...request, stream: true }, { status: 200, type: 'application/json' }, [fixture('chat-completion-tool.json')]));
    const names = out.map((e) => e.event);
    if (name === 'messages') {
      expect(names).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
      expect(out[7]!.data).toMatchObject({ delta: { stop_reason: 'tool_use' }, usage: { input_tokens: 82, output_tokens: 17 } });
    } else {
      expect(names[0]).toBe('response.created');
      expect(names.at(-1)).toBe('response.completed');
      expect((out.at(-1)!.data as { response: { output: unknown[] } }).response.output).toHaveLength(2);
    }
  });

  it('an error inside the stream ends it with the dialect\'s error event', () => {
    const input = Buffer.from('data: {"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}\n\ndata: {"error":{"message":"slot unavailable","type":"server_error"}}\n\n');
    const out = parseSse(run(translate, { ...request, stream: true }, { status: 200, type: 'text/event-stream' }, [input]));
    const error = out.find((e) => e.event === 'error')!;
    expect(JSON.stringify(error.data)).toContain("Deployment 'my-deploy': slot unavailable".slice(-16));
    expect(out.at(-1)!.event).toBe(name === 'messages' ? 'error' : 'response.failed');
  });

  it('an upstream error status becomes an error body naming the deployment', () => {
    const out = JSON.parse(run(translate, { ...request, stream: true }, { status: 404, type: 'application/json' }, [Buffer.from('{"error":{"message":"model \\"gemma3:4b\\" not found, try pulling it first","type":"api_error"}}')]));
    expect(out).toEqual({ type: 'error', error: { type: 'not_found_error', message: 'Deployment \'my-deploy\': model "gemma3:4b" not found, try pulling it first' }, request_id: 'req_test' });
  });
});

describe('whole answers collected to translate', () => {
  const collect = (budget: ByteBudget, chunks: Buffer[]): TranslatedResponse => {
    const response = new TranslatedResponse(translateMessages({ messages: [{ role: 'user', content: 'Hi' }] }, 'my-deploy'), answerTo(budget));
    expect(response.head({ status: 200, headers: { 'content-type': 'application/json' } })).toBeNull();
    for (const chunk of chunks) {
      response.data(chunk);
      if (response.refusal) break;
    }
    return response;
  };

  it('are held against the gateway budget while they arrive, and let go of once answered', () => {
    const budget = new ByteBudget(1 << 30);
    const answer = fixture('chat-completion-tool.json');
    const response = collect(budget, [answer]);
    expect(budget.held).toBe(answer.length);
    expect(response.whole().head.status).toBe(200);
    expect(budget.held).toBe(0);
  });

  it('past the collection limit: refused with a 502 naming the deployment, holding nothing', () => {
    const budget = new ByteBudget(1 << 30);
    const piece = Buffer.alloc(64 * 1024, '{},');
    const response = collect(budget, [Buffer.from('{"pad":['), ...Array.from({ length: MAX_COLLECTED_BYTES / piece.length + 1 }, () => piece)]);
    expect(response.refusal).toMatchObject({ status: 502, code: 'upstream_response_too_large', message: `Deployment 'my-deploy' answered more than ${MAX_COLLECTED_BYTES} bytes, more than the gateway collects to translate.` });
    expect(budget.held).toBe(0);
  });

  it('past the budget of held bytes: refused with a 503 saying the gateway is busy', () => {
    const budget = new ByteBudget(1000);
    expect(collect(budget, [Buffer.alloc(600, ' '), Buffer.alloc(600, ' ')]).refusal).toMatchObject({ status: 503, code: 'gateway_busy' });
    expect(budget.held).toBe(0);
  });

  it('with more JSON values than a translation parses: a 502 before any parse', () => {
    const pad = Buffer.from(`{"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"pad":[${'{},'.repeat(150_000)}{}]}`);
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const { head, body } = collect(new ByteBudget(1 << 30), [pad]).whole();
      expect(head.status).toBe(502);
      expect(JSON.parse(body)).toMatchObject({ error: { message: expect.stringMatching(/^Deployment 'my-deploy' answered 150\d{3} JSON values, more than the 100000 the gateway translates\.$/) } });
      expect(parse.mock.calls.filter(([text]) => typeof text === 'string' && text.length >= pad.length)).toEqual([]);
    } finally {
      parse.mockRestore();
    }
  });
});

describe('the fast path for text chunks', () => {
  it('recognises text-only chunks by their template, and parses everything else', () => {
    const seen: unknown[][] = [];
    const sink: ChatStreamSink = {
      text: (literal) => seen.push(['text', literal]),
      toolCall: (...args) => seen.push(['tool', ...args]),
      finish: (reason) => seen.push(['finish', reason]),
      usage: (...args) => seen.push(['usage', ...args]),
      error: (message) => seen.push(['error', message]),
    };
    const reader = new ChatStreamReader(sink);
    const chunk = (created: number, delta: string, finish = 'null'): string => `data: {"id":"c","created":${created},"choices":[{"index":0,"delta":${delta},"finish_reason":${finish}}]}\n\n`;
    const parse = vi.spyOn(JSON, 'parse');
    try {
      reader.push(Buffer.from(chunk(1, '{"content":"Hi"}')));
      const parsedFirst = parse.mock.calls.length;
      reader.push(Buffer.from(chunk(1, '{"content":" the\\"re\\\\"}') + chunk(1, '{"content":"!"}')));
      expect(parse.mock.calls.length, 'same template: no parse').toBe(parsedFirst);
      reader.push(Buffer.from(chunk(2, '{"content":"x"}') + chunk(2, '{"content":"y","tool_calls":[{"index":0,"id":"t","function":{"name":"f","arguments":"{}"}}]}')));
      reader.push(Buffer.from(chunk(2, '{"content":"a\rb"}') + chunk(2, '{}', '"stop"')));
    } finally {
      parse.mockRestore();
    }
    expect(seen).toEqual([
      ['text', '"Hi"'], ['text', '" the\\"re\\\\"'], ['text', '"!"'],
      ['text', '"x"'], ['text', '"y"'], ['tool', 0, 't', 'f', '{}'],
      ['error', expect.stringMatching(/not JSON/)], ['finish', 'stop'],
    ]);
  });

  /** The longest stream line the reader holds (chat-stream-reader.ts says why). */
  const MAX_LINE_BYTES = 1024 * 1024;

  it('copies a long line once, when it ends, however many pieces it came in', () => {
    const texts: string[] = [];
    const reader = new ChatStreamReader({ text: (literal) => texts.push(literal), toolCall() {}, finish() {}, usage() {}, error() {} });
    const piece = Buffer.alloc(512, 0x61);
    const pieces = Math.floor((MAX_LINE_BYTES - 100) / piece.length);
    const concat = vi.spyOn(Buffer, 'concat');
    try {
      reader.push(Buffer.from('data: {"choices":[{"index":0,"delta":{"content":"'));
      for (let i = 0; i < pieces; i++) reader.push(piece);
      reader.push(Buffer.from('"},"finish_reason":null}]}\n\n'));
      // Joining on every piece copied the line 2,000 times over (half a GB for 1 MB).
      const copied = concat.mock.results.reduce((sum, result) => sum + (result.value as Buffer).length, 0);
      expect(copied).toBeLessThan(2 * MAX_LINE_BYTES);
    } finally {
      concat.mockRestore();
    }
    expect(texts).toHaveLength(1);
    expect(texts[0]!.length).toBe(pieces * piece.length + 2);
  });

  it('fails the stream on a line longer than one event can be, and reads no further', () => {
    const seen: string[] = [];
    const reader = new ChatStreamReader({ text: (literal) => seen.push(literal), toolCall() {}, finish() {}, usage() {}, error: (message) => seen.push(message) });
    reader.push(Buffer.from('data: {"choices":[{"index":0,"delta":{"content":"'));
    for (let sent = 0; sent <= MAX_LINE_BYTES; sent += 64 * 1024) reader.push(Buffer.alloc(64 * 1024, 0x61));
    reader.push(Buffer.from('"},"finish_reason":null}]}\n\ndata: {"choices":[{"index":0,"delta":{"content":"more"},"finish_reason":null}]}\n\n'));
    reader.end();
    expect(seen).toEqual([`the upstream sent a stream line longer than ${MAX_LINE_BYTES} bytes`]);
  });
});

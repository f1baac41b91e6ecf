import { StringDecoder } from 'node:string_decoder';

/**
 * Reads a streamed Chat Completions answer (SSE: `data: {chunk}` events, then
 * `data: [DONE]`) and reports what each chunk adds: text, tool-call pieces, the finish
 * reason, usage. Both stream translators (Messages, Responses) are driven by it.
 *
 * A translated stream pays per token, so the common chunk — one piece of text and nothing
 * else — takes a fast path: its `content` string is cut out of the event as the JSON string
 * literal it already is and handed on as such, to be spliced into the other dialect's event
 * without decoding or re-encoding. Any chunk the fast path is not sure of (tool calls, a
 * finish reason, usage, reasoning, unusual spacing) goes through JSON.parse.
 */

export interface ChatStreamSink {
  /** A piece of the answer's text, as a JSON string literal (quotes included). */
  text(literal: string): void;
  /** A piece of tool call `index`: its id and name arrive first, its arguments in fragments. */
  toolCall(index: number, id: string | null, name: string | null, argumentsFragment: string): void;
  finish(reason: string): void;
  usage(input: number | null, output: number | null): void;
  /** The upstream reported an error inside the stream. */
  error(message: string): void;
}

interface ParsedChunk {
  error?: unknown;
  choices?: Array<{
    delta?: { content?: unknown; tool_calls?: Array<{ index?: number; id?: string; function?: { name?: string; arguments?: string } }> };
    finish_reason?: string | null;
  }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
}

const CONTENT = '"content":"';

export class ChatStreamReader {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private data: string[] = [];
  /** True once `data: [DONE]` arrived. */
  done = false;

  constructor(private readonly sink: ChatStreamSink) {}

  push(chunk: Buffer): void {
    const text = this.pending + this.decoder.write(chunk);
    let start = 0;
    for (;;) {
      const newline = text.indexOf('\n', start);
      if (newline === -1) break;
      const end = newline > start && text.charCodeAt(newline - 1) === 13 ? newline - 1 : newline;
      this.line(text.slice(start, end));
      start = newline + 1;
    }
    this.pending = start === 0 ? text : text.slice(start);
  }

  /** The upstream finished: a last event without its blank line still counts. */
  end(): void {
    const rest = this.pending + this.decoder.end();
    this.pending = '';
    if (rest) this.line(rest);
    this.line('');
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length === 0) return;
      const data = this.data.length === 1 ? this.data[0]! : this.data.join('\n');
      this.data = [];
      this.event(data);
      return;
    }
    if (line.startsWith('data:')) this.data.push(line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5));
    // Other fields (event:, id:, retry:) and comments carry nothing a chunk needs.
  }

  private event(data: string): void {
    if (this.done) return;
    if (data === '[DONE]') {
      this.done = true;
      return;
    }
    const literal = plainTextDelta(data);
    if (literal !== null) {
      if (literal.length > 2) this.sink.text(literal);
      return;
    }
    let chunk: ParsedChunk;
    try {
      chunk = JSON.parse(data) as ParsedChunk;
    } catch {
      this.sink.error(`the upstream sent a stream event that is not JSON: ${data.slice(0, 200)}`);
      return;
    }
    if (chunk.error) {
      const error = chunk.error as { message?: unknown };
      this.sink.error(typeof error === 'string' ? error : typeof error.message === 'string' ? error.message : JSON.stringify(chunk.error));
      return;
    }
    const choice = chunk.choices?.[0];
    const delta = choice?.delta;
    if (typeof delta?.content === 'string' && delta.content !== '') this.sink.text(JSON.stringify(delta.content));
    if (Array.isArray(delta?.tool_calls)) {
      delta.tool_calls.forEach((call, position) => {
        this.sink.toolCall(typeof call.index === 'number' ? call.index : position, call.id || null, call.function?.name || null, call.function?.arguments ?? '');
      });
    }
    if (choice?.finish_reason) this.sink.finish(choice.finish_reason);
    if (chunk.usage) this.sink.usage(chunk.usage.prompt_tokens ?? null, chunk.usage.completion_tokens ?? null);
  }
}

/**
 * The `content` literal of a chunk that carries only text (no finish reason, tool calls,
 * usage or reasoning), or null when the chunk needs a real parse. In valid JSON the searched
 * keys cannot appear inside strings (their quotes would be escaped), so a hit is a key.
 */
export function plainTextDelta(data: string): string | null {
  const at = data.indexOf(CONTENT);
  if (at === -1 || data.indexOf(CONTENT, at + CONTENT.length) !== -1) return null;
  if (data.indexOf('"finish_reason":null') === -1) return null;
  if (data.indexOf('"tool_calls"') !== -1 || data.indexOf('"reasoning') !== -1 || data.indexOf('"error"') !== -1) return null;
  if (data.indexOf('"usage"') !== -1 && data.indexOf('"usage":null') === -1) return null;
  const start = at + CONTENT.length - 1;
  let quote = start;
  for (;;) {
    quote = data.indexOf('"', quote + 1);
    if (quote === -1) return null;
    let backslashes = 0;
    for (let k = quote - 1; data.charCodeAt(k) === 92; k--) backslashes++;
    if (backslashes % 2 === 0) return data.slice(start, quote + 1);
  }
}

import { newId } from '../secrets.js';
import type { ChatContentPart, ChatMessage, ChatReply, ChatRequest, ChatTool, ChatToolCall, ChatToolChoice } from './chat-completions.js';
import { EventStreamWriter, isObject, sseEvent, TranslationError, type StreamWriter, type Translate, type Translation } from './translation-types.js';

/**
 * Anthropic's Messages API (`POST /v1/messages`, what Claude Code and the Anthropic SDKs
 * speak) over an upstream that only speaks Chat Completions.
 *
 * Request: `system` becomes the first message; text and image blocks become content
 * parts; an assistant's `tool_use` blocks become `tool_calls`; a user's `tool_result`
 * blocks become `tool` messages (before the rest of that user turn); tools, tool_choice,
 * stop sequences and sampling settings carry over. Thinking blocks sent back are dropped
 * (the upstream did not produce them); server tools and PDF documents are refused.
 *
 * Answer: text and tool calls become `text` and `tool_use` blocks, the finish reason a
 * `stop_reason`, usage `input_tokens`/`output_tokens`. Streams follow the documented event
 * order: `message_start`, then per block `content_block_start`, its deltas,
 * `content_block_stop`, then `message_delta` (stop reason, usage) and `message_stop`.
 */

const STOP_REASONS: Record<string, string> = { stop: 'end_turn', length: 'max_tokens', tool_calls: 'tool_use', function_call: 'tool_use', content_filter: 'refusal' };

export function stopReason(finishReason: string | null): string {
  return (finishReason && STOP_REASONS[finishReason]) || 'end_turn';
}

export const translateMessages: Translate = (body, deployment) => {
  if (!isObject(body)) throw new TranslationError('the request body must be a JSON object');
  const chat: ChatRequest = { model: deployment, messages: [...systemMessages(body.system), ...conversation(body.messages)] };
  if (typeof body.max_tokens === 'number') chat.max_tokens = body.max_tokens;
  if (typeof body.temperature === 'number') chat.temperature = body.temperature;
  if (typeof body.top_p === 'number') chat.top_p = body.top_p;
  if (typeof body.top_k === 'number') chat.top_k = body.top_k;
  if (Array.isArray(body.stop_sequences) && body.stop_sequences.length > 0) chat.stop = body.stop_sequences.filter((s): s is string => typeof s === 'string');
  if (Array.isArray(body.tools) && body.tools.length > 0) chat.tools = body.tools.map(tool);
  if (isObject(body.tool_choice)) Object.assign(chat, toolChoice(body.tool_choice));
  const user = isObject(body.metadata) ? body.metadata.user_id : undefined;
  if (typeof user === 'string') chat.user = user;
  if (body.stream === true) {
    chat.stream = true;
    chat.stream_options = { include_usage: true };
  }
  return new MessagesTranslation(chat, deployment);
};

class MessagesTranslation implements Translation {
  constructor(
    readonly chat: ChatRequest,
    private readonly deployment: string,
  ) {}

  reply(reply: ChatReply): unknown {
    const content: unknown[] = [];
    if (reply.text) content.push({ type: 'text', text: reply.text });
    for (const call of reply.toolCalls) content.push({ type: 'tool_use', id: call.id, name: call.name, input: parseInput(call.arguments) });
    return {
      id: newId('msg'), type: 'message', role: 'assistant', model: this.deployment, content,
      stop_reason: stopReason(reply.finishReason), stop_sequence: null,
      usage: { input_tokens: reply.usage.input, output_tokens: reply.usage.output },
    };
  }

  stream(): StreamWriter {
    return new MessagesStreamWriter(this.deployment);
  }
}

function systemMessages(system: unknown): ChatMessage[] {
  if (system === undefined || system === null) return [];
  if (typeof system === 'string') return system ? [{ role: 'system', content: system }] : [];
  if (!Array.isArray(system)) throw new TranslationError('`system` must be a string or an array of text blocks');
  const text = system.map((block, i) => {
    if (!isObject(block) || block.type !== 'text' || typeof block.text !== 'string') throw new TranslationError(`system[${i}] must be a text block`);
    return block.text;
  }).join('\n');
  return text ? [{ role: 'system', content: text }] : [];
}

function conversation(messages: unknown): ChatMessage[] {
  if (!Array.isArray(messages) || messages.length === 0) throw new TranslationError('`messages` must be a non-empty array');
  const out: ChatMessage[] = [];
  messages.forEach((message, i) => {
    if (!isObject(message) || (message.role !== 'user' && message.role !== 'assistant')) throw new TranslationError(`messages[${i}].role must be "user" or "assistant"`);
    const blocks = typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content;
    if (!Array.isArray(blocks)) throw new TranslationError(`messages[${i}].content must be a string or an array of content blocks`);
    if (message.role === 'assistant') out.push(assistantTurn(blocks, i));
    else userTurn(blocks, i, out);
  });
  return out;
}

function assistantTurn(blocks: unknown[], i: number): ChatMessage {
  let text = '';
  const calls: ChatToolCall[] = [];
  blocks.forEach((block, j) => {
    if (!isObject(block)) throw new TranslationError(`messages[${i}].content[${j}] must be an object`);
    if (block.type === 'text' && typeof block.text === 'string') text += block.text;
    else if (block.type === 'tool_use') {
      if (typeof block.id !== 'string' || typeof block.name !== 'string') throw new TranslationError(`messages[${i}].content[${j}]: a tool_use block needs an id and a name`);
      calls.push({ id: block.id, type: 'function', function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) } });
    } else if (block.type !== 'thinking' && block.type !== 'redacted_thinking') {
      throw new TranslationError(`messages[${i}].content[${j}]: an assistant turn may hold text and tool_use blocks here, not ${String(block.type)}`);
    }
  });
  return calls.length > 0 ? { role: 'assistant', content: text || null, tool_calls: calls } : { role: 'assistant', content: text };
}

/**
 * A user turn, appended to `out`: its tool results first (as `tool` messages), then what the
 * user said. Appended one by one, never spread into a call: a turn may hold more blocks
 * than a call takes arguments.
 */
function userTurn(blocks: unknown[], i: number, out: ChatMessage[]): void {
  const parts: ChatContentPart[] = [];
  blocks.forEach((block, j) => {
    const where = `messages[${i}].content[${j}]`;
    if (!isObject(block)) throw new TranslationError(`${where} must be an object`);
    if (block.type === 'tool_result') {
      if (typeof block.tool_use_id !== 'string') throw new TranslationError(`${where}: a tool_result block needs a tool_use_id`);
      const inner: ChatContentPart[] = typeof block.content === 'string' ? [{ type: 'text', text: block.content }] : Array.isArray(block.content) ? block.content.map((b, k) => part(b, `${where}.content[${k}]`)) : [];
      const text = inner.filter((p) => p.type === 'text').map((p) => (p as { text: string }).text).join('\n');
      out.push({ role: 'tool', tool_call_id: block.tool_use_id, content: block.is_error === true ? `Error: ${text}` : text });
      // Chat Completions tool messages carry text only: images a tool returned follow as user content.
      for (const p of inner) if (p.type === 'image_url') parts.push(p);
    } else {
      parts.push(part(block, where));
    }
  });
  if (parts.length === 0) return;
  const textOnly = parts.every((p) => p.type === 'text');
  out.push({ role: 'user', content: textOnly ? parts.map((p) => (p as { text: string }).text).join('\n') : parts });
}

function part(block: unknown, where: string): ChatContentPart {
  if (!isObject(block)) throw new TranslationError(`${where} must be an object`);
  if (block.type === 'text' && typeof block.text === 'string') return { type: 'text', text: block.text };
  if (block.type === 'image' && isObject(block.source)) {
    const source = block.source;
    if (source.type === 'base64' && typeof source.media_type === 'string' && typeof source.data === 'string') {
      return { type: 'image_url', image_url: { url: `data:${source.media_type};base64,${source.data}` } };
    }
    if (source.type === 'url' && typeof source.url === 'string') return { type: 'image_url', image_url: { url: source.url } };
    throw new TranslationError(`${where}: images must come as base64 data or a URL here`);
  }
  if (block.type === 'document' && isObject(block.source) && block.source.type === 'text' && typeof block.source.data === 'string') {
    return { type: 'text', text: block.source.data };
  }
  throw new TranslationError(`${where}: ${String(block.type)} blocks are not supported by this deployment's upstream (text, image and plain-text document blocks are)`);
}

function tool(value: unknown, i: number): ChatTool {
  if (!isObject(value) || typeof value.name !== 'string') throw new TranslationError(`tools[${i}] needs a name`);
  if (value.type !== undefined && value.type !== 'custom') {
    throw new TranslationError(`tools[${i}]: the server tool ${String(value.type)} is not available on this deployment; define it as a client tool with an input_schema`);
  }
  const fn: ChatTool['function'] = { name: value.name, parameters: value.input_schema ?? { type: 'object', properties: {} } };
  if (typeof value.description === 'string') fn.description = value.description;
  return { type: 'function', function: fn };
}

function toolChoice(choice: Record<string, unknown>): { tool_choice?: ChatToolChoice; parallel_tool_calls?: boolean } {
  const out: { tool_choice?: ChatToolChoice; parallel_tool_calls?: boolean } = {};
  if (choice.type === 'auto') out.tool_choice = 'auto';
  else if (choice.type === 'any') out.tool_choice = 'required';
  else if (choice.type === 'none') out.tool_choice = 'none';
  else if (choice.type === 'tool' && typeof choice.name === 'string') out.tool_choice = { type: 'function', function: { name: choice.name } };
  if (choice.disable_parallel_tool_use === true) out.parallel_tool_calls = false;
  return out;
}

/** A tool call's arguments as the `input` object Messages clients expect. */
function parseInput(args: string): unknown {
  if (!args.trim()) return {};
  try {
    const value: unknown = JSON.parse(args);
    return isObject(value) ? value : { value };
  } catch {
    // The model wrote something that is not JSON: hand it over rather than lose it.
    return { arguments: args };
  }
}

type OpenBlock = { kind: 'text'; index: number } | { kind: 'tool'; index: number; call: number } | null;

/** Chat Completions stream events in, Messages stream events out. */
export class MessagesStreamWriter extends EventStreamWriter {
  private block: OpenBlock = null;
  private blocks = 0;
  /** Block index of each tool call (by its Chat Completions index). */
  private readonly toolBlocks = new Map<number, number>();

  constructor(private readonly deployment: string) {
    super();
  }

  start(): string {
    const message = {
      id: newId('msg'), type: 'message', role: 'assistant', model: this.deployment, content: [],
      stop_reason: null, stop_sequence: null, usage: { input_tokens: 0, output_tokens: 0 },
    };
    return sseEvent('message_start', JSON.stringify({ type: 'message_start', message }));
  }

  text(literal: string): void {
    if (this.block?.kind !== 'text') this.open({ type: 'text', text: '' }, 'text');
    this.out += `event: content_block_delta\ndata: {"type":"content_block_delta","index":${this.block!.index},"delta":{"type":"text_delta","text":${literal}}}\n\n`;
  }

  toolCall(call: number, id: string | null, name: string | null, fragment: string): void {
    let index = this.toolBlocks.get(call);
    if (index === undefined) {
      this.open({ type: 'tool_use', id: id ?? newId('toolu'), name: name ?? '', input: {} }, 'tool', call);
      index = this.block!.index;
      this.toolBlocks.set(call, index);
    }
    if (fragment) {
      this.out += sseEvent('content_block_delta', JSON.stringify({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: fragment } }));
    }
  }

  end(): string {
    if (this.failed) return this.take();
    this.close();
    const usage: Record<string, number> = { output_tokens: this.outputTokens ?? 0 };
    if (this.inputTokens !== null) usage.input_tokens = this.inputTokens;
    this.out += sseEvent('message_delta', JSON.stringify({ type: 'message_delta', delta: { stop_reason: stopReason(this.finishReason), stop_sequence: null }, usage }));
    this.out += sseEvent('message_stop', '{"type":"message_stop"}');
    return this.take();
  }

  fail(message: string): string {
    return sseEvent('error', JSON.stringify({ type: 'error', error: { type: 'api_error', message } }));
  }

  private open(contentBlock: Record<string, unknown>, kind: 'text' | 'tool', call = 0): void {
    this.close();
    const index = this.blocks++;
    this.block = kind === 'text' ? { kind, index } : { kind, index, call };
    this.out += sseEvent('content_block_start', JSON.stringify({ type: 'content_block_start', index, content_block: contentBlock }));
  }

  private close(): void {
    if (!this.block) return;
    this.out += `event: content_block_stop\ndata: {"type":"content_block_stop","index":${this.block.index}}\n\n`;
    this.block = null;
  }
}

import { newId } from '../secrets.js';
import type { ChatContentPart, ChatMessage, ChatReply, ChatRequest, ChatTool, ChatToolChoice, ToolCallOut } from './chat-completions.js';
import { EventStreamWriter, isObject, sseEvent, TranslationError, type StreamWriter, type Translate, type Translation } from './translation-types.js';

/**
 * OpenAI's Responses API (`POST /v1/responses`, what Codex and newer OpenAI SDK code speak)
 * over an upstream that only speaks Chat Completions. Stateless: the gateway keeps no
 * responses, so `previous_response_id` and `conversation` are refused with a clear message
 * (send the whole conversation in `input`), and `store` is answered as false.
 *
 * Request: `instructions` becomes the system message; `input` (a string, or items:
 * messages with input_text/input_image/output_text parts, function_call and
 * function_call_output) becomes the conversation; function tools, tool_choice, text.format
 * (JSON schema) and sampling settings carry over. Built-in tools (web search, file search,
 * computer use, …) are refused: the upstream has none.
 *
 * Answer: a `message` item with `output_text`, a `function_call` item per tool call, usage,
 * and `status` completed, or incomplete when the output was cut at max_output_tokens.
 * Streams follow the documented event order: `response.created`, `response.in_progress`,
 * per item `response.output_item.added` … `response.output_item.done` (with the content
 * part, text and argument events in between), then `response.completed` (or
 * `response.incomplete`), every event with its `sequence_number`.
 */

export const translateResponses: Translate = (body, deployment) => {
  if (!isObject(body)) throw new TranslationError('the request body must be a JSON object');
  if (body.previous_response_id !== undefined && body.previous_response_id !== null) {
    throw new TranslationError('this deployment keeps no conversation state, so previous_response_id cannot be used: send the whole conversation in `input`');
  }
  if (body.conversation !== undefined && body.conversation !== null) throw new TranslationError('this deployment keeps no conversations: send the whole conversation in `input`');
  if (body.background === true) throw new TranslationError('background responses are not available on this deployment');
  const messages: ChatMessage[] = [];
  if (typeof body.instructions === 'string' && body.instructions) messages.push({ role: 'system', content: body.instructions });
  conversation(body.input, messages);
  const chat: ChatRequest = { model: deployment, messages: mergeLeadingSystem(messages) };
  if (typeof body.max_output_tokens === 'number') chat.max_tokens = body.max_output_tokens;
  if (typeof body.temperature === 'number') chat.temperature = body.temperature;
  if (typeof body.top_p === 'number') chat.top_p = body.top_p;
  if (typeof body.parallel_tool_calls === 'boolean') chat.parallel_tool_calls = body.parallel_tool_calls;
  if (typeof body.user === 'string') chat.user = body.user;
  if (Array.isArray(body.tools) && body.tools.length > 0) chat.tools = body.tools.map(tool);
  const choice = toolChoice(body.tool_choice);
  if (choice) chat.tool_choice = choice;
  const format = isObject(body.text) && isObject(body.text.format) ? body.text.format : null;
  if (format?.type === 'json_schema') chat.response_format = { type: 'json_schema', json_schema: { name: format.name ?? 'response', schema: format.schema, ...(typeof format.strict === 'boolean' ? { strict: format.strict } : {}) } };
  else if (format?.type === 'json_object') chat.response_format = { type: 'json_object' };
  if (isObject(body.reasoning) && typeof body.reasoning.effort === 'string') chat.reasoning_effort = body.reasoning.effort;
  if (body.stream === true) {
    chat.stream = true;
    chat.stream_options = { include_usage: true };
  }
  return new ResponsesTranslation(chat, deployment, body);
};

class ResponsesTranslation implements Translation {
  constructor(
    readonly chat: ChatRequest,
    private readonly deployment: string,
    private readonly request: Record<string, unknown>,
  ) {}

  reply(reply: ChatReply): unknown {
    const output: unknown[] = [];
    if (reply.text) output.push(messageItem(newId('msg'), reply.text, 'completed'));
    for (const call of reply.toolCalls) output.push(functionCallItem(newId('fc'), call, 'completed'));
    return { ...responseBase(this.deployment, this.request), ...outcome(reply.finishReason), output, usage: usage(reply.usage.input, reply.usage.output) };
  }

  stream(): StreamWriter {
    return new ResponsesStreamWriter(this.deployment, this.request);
  }
}

/** `input` as Chat Completions messages, appended to `out` one by one (never spread into a call: it may hold more items than a call takes arguments). */
function conversation(input: unknown, out: ChatMessage[]): void {
  if (typeof input === 'string') {
    out.push({ role: 'user', content: input });
    return;
  }
  if (!Array.isArray(input) || input.length === 0) throw new TranslationError('`input` must be a string or a non-empty array of input items');
  input.forEach((item, i) => {
    const where = `input[${i}]`;
    if (!isObject(item)) throw new TranslationError(`${where} must be an object`);
    const type = item.type ?? 'message';
    if (type === 'message') out.push(message(item, where));
    else if (type === 'function_call') {
      if (typeof item.call_id !== 'string' || typeof item.name !== 'string') throw new TranslationError(`${where}: a function_call item needs a call_id and a name`);
      const call = { id: item.call_id, type: 'function' as const, function: { name: item.name, arguments: typeof item.arguments === 'string' ? item.arguments : '{}' } };
      // Calls the model made together belong to one assistant turn.
      const last = out[out.length - 1];
      if (last?.role === 'assistant') (last.tool_calls ??= []).push(call);
      else out.push({ role: 'assistant', content: null, tool_calls: [call] });
    } else if (type === 'function_call_output') {
      if (typeof item.call_id !== 'string') throw new TranslationError(`${where}: a function_call_output item needs a call_id`);
      out.push({ role: 'tool', tool_call_id: item.call_id, content: typeof item.output === 'string' ? item.output : textOf(item.output) });
    } else if (type !== 'reasoning') {
      throw new TranslationError(`${where}: ${String(type)} items are not available on this deployment (messages, function_call and function_call_output are)`);
    }
  });
}

/**
 * Instructions and the developer messages that open a conversation become one system
 * message: many chat templates (llama.cpp's Jinja ones among them) accept only one, first.
 */
function mergeLeadingSystem(messages: ChatMessage[]): ChatMessage[] {
  let n = 0;
  while (messages[n]?.role === 'system') n++;
  if (n < 2) return messages;
  const content = messages.slice(0, n).map((m) => m.content as string).join('\n\n');
  return [{ role: 'system', content }, ...messages.slice(n)];
}

function message(item: Record<string, unknown>, where: string): ChatMessage {
  const role = item.role;
  const content = item.content;
  if (role === 'assistant') return { role: 'assistant', content: typeof content === 'string' ? content : textOf(content) };
  if (role === 'system' || role === 'developer') return { role: 'system', content: typeof content === 'string' ? content : textOf(content) };
  if (role !== 'user') throw new TranslationError(`${where}.role must be user, assistant, system or developer`);
  if (typeof content === 'string') return { role: 'user', content };
  if (!Array.isArray(content)) throw new TranslationError(`${where}.content must be a string or an array of content parts`);
  const parts = content.map((part, j): ChatContentPart => {
    if (isObject(part) && (part.type === 'input_text' || part.type === 'output_text') && typeof part.text === 'string') return { type: 'text', text: part.text };
    if (isObject(part) && part.type === 'input_image' && typeof part.image_url === 'string') {
      return { type: 'image_url', image_url: { url: part.image_url, ...(typeof part.detail === 'string' ? { detail: part.detail } : {}) } };
    }
    throw new TranslationError(`${where}.content[${j}]: only input_text and input_image parts (with an image_url) are available on this deployment`);
  });
  return { role: 'user', content: parts.every((p) => p.type === 'text') ? parts.map((p) => (p as { text: string }).text).join('\n') : parts };
}

function textOf(content: unknown): string {
  if (!Array.isArray(content)) return '';
  return content.map((part) => (isObject(part) && typeof part.text === 'string' ? part.text : '')).join('');
}

function tool(value: unknown, i: number): ChatTool {
  if (!isObject(value) || value.type !== 'function' || typeof value.name !== 'string') {
    const type = isObject(value) ? String(value.type) : typeof value;
    throw new TranslationError(`tools[${i}]: ${type} tools are not available on this deployment; only function tools are`);
  }
  const fn: ChatTool['function'] = { name: value.name, parameters: value.parameters ?? { type: 'object', properties: {} } };
  if (typeof value.description === 'string') fn.description = value.description;
  if (typeof value.strict === 'boolean') fn.strict = value.strict;
  return { type: 'function', function: fn };
}

function toolChoice(choice: unknown): ChatToolChoice | null {
  if (choice === 'auto' || choice === 'none' || choice === 'required') return choice;
  if (isObject(choice) && choice.type === 'function' && typeof choice.name === 'string') return { type: 'function', function: { name: choice.name } };
  return null;
}

function responseBase(deployment: string, request: Record<string, unknown>): Record<string, unknown> {
  return {
    id: newId('resp'), object: 'response', created_at: Math.floor(Date.now() / 1000), model: deployment,
    error: null, incomplete_details: null,
    instructions: request.instructions ?? null, max_output_tokens: request.max_output_tokens ?? null,
    parallel_tool_calls: request.parallel_tool_calls ?? true, previous_response_id: null,
    reasoning: { effort: null, summary: null }, store: false,
    temperature: request.temperature ?? null, text: request.text ?? { format: { type: 'text' } },
    tool_choice: request.tool_choice ?? 'auto', tools: request.tools ?? [], top_p: request.top_p ?? null,
    truncation: 'disabled', user: request.user ?? null, metadata: request.metadata ?? {},
  };
}

function outcome(finishReason: string | null): { status: string; incomplete_details: unknown } {
  if (finishReason === 'length') return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } };
  if (finishReason === 'content_filter') return { status: 'incomplete', incomplete_details: { reason: 'content_filter' } };
  return { status: 'completed', incomplete_details: null };
}

function usage(input: number, output: number): Record<string, unknown> {
  return { input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + output };
}

function messageItem(id: string, text: string, status: string): Record<string, unknown> {
  return { id, type: 'message', status, role: 'assistant', content: [{ type: 'output_text', annotations: [], logprobs: [], text }] };
}

function functionCallItem(id: string, call: ToolCallOut, status: string): Record<string, unknown> {
  return { id, type: 'function_call', status, arguments: call.arguments, call_id: call.id, name: call.name };
}

type OpenItem =
  | { kind: 'message'; id: string; index: number; literals: string[] }
  | { kind: 'call'; id: string; index: number; call: ToolCallOut }
  | null;

/** Chat Completions stream events in, Responses stream events out. */
export class ResponsesStreamWriter extends EventStreamWriter {
  private sequence = 0;
  private item: OpenItem = null;
  private readonly done: unknown[] = [];
  /** Output index of each tool call (by its Chat Completions index), and the call so far. */
  private readonly calls = new Map<number, { index: number; call: ToolCallOut; id: string }>();
  private readonly base: Record<string, unknown>;

  constructor(deployment: string, request: Record<string, unknown>) {
    super();
    this.base = responseBase(deployment, request);
  }

  start(): string {
    const response = { ...this.base, status: 'in_progress', output: [], usage: null };
    this.emit('response.created', { response });
    this.emit('response.in_progress', { response });
    return this.take();
  }

  text(literal: string): void {
    if (this.item?.kind !== 'message') {
      this.closeItem();
      const item = { kind: 'message' as const, id: newId('msg'), index: this.done.length, literals: [] };
      this.item = item;
      this.emit('response.output_item.added', { output_index: item.index, item: { id: item.id, type: 'message', status: 'in_progress', role: 'assistant', content: [] } });
      this.emit('response.content_part.added', { item_id: item.id, output_index: item.index, content_index: 0, part: { type: 'output_text', annotations: [], logprobs: [], text: '' } });
    }
    const item = this.item as Extract<OpenItem, { kind: 'message' }>;
    item.literals.push(literal);
    this.out += `event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":${this.sequence++},"item_id":"${item.id}","output_index":${item.index},"content_index":0,"delta":${literal},"logprobs":[]}\n\n`;
  }

  toolCall(index: number, id: string | null, name: string | null, fragment: string): void {
    let entry = this.calls.get(index);
    if (!entry) {
      this.closeItem();
      entry = { index: this.done.length, id: newId('fc'), call: { id: id ?? newId('call'), name: name ?? '', arguments: '' } };
      this.calls.set(index, entry);
      this.item = { kind: 'call', id: entry.id, index: entry.index, call: entry.call };
      this.emit('response.output_item.added', { output_index: entry.index, item: functionCallItem(entry.id, entry.call, 'in_progress') });
    }
    if (fragment) {
      entry.call.arguments += fragment;
      this.emit('response.function_call_arguments.delta', { item_id: entry.id, output_index: entry.index, delta: fragment });
    }
  }

  end(): string {
    if (this.failed) return this.take();
    this.closeItem();
    const { status, incomplete_details } = outcome(this.finishReason);
    const response = { ...this.base, status, incomplete_details, output: this.done, usage: usage(this.inputTokens ?? 0, this.outputTokens ?? 0) };
    this.emit(status === 'completed' ? 'response.completed' : 'response.incomplete', { response });
    return this.take();
  }

  fail(message: string): string {
    this.emit('error', { code: 'upstream_error', message, param: null });
    this.emit('response.failed', { response: { ...this.base, status: 'failed', error: { code: 'server_error', message }, output: this.done, usage: null } });
    return this.take();
  }

  private closeItem(): void {
    const item = this.item;
    if (!item) return;
    this.item = null;
    if (item.kind === 'message') {
      const text = (JSON.parse(`[${item.literals.join(',')}]`) as string[]).join('');
      const part = { type: 'output_text', annotations: [], logprobs: [], text };
      this.emit('response.output_text.done', { item_id: item.id, output_index: item.index, content_index: 0, text, logprobs: [] });
      this.emit('response.content_part.done', { item_id: item.id, output_index: item.index, content_index: 0, part });
      const done = messageItem(item.id, text, 'completed');
      this.done.push(done);
      this.emit('response.output_item.done', { output_index: item.index, item: done });
    } else {
      const done = functionCallItem(item.id, item.call, 'completed');
      this.emit('response.function_call_arguments.done', { item_id: item.id, output_index: item.index, name: item.call.name, arguments: item.call.arguments });
      this.done.push(done);
      this.emit('response.output_item.done', { output_index: item.index, item: done });
    }
  }

  private emit(type: string, fields: Record<string, unknown>): void {
    this.out += sseEvent(type, JSON.stringify({ type, sequence_number: this.sequence++, ...fields }));
  }
}

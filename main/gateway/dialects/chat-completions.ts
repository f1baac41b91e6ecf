/**
 * The parts of OpenAI's Chat Completions API the translators write (requests) and read
 * (responses, stream chunks). Every upstream kind speaks this dialect, so it is the pivot:
 * Messages and Responses requests become Chat Completions requests, and Chat Completions
 * answers become Messages and Responses answers.
 */

export type ChatContentPart = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string; detail?: string } };

export interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string | ChatContentPart[] }
  | { role: 'assistant'; content: string | null; tool_calls?: ChatToolCall[] }
  | { role: 'tool'; tool_call_id: string; content: string };

export interface ChatTool {
  type: 'function';
  function: { name: string; description?: string; parameters?: unknown; strict?: boolean };
}

export type ChatToolChoice = 'auto' | 'none' | 'required' | { type: 'function'; function: { name: string } };

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  stream?: boolean;
  stream_options?: { include_usage: boolean };
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  stop?: string[];
  tools?: ChatTool[];
  tool_choice?: ChatToolChoice;
  parallel_tool_calls?: boolean;
  response_format?: unknown;
  reasoning_effort?: string;
  user?: string;
}

export interface ChatUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
}

export interface ChatCompletion {
  choices?: Array<{
    message?: { content?: string | null; tool_calls?: Array<{ id?: string; function?: { name?: string; arguments?: string } }> };
    finish_reason?: string | null;
  }>;
  usage?: ChatUsage;
}

/** A tool call as the translators hand it on, arguments as the model produced them. */
export interface ToolCallOut {
  id: string;
  name: string;
  arguments: string;
}

/** The reply of a non-streamed completion, in the terms both translators need. */
export interface ChatReply {
  text: string;
  toolCalls: ToolCallOut[];
  finishReason: string | null;
  usage: { input: number; output: number };
}

export function readCompletion(completion: ChatCompletion, newCallId: () => string): ChatReply {
  const choice = completion.choices?.[0];
  const message = choice?.message;
  return {
    text: typeof message?.content === 'string' ? message.content : '',
    toolCalls: (message?.tool_calls ?? []).map((call) => ({
      id: call.id || newCallId(),
      name: call.function?.name ?? '',
      arguments: call.function?.arguments ?? '',
    })),
    finishReason: choice?.finish_reason ?? null,
    usage: { input: completion.usage?.prompt_tokens ?? 0, output: completion.usage?.completion_tokens ?? 0 },
  };
}

/**
 * An error body from an upstream in whichever shape it used, as one line of text. `parse`
 * false takes the body as text (a body too large to parse safely).
 */
export function upstreamErrorMessage(body: string, parse = true): string {
  const parsed = parse ? parseError(body) : null;
  if (parsed) {
    const error = parsed.error;
    if (typeof error === 'string') return error;
    if (error && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') return (error as { message: string }).message;
    if (typeof parsed.message === 'string') return parsed.message;
    if (typeof parsed.detail === 'string') return parsed.detail;
  }
  return body.trim().slice(0, 500) || 'no details';
}

function parseError(body: string): { error?: unknown; message?: unknown; detail?: unknown } | null {
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null ? parsed : null;
  } catch {
    // not JSON: the text itself
    return null;
  }
}

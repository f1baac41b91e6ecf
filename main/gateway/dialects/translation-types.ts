import type { ChatReply, ChatRequest } from './chat-completions.js';
import type { ChatStreamSink } from './chat-stream-reader.js';

/**
 * What a dialect translator provides: its request turned into a Chat Completions request,
 * and the Chat Completions answer turned back into its own shape — whole, or as a stream of
 * its own events.
 */

/**
 * The most JSON values (objects, arrays, strings, numbers, literals at every depth) the
 * gateway parses to translate a request or an answer; more is refused before parsing. A
 * long agent conversation with its tool schemas holds a few thousand.
 */
export const MAX_TRANSLATED_VALUES = 100_000;

/** A request the translator cannot carry over; answered 400 in the client's dialect. */
export class TranslationError extends Error {}

export interface StreamWriter extends ChatStreamSink {
  /** True once the failure events were written: they are the stream's last. */
  readonly failed: boolean;
  /** Events that open the stream (sent with the response head). */
  start(): string;
  /** Events produced since the last call. */
  take(): string;
  /** Events that close the stream. */
  end(): string;
  /** Events that report a failure mid-stream and close it. */
  fail(message: string): string;
}

/** What every stream writer keeps the same way: pending output, finish reason, usage, failure. */
export abstract class EventStreamWriter implements StreamWriter {
  protected out = '';
  protected finishReason: string | null = null;
  protected inputTokens: number | null = null;
  protected outputTokens: number | null = null;
  failed = false;

  abstract start(): string;
  abstract text(literal: string): void;
  abstract toolCall(index: number, id: string | null, name: string | null, argumentsFragment: string): void;
  abstract end(): string;
  abstract fail(message: string): string;

  finish(reason: string): void {
    this.finishReason = reason;
  }

  usage(input: number | null, output: number | null): void {
    if (input !== null) this.inputTokens = input;
    if (output !== null) this.outputTokens = output;
  }

  error(message: string): void {
    if (this.failed) return;
    this.failed = true;
    this.out += this.fail(message);
  }

  take(): string {
    const out = this.out;
    this.out = '';
    return out;
  }
}

/** One request's translation, answered under the deployment's name. */
export interface Translation {
  /** The client's request as a Chat Completions request. */
  readonly chat: ChatRequest;
  /** A whole reply in the client's dialect. */
  reply(reply: ChatReply): unknown;
  stream(): StreamWriter;
}

/** Translates a parsed request body; throws TranslationError for what cannot be carried over. */
export type Translate = (body: unknown, deployment: string) => Translation;

/** A JSON-encoded SSE event with an `event:` name, as both translated dialects send them. */
export function sseEvent(name: string, json: string): string {
  return `event: ${name}\ndata: ${json}\n\n`;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

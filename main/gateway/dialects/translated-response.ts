import type { ResponseHead } from '../../../shared/tunnel-protocol.js';
import { newId } from '../secrets.js';
import { readCompletion, upstreamErrorMessage, type ChatCompletion, type ChatReply } from './chat-completions.js';
import { ChatStreamReader } from './chat-stream-reader.js';
import { errorBody, type ErrorDialect } from './dialect-errors.js';
import type { StreamWriter, Translation } from './translation-types.js';

/**
 * The gateway's side of a translated exchange: turns the upstream's Chat Completions
 * response, as it arrives from the tunnel, into the client's dialect.
 *
 * - A stream is translated event by event as chunks arrive (chat-stream-reader.ts).
 * - A whole answer is collected (bounded) and translated at its end.
 * - A streaming client that got a whole answer (some servers ignore `stream`) gets it as a
 *   stream of its own events, through the same writer.
 * - An upstream error (status 400 or more) becomes an error body in the client's dialect,
 *   with the upstream's message and the deployment's name.
 *
 * Its head replaces the upstream's headers entirely: content type only (the gateway frames
 * the body itself), so nothing of the upstream's own header set leaks through.
 */

/** The most of a whole answer or error body held for translation. */
const MAX_COLLECTED_BYTES = 32 * 1024 * 1024;

export interface ResponseTransform {
  head(response: ResponseHead): ResponseHead;
  /** What to send for `chunk` (may be empty). */
  data(chunk: Buffer): string | Buffer;
  /** What to send last. */
  end(): string | Buffer;
  /** What to send when the response fails midway (the connection then ends cleanly), or null to cut it. */
  fail(reason: string): string | null;
}

type Mode = { kind: 'stream'; reader: ChatStreamReader; started: boolean } | { kind: 'collect'; chunks: Buffer[]; bytes: number; error: boolean };

export class TranslatedResponse implements ResponseTransform {
  private mode: Mode | null = null;
  private status = 200;
  private readonly writer: StreamWriter | null;

  constructor(
    private readonly translation: Translation,
    private readonly deployment: string,
    private readonly dialect: ErrorDialect,
    private readonly requestId: string | null,
  ) {
    this.writer = translation.chat.stream ? translation.stream() : null;
  }

  head(response: ResponseHead): ResponseHead {
    this.status = response.status;
    const type = String(response.headers['content-type'] ?? '');
    if (response.status < 400 && this.writer && type.startsWith('text/event-stream')) {
      this.mode = { kind: 'stream', reader: new ChatStreamReader(this.writer), started: false };
    } else {
      this.mode = { kind: 'collect', chunks: [], bytes: 0, error: response.status >= 400 };
    }
    const streaming = this.writer !== null && response.status < 400;
    return {
      status: response.status,
      headers: streaming ? { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' } : { 'content-type': 'application/json' },
    };
  }

  data(chunk: Buffer): string | Buffer {
    const mode = this.mode;
    if (!mode) return '';
    if (mode.kind === 'stream') {
      const opening = this.begin(mode);
      mode.reader.push(chunk);
      return opening + this.writer!.take();
    }
    mode.bytes += chunk.length;
    if (mode.bytes <= MAX_COLLECTED_BYTES) mode.chunks.push(chunk);
    return '';
  }

  end(): string | Buffer {
    const mode = this.mode;
    if (!mode) return '';
    if (mode.kind === 'stream') {
      const opening = this.begin(mode);
      mode.reader.end();
      return opening + this.writer!.take() + this.writer!.end();
    }
    const text = Buffer.concat(mode.chunks).toString('utf8');
    if (mode.error || mode.bytes > MAX_COLLECTED_BYTES) {
      const message = mode.error ? `Deployment '${this.deployment}': ${upstreamErrorMessage(text)}` : `Deployment '${this.deployment}' answered more than ${MAX_COLLECTED_BYTES} bytes, too much to translate.`;
      return JSON.stringify(errorBody(this.dialect, this.status, message, 'upstream_error', 'upstream_error', this.requestId));
    }
    let reply: ChatReply;
    try {
      reply = readCompletion(JSON.parse(text) as ChatCompletion, () => newId('call'));
    } catch {
      const message = `Deployment '${this.deployment}' answered something that is not a Chat Completions response: ${text.slice(0, 200)}`;
      return this.writer ? this.writer.start() + this.writer.fail(message) : JSON.stringify(errorBody(this.dialect, 502, message, 'upstream_error', 'upstream_error', this.requestId));
    }
    if (!this.writer) return JSON.stringify(this.translation.reply(reply));
    // A whole answer to a streaming request: replayed through the writer as one burst.
    const writer = this.writer;
    let out = writer.start();
    if (reply.text) writer.text(JSON.stringify(reply.text));
    reply.toolCalls.forEach((call, index) => writer.toolCall(index, call.id, call.name, call.arguments));
    if (reply.finishReason) writer.finish(reply.finishReason);
    writer.usage(reply.usage.input, reply.usage.output);
    out += writer.take() + writer.end();
    return out;
  }

  fail(reason: string): string | null {
    if (this.mode?.kind !== 'stream' || !this.writer) return null;
    const opening = this.begin(this.mode);
    return opening + this.writer.take() + this.writer.fail(`Deployment '${this.deployment}': ${reason}`);
  }

  /** The stream's opening events, once. */
  private begin(mode: Extract<Mode, { kind: 'stream' }>): string {
    if (mode.started) return '';
    mode.started = true;
    return this.writer!.start();
  }
}

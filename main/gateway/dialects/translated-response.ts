import type { ResponseHead } from '../../../shared/tunnel-protocol.js';
import { HeldBody, type ByteBudget } from '../../http/held-body.js';
import { JsonModelScanner } from '../../http/json-model-scanner.js';
import { heldBodiesFull, type Refusal } from '../http-util.js';
import { newId } from '../secrets.js';
import { readCompletion, upstreamErrorMessage, type ChatCompletion, type ChatReply } from './chat-completions.js';
import { ChatStreamReader } from './chat-stream-reader.js';
import { errorBody, type ErrorDialect } from './dialect-errors.js';
import { MAX_TRANSLATED_VALUES, type StreamWriter, type Translation } from './translation-types.js';

/**
 * The gateway's side of a translated exchange: turns the upstream's Chat Completions
 * response, as it arrives from the tunnel, into the client's dialect.
 *
 * - A stream is translated event by event as chunks arrive (chat-stream-reader.ts).
 * - A whole answer is collected and translated at its end, and only then answered, status
 *   included: collected against the gateway-wide budget of held bytes, refused with a 502
 *   naming the deployment as soon as it passes {@link MAX_COLLECTED_BYTES}, and parsed only
 *   when the scan that counted its JSON values found no more than the translation limit —
 *   so a connector answering with 32 MB of empty objects costs the gateway 4 MB, not a GB.
 * - A streaming client that got a whole answer (some servers ignore `stream`) gets it as a
 *   stream of its own events, through the same writer.
 * - An upstream error (status 400 or more) becomes an error body in the client's dialect,
 *   with the upstream's message and the deployment's name.
 *
 * Its head replaces the upstream's headers entirely: content type only (the gateway frames
 * the body itself), so nothing of the upstream's own header set leaks through.
 */

/**
 * The most of a whole answer or error body collected to translate. A Chat Completions
 * answer is the model's text and tool calls: even 100,000 tokens of it are well under this.
 */
export const MAX_COLLECTED_BYTES = 4 * 1024 * 1024;

export interface ResponseTransform {
  /** The head to send now; null when the answer is collected and sent whole by {@link whole}. */
  head(response: ResponseHead): ResponseHead | null;
  /** What to send for `chunk` (may be empty). */
  data(chunk: Buffer): string | Buffer;
  /** Set once a collected answer cannot be translated: the exchange ends with this instead. */
  readonly refusal: Refusal | null;
  /**
   * True once a translated stream has failed (an error inside it, a line too long): its
   * failure events, just returned by data(), were its last, so the exchange ends there.
   */
  readonly ended: boolean;
  /** What to send last, after the head `head()` returned. */
  end(): string | Buffer;
  /** The whole answer, head and body, when `head()` held the head back. */
  whole(): { head: ResponseHead; body: string };
  /** What to send when the response fails midway (the connection then ends cleanly), or null to cut it. */
  fail(reason: string): string | null;
  /** Lets go of what it holds; called when the exchange is over, however it ended. */
  close(): void;
}

/** Who the answer is for, and the budget a collected answer is held against. */
export interface AnswerContext {
  deployment: string;
  dialect: ErrorDialect;
  requestId: string | null;
  budget: ByteBudget;
}

type Mode = { kind: 'stream'; reader: ChatStreamReader; started: boolean } | { kind: 'collect'; body: HeldBody; scanner: JsonModelScanner; error: boolean };

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };

export class TranslatedResponse implements ResponseTransform {
  refusal: Refusal | null = null;
  private mode: Mode | null = null;
  private status = 200;
  private readonly writer: StreamWriter | null;

  constructor(
    private readonly translation: Translation,
    private readonly context: AnswerContext,
  ) {
    this.writer = translation.chat.stream ? translation.stream() : null;
  }

  head(response: ResponseHead): ResponseHead | null {
    this.status = response.status;
    const type = String(response.headers['content-type'] ?? '');
    if (response.status < 400 && this.writer && type.startsWith('text/event-stream')) {
      this.mode = { kind: 'stream', reader: new ChatStreamReader(this.writer), started: false };
      return { status: response.status, headers: SSE_HEADERS };
    }
    this.mode = { kind: 'collect', body: new HeldBody(this.context.budget), scanner: new JsonModelScanner(), error: response.status >= 400 };
    return null;
  }

  data(chunk: Buffer): string | Buffer {
    const mode = this.mode;
    if (!mode) return '';
    if (mode.kind === 'stream') {
      const opening = this.begin(mode);
      mode.reader.push(chunk);
      return opening + this.writer!.take();
    }
    if (this.refusal) return '';
    if (mode.body.size + chunk.length > MAX_COLLECTED_BYTES) {
      this.refuse({
        status: 502, type: 'upstream_error', code: 'upstream_response_too_large', headers: {},
        message: `Deployment '${this.context.deployment}' answered more than ${MAX_COLLECTED_BYTES} bytes, more than the gateway collects to translate.`,
      });
    } else if (!mode.body.add(chunk)) {
      this.refuse(heldBodiesFull(this.context.budget.limit));
    } else {
      mode.scanner.push(chunk);
    }
    return '';
  }

  end(): string | Buffer {
    const mode = this.mode;
    if (mode?.kind !== 'stream') return '';
    const opening = this.begin(mode);
    mode.reader.end();
    return opening + this.writer!.take() + this.writer!.end();
  }

  whole(): { head: ResponseHead; body: string } {
    const mode = this.mode;
    const { deployment } = this.context;
    if (mode?.kind !== 'collect') return this.error(502, `Deployment '${deployment}' ended the response without a status.`);
    const scan = mode.scanner.finish();
    const text = mode.body.toBuffer().toString('utf8');
    this.close();
    // Parsed only when the scan found JSON of a size a parse may build.
    const parseable = scan.ok && scan.valueCount <= MAX_TRANSLATED_VALUES;
    if (mode.error) return this.error(this.status, `Deployment '${deployment}': ${upstreamErrorMessage(text, parseable)}`);
    const notChat = `Deployment '${deployment}' answered something that is not a Chat Completions response: ${text.slice(0, 200)}`;
    if (!parseable) {
      return this.error(502, scan.ok ? `Deployment '${deployment}' answered ${scan.valueCount} JSON values, more than the ${MAX_TRANSLATED_VALUES} the gateway translates.` : notChat);
    }
    let reply: ChatReply;
    try {
      reply = readCompletion(JSON.parse(text) as ChatCompletion, () => newId('call'));
    } catch {
      return this.error(502, notChat);
    }
    if (!this.writer) return { head: { status: this.status, headers: { 'content-type': 'application/json' } }, body: JSON.stringify(this.translation.reply(reply)) };
    // A whole answer to a streaming request: replayed through the writer as one burst.
    const writer = this.writer;
    let out = writer.start();
    if (reply.text) writer.text(JSON.stringify(reply.text));
    reply.toolCalls.forEach((call, index) => writer.toolCall(index, call.id, call.name, call.arguments));
    if (reply.finishReason) writer.finish(reply.finishReason);
    writer.usage(reply.usage.input, reply.usage.output);
    out += writer.take() + writer.end();
    return { head: { status: this.status, headers: SSE_HEADERS }, body: out };
  }

  get ended(): boolean {
    return this.mode?.kind === 'stream' && this.writer!.failed;
  }

  fail(reason: string): string | null {
    if (this.mode?.kind !== 'stream' || !this.writer) return null;
    const opening = this.begin(this.mode);
    return opening + this.writer.take() + this.writer.fail(`Deployment '${this.context.deployment}': ${reason}`);
  }

  close(): void {
    if (this.mode?.kind === 'collect') this.mode.body.release();
  }

  private refuse(refusal: Refusal): void {
    this.refusal = refusal;
    this.close();
  }

  /** An error answer in the client's dialect. */
  private error(status: number, message: string): { head: ResponseHead; body: string } {
    const { dialect, requestId } = this.context;
    return { head: { status, headers: { 'content-type': 'application/json' } }, body: JSON.stringify(errorBody(dialect, status, message, 'upstream_error', 'upstream_error', requestId)) };
  }

  /** The stream's opening events, once. */
  private begin(mode: Extract<Mode, { kind: 'stream' }>): string {
    if (mode.started) return '';
    mode.started = true;
    return this.writer!.start();
  }
}

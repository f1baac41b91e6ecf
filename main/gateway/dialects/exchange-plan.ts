import type { HelloPayload, RequestHead, UpstreamKind } from '../../../shared/tunnel-protocol.js';
import { assumedEndpoints } from '../../../shared/upstream-endpoints.js';
import type { ByteBudget, HeldBody } from '../../http/held-body.js';
import type { Refusal } from '../http-util.js';
import type { ErrorDialect } from './dialect-errors.js';
import { translateMessages } from './messages-translator.js';
import { showModel } from './model-catalog.js';
import { translateResponses } from './responses-translator.js';
import { TranslatedResponse, type ResponseTransform } from './translated-response.js';
import { MAX_TRANSLATED_VALUES, TranslationError, type Translate } from './translation-types.js';

/**
 * What the gateway does with a routed request once it knows which tunnel (and so which
 * kind of upstream) will serve it (docs/ARCHITECTURE.md §4):
 * - pass it through untouched when the upstream speaks the client's dialect (the default);
 * - translate it to Chat Completions and the answer back, for Messages and Responses
 *   clients of an upstream without those endpoints;
 * - answer it itself (`/api/show` for upstreams that are not Ollama);
 * - or refuse it with 501 naming the deployment, the upstream's kind and the path, rather
 *   than forwarding it to meet a bare 404.
 *
 * Decided per tunnel, not per deployment: during a swap the old and new connectors may sit
 * in front of different servers.
 *
 * A translation is the one place the gateway parses a request body into objects, so it is
 * bounded before it starts: the body's size and its count of JSON values (found by the same
 * scan that found `model`) must be under the limits below, and the memory the translation
 * will hold is taken from the gateway-wide budget of held bytes first. Parsing 32 MB of
 * empty objects built over 1 GB and stalled every tunnel; within these limits a translation
 * holds at most about 45 MB, and only while the budget has room for it.
 */

/** The largest request body translated (Messages or Responses over Chat Completions). */
export const MAX_TRANSLATED_BODY_BYTES = 8 * 1024 * 1024;
/** What a translation holds per body byte: the joined body, its text, the parsed strings, the body sent instead. */
const HELD_PER_BYTE = 4;
/**
 * …and per JSON value once parsed, measured with JSON.parse: an empty object costs about 64
 * bytes of heap, an object with a key of its own about 180 with its value (90 per value).
 */
const HELD_PER_VALUE = 128;

export type ExchangePlan =
  | { kind: 'pass' }
  | { kind: 'translate'; head: RequestHead; body: Buffer; transform: ResponseTransform }
  | { kind: 'answer'; body: unknown }
  | ({ kind: 'refuse' } & Refusal)
  /** The budget of held bytes has no room for the translation now. */
  | { kind: 'busy' };

/** A routed request's body, held against the gateway's budget, and what its scan counted. */
export interface PlanBody {
  held: HeldBody;
  /** JSON values in the body (json-model-scanner's `valueCount`). */
  values: number;
}

export interface PlanContext {
  hello: HelloPayload | null;
  /** When the serving tunnel connected (for `/api/show`'s modified_at). */
  connectedAt: number;
  requestId: string | null;
  /** The gateway-wide budget of held bytes: a translated answer is collected against it. */
  budget: ByteBudget;
}

const TRANSLATORS: Record<string, { translate: Translate; errors: ErrorDialect; name: string }> = {
  '/v1/messages': { translate: translateMessages, errors: 'anthropic', name: 'Messages' },
  '/v1/responses': { translate: translateResponses, errors: 'openai', name: 'Responses' },
};

/** Each kind with its article, as the messages say it: "runs on an Ollama upstream". */
const KIND_PHRASES: Record<UpstreamKind, string> = { ollama: 'an Ollama', llamacpp: 'a llama.cpp (llama-server)', openai: 'an OpenAI-compatible', unknown: 'an unidentified' };
const CHAT = '/v1/chat/completions';
const PASS: ExchangePlan = { kind: 'pass' };

/** Only a translation reads `body` whole; a pass-through never joins its chunks. */
export function planExchange(head: RequestHead, body: PlanBody, context: PlanContext): ExchangePlan {
  const { hello } = context;
  if (!hello) return PASS;
  const query = head.path.indexOf('?');
  const path = query === -1 ? head.path : head.path.slice(0, query);
  const served = assumedEndpoints(hello.upstreamKind, hello.endpoints);
  if (served === 'all' || served.has(path)) return PASS;
  const kind = KIND_PHRASES[hello.upstreamKind];

  const translator = TRANSLATORS[path];
  if (translator && served.has(CHAT)) return translate(head, body, translator, kind, context);
  if (path === '/api/show') {
    return { kind: 'answer', body: showModel({ name: head.deployment, upstreamKind: hello.upstreamKind, upstreamModel: hello.model, connectedSince: context.connectedAt }) };
  }
  const hint = path.startsWith('/api/') ? ' Use the OpenAI-compatible API (/v1/chat/completions, /v1/embeddings) with this deployment, or serve it from Ollama.' : '';
  return {
    kind: 'refuse', status: 501, type: 'not_implemented_error', code: 'endpoint_not_implemented',
    message: `Deployment '${head.deployment}' runs on ${kind} upstream, which does not implement ${head.method} ${path}.${hint}`,
    // Retrying cannot help: the SDKs that honour this header give up at once.
    headers: { 'x-should-retry': 'false' },
  };
}

function translate(head: RequestHead, body: PlanBody, translator: (typeof TRANSLATORS)[string], kind: string, context: PlanContext): ExchangePlan {
  const carried = `Deployment '${head.deployment}' runs on ${kind} upstream, so this ${translator.name} request is carried over Chat Completions`;
  const { held, values } = body;
  if (held.size > MAX_TRANSLATED_BODY_BYTES || values > MAX_TRANSLATED_VALUES) {
    return {
      kind: 'refuse', status: 413, type: 'invalid_request_error', code: 'request_too_large', headers: {},
      message: `${carried}, and the gateway translates requests of at most ${MAX_TRANSLATED_BODY_BYTES} bytes and ${MAX_TRANSLATED_VALUES} JSON values; this one has ${held.size} bytes and ${values} values. Send a shorter conversation, or serve this deployment from an upstream that speaks ${translator.name} itself.`,
    };
  }
  if (!held.holdExtra(HELD_PER_BYTE * held.size + HELD_PER_VALUE * values)) return { kind: 'busy' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(held.toBuffer().toString('utf8'));
  } catch (error) {
    return badRequest(`Request body is not valid JSON (${(error as Error).message}).`);
  }
  let translation;
  try {
    translation = translator.translate(parsed, head.deployment);
  } catch (error) {
    // Anything else is a bug: the data plane answers that one request 500.
    if (!(error instanceof TranslationError)) throw error;
    return badRequest(`${carried}, and ${error.message}.`);
  }
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  for (const name of ['user-agent', 'x-request-id']) if (head.headers[name] !== undefined) headers[name] = head.headers[name];
  return {
    kind: 'translate',
    head: { method: 'POST', path: CHAT, headers, deployment: head.deployment },
    body: Buffer.from(JSON.stringify(translation.chat)),
    transform: new TranslatedResponse(translation, { deployment: head.deployment, dialect: translator.errors, requestId: context.requestId, budget: context.budget }),
  };
}

function badRequest(message: string): ExchangePlan {
  return { kind: 'refuse', status: 400, message, type: 'invalid_request_error', code: 'invalid_request', headers: {} };
}

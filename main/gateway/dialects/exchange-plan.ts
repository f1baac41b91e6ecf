import type { HelloPayload, RequestHead, UpstreamKind } from '../../../shared/tunnel-protocol.js';
import { assumedEndpoints } from '../../../shared/upstream-endpoints.js';
import type { ErrorDialect } from './dialect-errors.js';
import { translateMessages } from './messages-translator.js';
import { showModel } from './model-catalog.js';
import { translateResponses } from './responses-translator.js';
import { TranslatedResponse, type ResponseTransform } from './translated-response.js';
import { TranslationError, type Translate } from './translation-types.js';

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
 */

export type ExchangePlan =
  | { kind: 'pass' }
  | { kind: 'translate'; head: RequestHead; body: Buffer; transform: ResponseTransform }
  | { kind: 'answer'; body: unknown }
  | { kind: 'refuse'; status: number; message: string; type: string; code: string; headers: Record<string, string> };

export interface PlanContext {
  hello: HelloPayload | null;
  /** When the serving tunnel connected (for `/api/show`'s modified_at). */
  connectedAt: number;
  requestId: string | null;
}

const TRANSLATORS: Record<string, { translate: Translate; errors: ErrorDialect; name: string }> = {
  '/v1/messages': { translate: translateMessages, errors: 'anthropic', name: 'Messages' },
  '/v1/responses': { translate: translateResponses, errors: 'openai', name: 'Responses' },
};

const KIND_NAMES: Record<UpstreamKind, string> = { ollama: 'Ollama', llamacpp: 'llama.cpp (llama-server)', openai: 'OpenAI-compatible', unknown: 'unidentified' };
const CHAT = '/v1/chat/completions';
const PASS: ExchangePlan = { kind: 'pass' };

/** `body` reads the request body whole; only a translation calls it. */
export function planExchange(head: RequestHead, body: () => Buffer, context: PlanContext): ExchangePlan {
  const { hello } = context;
  if (!hello) return PASS;
  const query = head.path.indexOf('?');
  const path = query === -1 ? head.path : head.path.slice(0, query);
  const served = assumedEndpoints(hello.upstreamKind, hello.endpoints);
  if (served === 'all' || served.has(path)) return PASS;
  const kind = KIND_NAMES[hello.upstreamKind];

  const translator = TRANSLATORS[path];
  if (translator && served.has(CHAT)) return translate(head, body, translator, kind, context.requestId);
  if (path === '/api/show') {
    return { kind: 'answer', body: showModel({ name: head.deployment, upstreamKind: hello.upstreamKind, upstreamModel: hello.model, connectedSince: context.connectedAt }) };
  }
  const hint = path.startsWith('/api/') ? ' Use the OpenAI-compatible API (/v1/chat/completions, /v1/embeddings) with this deployment, or serve it from Ollama.' : '';
  return {
    kind: 'refuse', status: 501, type: 'not_implemented_error', code: 'endpoint_not_implemented',
    message: `Deployment '${head.deployment}' runs on a ${kind} upstream, which does not implement ${head.method} ${path}.${hint}`,
    // Retrying cannot help: the SDKs that honour this header give up at once.
    headers: { 'x-should-retry': 'false' },
  };
}

function translate(head: RequestHead, body: () => Buffer, translator: (typeof TRANSLATORS)[string], kind: string, requestId: string | null): ExchangePlan {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body().toString('utf8'));
  } catch (error) {
    return badRequest(`Request body is not valid JSON (${(error as Error).message}).`);
  }
  let translation;
  try {
    translation = translator.translate(parsed, head.deployment);
  } catch (error) {
    if (!(error instanceof TranslationError)) throw error;
    return badRequest(`Deployment '${head.deployment}' runs on a ${kind} upstream, so this ${translator.name} request is carried over Chat Completions, and ${error.message}.`);
  }
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  for (const name of ['user-agent', 'x-request-id']) if (head.headers[name] !== undefined) headers[name] = head.headers[name];
  return {
    kind: 'translate',
    head: { method: 'POST', path: CHAT, headers, deployment: head.deployment },
    body: Buffer.from(JSON.stringify(translation.chat)),
    transform: new TranslatedResponse(translation, head.deployment, translator.errors, requestId),
  };
}

function badRequest(message: string): ExchangePlan {
  return { kind: 'refuse', status: 400, message, type: 'invalid_request_error', code: 'invalid_request', headers: {} };
}

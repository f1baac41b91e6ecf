import type { UpstreamKind } from './tunnel-protocol.js';

/**
 * Which routed inference endpoints each kind of upstream answers itself, so the gateway
 * knows when to pass a request through, when to translate it to Chat Completions, and when
 * to say the upstream does not implement it (docs/ARCHITECTURE.md §4).
 *
 * Every kind answers Chat Completions, (legacy) Completions and Embeddings. Ollama also
 * answers its native API. The Anthropic Messages and OpenAI Responses endpoints depend on
 * the server's version — Ollama serves `/v1/responses` from 0.13.3 and `/v1/messages` from
 * 0.14; llama.cpp's `llama-server` serves `/v1/messages` from late-2025 builds and
 * `/v1/responses` from early-2026 builds — so the connector probes for those (and
 * Anthropic's token counting next to Messages; {@link PROBED_ENDPOINTS}) and reports what it
 * found in its Hello.
 */

/** Endpoints whose presence depends on the upstream's version: the connector probes them. */
export const PROBED_ENDPOINTS = ['/v1/messages', '/v1/messages/count_tokens', '/v1/responses'] as const;

const OPENAI_COMPATIBLE = ['/v1/chat/completions', '/v1/completions', '/v1/embeddings'];
const OLLAMA_NATIVE = ['/api/chat', '/api/generate', '/api/embed', '/api/show'];

/** What an upstream of `kind` answers, given the probed endpoints it was found to serve. */
export function upstreamEndpoints(kind: UpstreamKind, probed: readonly string[]): string[] {
  const base = kind === 'ollama' ? [...OPENAI_COMPATIBLE, ...OLLAMA_NATIVE] : OPENAI_COMPATIBLE;
  return [...base, ...probed.filter((path) => (PROBED_ENDPOINTS as readonly string[]).includes(path))];
}

/**
 * The endpoints to assume for a connector that did not report any (one older than this
 * file). An upstream of unknown kind gets every request passed through, as before: the
 * gateway cannot tell what it lacks, and the upstream's own answer is the best there is.
 */
export function assumedEndpoints(kind: UpstreamKind, reported: readonly string[] | undefined): ReadonlySet<string> | 'all' {
  if (kind === 'unknown') return 'all';
  if (reported) return new Set(reported);
  // Older connectors forward only what their allowlist had: no /api/show, no probing.
  return new Set(upstreamEndpoints(kind, []).filter((path) => path !== '/api/show'));
}

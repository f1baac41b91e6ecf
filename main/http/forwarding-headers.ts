/**
 * The one list of headers that never cross a hop of ours, used by the gateway's data plane
 * (client → tunnel, tunnel → client) and by the connector (tunnel → upstream, upstream →
 * tunnel). Every check lower-cases the name first: HTTP header names are case-insensitive,
 * and a peer that sends `Authorization` instead of `authorization` must meet the same wall.
 */

/** Hop-by-hop headers (RFC 9110 §7.6.1) and framing a proxy always sets itself. */
const HOP_BY_HOP = [
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'http2-settings', 'host', 'content-length', 'expect',
] as const;

/** The caller's credentials: they are for the gateway, never for the upstream. */
const CREDENTIALS = ['authorization', 'x-api-key', 'api-key', 'cookie', 'openai-organization', 'openai-project'] as const;

/** Claims about the client's address that only a proxy we run could make truthfully. */
const FORWARDING = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'x-real-ip'] as const;

const REQUEST_DROP: ReadonlySet<string> = new Set<string>([...HOP_BY_HOP, ...CREDENTIALS, ...FORWARDING]);

/** Response headers that describe one hop's connection, or set state in the client's browser. */
const RESPONSE_DROP: ReadonlySet<string> = new Set<string>([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings', 'set-cookie',
]);

/** Whether a request header (any case) must not be passed on towards the upstream. */
export function isDroppedRequestHeader(name: string): boolean {
  return REQUEST_DROP.has(name.toLowerCase());
}

/** Whether a response header (any case) must not be passed on towards the client. */
export function isDroppedResponseHeader(name: string): boolean {
  return RESPONSE_DROP.has(name.toLowerCase());
}

/**
 * Header names a `Connection` header nominates as hop-by-hop for this request
 * (`Connection: close, x-secret` makes `x-secret` one), lower-cased.
 */
export function connectionNominated(value: string | undefined): string[] {
  // What nearly every client sends, answered without allocating.
  if (!value || value === 'keep-alive' || value === 'close' || value === 'Keep-Alive') return [];
  return value.split(',').map((token) => token.trim().toLowerCase()).filter((token) => token !== '');
}

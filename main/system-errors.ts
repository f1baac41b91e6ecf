/**
 * The one map from Node's system error codes (errno names, and undici's connect errors) to
 * words a user understands. Call sites say what they were doing to what; this says why it
 * failed: "cannot reach the gateway at http://…: connection refused".
 */

const PHRASES: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'it is a folder',
  ENOTDIR: 'a part of the path is not a folder',
  EMFILE: 'too many open files',
  ENOSPC: 'no space left on the device',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'the connection was reset',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved right now',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  ETIMEDOUT: 'timed out',
  TimeoutError: 'timed out',
  AbortError: 'timed out',
  UND_ERR_CONNECT_TIMEOUT: 'timed out while connecting',
  UND_ERR_SOCKET: 'the connection failed',
  EADDRINUSE: 'the address is already in use',
  EADDRNOTAVAIL: "the address is not one of this machine's",
  EEXIST: 'a file of that name is already there',
  // An https:// URL for a server that speaks plain HTTP.
  ERR_SSL_WRONG_VERSION_NUMBER: 'the TLS handshake failed (does the server speak plain http://?)',
  EPROTO: 'the TLS handshake failed (does the server speak plain http://?)',
};

/** The error's system code, if it carries one (directly or as its `cause`, as fetch's do). */
export function systemErrorCode(error: unknown): string | null {
  const direct = (error as { code?: unknown } | null)?.code;
  if (typeof direct === 'string') return direct;
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  return typeof cause === 'string' ? cause : null;
}

/** Why it failed, in words: the phrase for a known code, else the error's own message. */
export function describeSystemError(error: unknown): string {
  const code = systemErrorCode(error);
  const phrase = code ? PHRASES[code] : undefined;
  if (phrase) return phrase;
  if (error instanceof Error && error.message) return error.message;
  return code ?? String(error);
}

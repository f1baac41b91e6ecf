/**
 * Formats the gateway accepts for deployment names, tunnel tokens and API keys. Shared so
 * the UI validates exactly what the gateway will.
 */

/** Deployment names are what clients put in `model`: `gemma-tunnel`, `qwen2.5:7b`. */
export const DEPLOYMENT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

export const TUNNEL_TOKEN_PREFIX = 'tt-';
export const API_KEY_PREFIX = 'sk-tokios-';

/** The shortest body (after the prefix) accepted as a token or key; minted ones have 43 characters. */
export const MIN_SECRET_BODY_CHARS = 20;

/** Tokens and keys minted here: prefix + 43 base64url characters (256 random bits). */
const SECRET_BODY = new RegExp(`^[A-Za-z0-9_-]{${MIN_SECRET_BODY_CHARS},200}$`);

/** Why `name` is not a valid deployment name, or null when it is. */
export function deploymentNameProblem(name: unknown): string | null {
  if (typeof name !== 'string' || name.length === 0) return 'must be a non-empty string';
  if (name.length > 64) return `must be at most 64 characters, got ${name.length}`;
  if (!DEPLOYMENT_NAME_PATTERN.test(name)) {
    return `must start with a letter or digit and use only letters, digits, '.', '_', ':' or '-', got '${name}'`;
  }
  return null;
}

/**
 * A typed name as it will be saved: surrounding spaces dropped, inner runs of spaces (and
 * slashes, which model names from some servers have) become '-'. Whatever else is wrong
 * stays for deploymentNameProblem to name; nothing is dropped silently.
 */
export function normalizeDeploymentName(raw: string): string {
  return raw.trim().replace(/[\s/]+/g, '-');
}

/**
 * Why `token` is not a tunnel token, or null when it is. Never echoes the value: a token
 * that is almost right is still a secret.
 */
export function tunnelTokenProblem(token: unknown): string | null {
  if (typeof token !== 'string' || token.length === 0) return 'must be a non-empty string';
  if (/\s/.test(token)) return 'must not contain spaces or line breaks (was it pasted with extra text?)';
  if (!token.startsWith(TUNNEL_TOKEN_PREFIX)) {
    if (token.startsWith(API_KEY_PREFIX)) return `looks like an API key (sk-tokios-…), not a tunnel token (tt-…)`;
    return `must start with '${TUNNEL_TOKEN_PREFIX}' (tunnel tokens look like tt-…)`;
  }
  if (!SECRET_BODY.test(token.slice(TUNNEL_TOKEN_PREFIX.length))) return 'is not a complete tunnel token (tt- followed by 43 characters)';
  return null;
}

export function apiKeyProblem(key: unknown): string | null {
  if (typeof key !== 'string' || !key.startsWith(API_KEY_PREFIX)) return `must start with '${API_KEY_PREFIX}'`;
  if (!SECRET_BODY.test(key.slice(API_KEY_PREFIX.length))) return 'is not a complete API key';
  return null;
}

/** `tt-Ab12…wXyz`: enough to tell two tokens apart, not enough to use one. */
export function maskSecret(secret: string): string {
  const prefix = secret.startsWith(API_KEY_PREFIX) ? API_KEY_PREFIX : secret.startsWith(TUNNEL_TOKEN_PREFIX) ? TUNNEL_TOKEN_PREFIX : '';
  const body = secret.slice(prefix.length);
  if (body.length < 12) return `${prefix}…`;
  return `${prefix}${body.slice(0, 4)}…${body.slice(-4)}`;
}

import { ConfigError } from './errors.js';
import { deploymentNameProblem, tunnelTokenProblem } from './names.js';

/**
 * A `tokios.json`: everything one connector needs. The minimal form
 * `{"tunnel_token": "...", "upstream": "http://localhost:11434"}` is always valid.
 */
export interface TokiosConfig {
  /** The tunnel token the gateway minted (`tt-…`). A secret. */
  tunnel_token: string;
  /** Base URL of the local model server, e.g. `http://localhost:11434`. */
  upstream: string;
  /** Deployment name clients use as `model`; informational for the connector. */
  name?: string;
  /** The upstream's model name that requests are rewritten to (else its only model). */
  model?: string;
  /** Gateway base URL; `--gateway` and `TOKIOS_GATEWAY` are the alternatives. */
  gateway?: string;
}

export const TOKIOS_CONFIG_FIELDS = ['tunnel_token', 'upstream', 'name', 'model', 'gateway'] as const;

/** Parses and validates a `tokios.json` text; errors name `file` and the field. */
export function parseTokiosConfig(text: string, file: string): TokiosConfig {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new ConfigError(file, null, `is not valid JSON (${detail}); expected {"tunnel_token": "tt-…", "upstream": "http://localhost:11434"}`);
  }
  return validateTokiosConfig(value, file);
}

/**
 * Checks a parsed `tokios.json`. Hand-written rather than a schema: each field's message is
 * part of the product (it names the file, the field and the fix, and never the token).
 */
export function validateTokiosConfig(value: unknown, file: string): TokiosConfig {
  if (!isPlainObject(value)) {
    throw new ConfigError(file, null, 'must be a JSON object like {"tunnel_token": "tt-…", "upstream": "http://localhost:11434"}');
  }
  const record = value;
  for (const key of Object.keys(record)) {
    if (!(TOKIOS_CONFIG_FIELDS as readonly string[]).includes(key)) {
      throw new ConfigError(file, key, `is not a known field; known fields are ${TOKIOS_CONFIG_FIELDS.join(', ')}`);
    }
  }

  const token = record.tunnel_token;
  if (token === undefined) throw new ConfigError(file, 'tunnel_token', 'is missing; paste the tunnel token (tt-…) the gateway gave you');
  const tokenProblem = tunnelTokenProblem(token);
  if (tokenProblem || typeof token !== 'string') throw new ConfigError(file, 'tunnel_token', tokenProblem ?? 'must be a string');

  if (record.upstream === undefined) throw new ConfigError(file, 'upstream', "is missing; set it to your model server's URL, e.g. http://localhost:11434");
  const upstream = normalizeUpstreamUrl(record.upstream, (problem) => new ConfigError(file, 'upstream', problem));

  const config: TokiosConfig = { tunnel_token: token, upstream };

  const name = record.name;
  if (name !== undefined) {
    const problem = deploymentNameProblem(name);
    if (problem || typeof name !== 'string') throw new ConfigError(file, 'name', problem ?? 'must be a string');
    config.name = name;
  }
  if (record.model !== undefined) {
    if (typeof record.model !== 'string' || record.model.trim() === '' || record.model.length > 256) {
      throw new ConfigError(file, 'model', "must be the upstream's model name as a non-empty string, e.g. \"gemma3:4b\"");
    }
    config.model = record.model;
  }
  if (record.gateway !== undefined) {
    config.gateway = normalizeGatewayUrl(record.gateway, (problem) => new ConfigError(file, 'gateway', problem));
  }
  return config;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `http://localhost:11434/` → `http://localhost:11434`; rejects paths, credentials and other schemes. */
export function normalizeUpstreamUrl(value: unknown, fail: (problem: string) => Error): string {
  const url = parseUrl(value, ['http:', 'https:'], 'an http(s) URL like http://localhost:11434', fail);
  if (url.username || url.password) throw fail('must not contain a user name or password');
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw fail(`must be the server's base URL without a path, e.g. ${url.origin}, got '${value}'`);
  }
  return url.origin;
}

/**
 * What a person types for a model server, made into its base URL: `localhost:8080` and
 * `127.0.0.1:11434` get `http://`, and an OpenAI-style `/v1` base (what other apps ask
 * for) loses its `/v1`. For input fields only: a tokios.json is checked strictly.
 */
export function upstreamFromInput(value: string, fail: (problem: string) => Error): string {
  let text = value.trim();
  if (text !== '' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) text = `http://${text.replace(/^\/+/, '')}`;
  text = text.replace(/\/v1\/?$/, '');
  return normalizeUpstreamUrl(text, fail);
}

/** Gateway base URL: http(s) or ws(s), no query; returned without a trailing slash. */
export function normalizeGatewayUrl(value: unknown, fail: (problem: string) => Error): string {
  const url = parseUrl(value, ['http:', 'https:', 'ws:', 'wss:'], 'a URL like https://gateway.example.com', fail);
  if (url.username || url.password || url.search || url.hash) throw fail('must not contain credentials, a query or a fragment');
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * What to say when a gateway answered 404 to a call: people often give the API's URL
 * (`…/v1`, what clients use) where the gateway's base URL is wanted.
 */
export function gatewayBaseUrlHint(gatewayUrl: string): string {
  const trimmed = gatewayUrl.replace(/\/+$/, '');
  if (/\/v1$/i.test(trimmed)) return `give the gateway's base URL without /v1 (${trimmed.slice(0, -3)})`;
  return `is ${trimmed} the base URL of a tokios gateway?`;
}

function parseUrl(value: unknown, schemes: string[], expected: string, fail: (problem: string) => Error): URL {
  if (typeof value !== 'string') throw fail(`must be ${expected}`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw fail(`must be ${expected}, got '${value}'`);
  }
  if (!schemes.includes(url.protocol)) throw fail(`must be ${expected}, got '${value}'`);
  return url;
}

/** The text of a `tokios.json` as written by export: stable field order, 2-space indent. */
export function serializeTokiosConfig(config: TokiosConfig): string {
  const ordered: Record<string, string> = {};
  for (const field of TOKIOS_CONFIG_FIELDS) {
    const value = config[field];
    if (value !== undefined) ordered[field] = value;
  }
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

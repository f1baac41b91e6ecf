import { validateHeaderValue } from 'node:http';
import { MAX_HEAD_HEADERS, MAX_REQUEST_TARGET, type HelloPayload, type RequestHead, type ResponseHead, type SettingsPayload, type StatusPayload, type TunnelLimits, type UpstreamKind } from '../../shared/tunnel-protocol.js';
import { FrameError, StreamError } from './frame-codec.js';

/**
 * Strict checks for the JSON payloads of control and head frames. Whatever the peer
 * sends, the result is either a well-formed value or an error saying what is wrong:
 * a FrameError for the tunnel's own handshake (hello, settings: the tunnel closes), a
 * StreamError for one request's or response's head (that stream is reset, the others
 * carry on). Header names and values follow Node's own rules, so a head that passes here
 * never makes `writeHead` or an HTTP client throw later.
 */

type Fail = new (message: string) => Error;

function parseObject(payload: Buffer, what: string, maxBytes: number, Fail: Fail): Record<string, unknown> {
  if (payload.length > maxBytes) throw new Fail(`${what} of ${payload.length} bytes exceeds the ${maxBytes}-byte limit`);
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new Fail(`${what} is not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Fail(`${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What an HTTP client accepts in a request target (undici's rule): no controls, no spaces, nothing above U+00FF. */
const PATH = /^\/[\u0021-\u00ff]*$/;

/** True when Node would accept `value` as a header value (`http.validateHeaderValue`). */
function validHeaderValue(name: string, value: string): boolean {
  try {
    validateHeaderValue(name, value);
    return true;
  } catch {
    return false;
  }
}

function headers(value: unknown, what: string, allowArrays: boolean): Record<string, string | string[]> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new StreamError(`${what}.headers is not an object`);
  const out: Record<string, string | string[]> = {};
  let count = 0;
  for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
    if (++count > MAX_HEAD_HEADERS) throw new StreamError(`${what} has more than ${MAX_HEAD_HEADERS} headers`);
    // Node's validateHeaderName is this same token rule; a regex avoids a throw per header.
    if (!TOKEN.test(name)) throw new StreamError(`${what} has an invalid header name`);
    if (typeof v === 'string') {
      if (!validHeaderValue(name, v)) throw new StreamError(`${what} header ${name} has a character HTTP does not allow`);
      out[name] = v;
    } else if (allowArrays && Array.isArray(v) && v.every((item) => typeof item === 'string')) {
      if (!v.every((item: string) => validHeaderValue(name, item))) throw new StreamError(`${what} header ${name} has a character HTTP does not allow`);
      out[name] = v as string[];
    } else {
      throw new StreamError(`${what} header ${name} is not a string`);
    }
  }
  return out;
}

export function parseRequestHead(payload: Buffer, maxBytes: number): RequestHead {
  const value = parseObject(payload, 'request head', maxBytes, StreamError);
  const { method, path, deployment } = value;
  if (typeof method !== 'string' || !TOKEN.test(method) || method.length > 16) throw new StreamError('request head has an invalid method');
  if (typeof path !== 'string' || path.length > MAX_REQUEST_TARGET) throw new StreamError(`request head has a path longer than ${MAX_REQUEST_TARGET} characters`);
  if (!PATH.test(path)) throw new StreamError('request head has an invalid path');
  if (typeof deployment !== 'string' || deployment.length > 256) throw new StreamError('request head has an invalid deployment');
  const head: RequestHead = { method, path, deployment, headers: headers(value.headers, 'request head', false) as Record<string, string> };
  if (value.tunnel !== undefined) {
    if (typeof value.tunnel !== 'string' || value.tunnel.length > 64) throw new StreamError('request head has an invalid tunnel');
    head.tunnel = value.tunnel;
  }
  if (value.account !== undefined) {
    if (typeof value.account !== 'string' || value.account.length > 64) throw new StreamError('request head has an invalid account');
    head.account = value.account;
  }
  return head;
}

export function parseResponseHead(payload: Buffer, maxBytes: number): ResponseHead {
  const value = parseObject(payload, 'response head', maxBytes, StreamError);
  const status = value.status;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) throw new StreamError('response head has an invalid status');
  return { status, headers: headers(value.headers, 'response head', true) };
}

function positiveInt(value: unknown, what: string, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) throw new FrameError(`${what} must be an integer from 1 to ${max}`);
  return value;
}

export function parseLimits(value: unknown, what: string): TunnelLimits {
  if (typeof value !== 'object' || value === null) throw new FrameError(`${what}.limits is not an object`);
  const v = value as Record<string, unknown>;
  return {
    maxConcurrentStreams: positiveInt(v.maxConcurrentStreams, `${what}.limits.maxConcurrentStreams`, 1 << 20),
    maxHeaderBytes: positiveInt(v.maxHeaderBytes, `${what}.limits.maxHeaderBytes`, 1 << 20),
    streamWindow: positiveInt(v.streamWindow, `${what}.limits.streamWindow`, 0x7fffffff),
    connectionWindow: positiveInt(v.connectionWindow, `${what}.limits.connectionWindow`, 0x7fffffff),
  };
}

const KINDS: ReadonlySet<string> = new Set<UpstreamKind>(['ollama', 'llamacpp', 'openai', 'unknown']);

export function parseHello(payload: Buffer): HelloPayload {
  const value = parseObject(payload, 'hello', 256 * 1024, FrameError);
  const { version, upstreamKind, models, model } = value;
  if (typeof version !== 'string' || version.length > 64) throw new FrameError('hello has an invalid version');
  if (typeof upstreamKind !== 'string' || !KINDS.has(upstreamKind)) throw new FrameError('hello has an invalid upstreamKind');
  if (!Array.isArray(models) || models.length > 1000 || !models.every((m) => typeof m === 'string' && m.length <= 256)) {
    throw new FrameError('hello has an invalid models list');
  }
  if (model !== null && (typeof model !== 'string' || model.length > 256)) throw new FrameError('hello has an invalid model');
  const hello: HelloPayload = { version, upstreamKind: upstreamKind as UpstreamKind, models: models as string[], model: model as string | null, limits: parseLimits(value.limits, 'hello') };
  const endpoints = value.endpoints;
  if (endpoints !== undefined) {
    if (!Array.isArray(endpoints) || endpoints.length > 64 || !endpoints.every((e) => typeof e === 'string' && e.length <= 128)) {
      throw new FrameError('hello has an invalid endpoints list');
    }
    hello.endpoints = endpoints as string[];
  }
  return hello;
}

export function parseSettings(payload: Buffer): SettingsPayload {
  const value = parseObject(payload, 'settings', 64 * 1024, FrameError);
  const { deployment, serving, heartbeatMs, tunnelId } = value;
  if (deployment !== null && (typeof deployment !== 'string' || deployment.length > 256)) throw new FrameError('settings has an invalid deployment');
  if (typeof serving !== 'boolean') throw new FrameError('settings has an invalid serving flag');
  if (typeof tunnelId !== 'string' || tunnelId.length > 64) throw new FrameError('settings has an invalid tunnelId');
  const settings: SettingsPayload = {
    deployment: deployment as string | null,
    serving,
    heartbeatMs: positiveInt(heartbeatMs, 'settings.heartbeatMs', 3_600_000),
    tunnelId,
    limits: parseLimits(value.limits, 'settings'),
  };
  const accepts = value.accepts;
  if (accepts !== undefined) {
    if (!Array.isArray(accepts) || accepts.length > 32 || !accepts.every((a) => typeof a === 'string' && a.length <= 32)) throw new FrameError('settings has an invalid accepts list');
    settings.accepts = accepts as string[];
  }
  return settings;
}

export function parseStatus(payload: Buffer): StatusPayload {
  const value = parseObject(payload, 'status', 4096, FrameError);
  if (value.upstream !== 'up' && value.upstream !== 'down') throw new FrameError('status has an invalid upstream');
  return { upstream: value.upstream };
}

import type { ApiArgs, ApiMethod, DeploymentInput } from './api.js';
import { TokiosError } from './errors.js';

/**
 * Argument checks for every API method. Both transports run them before the core sees a
 * call, so a compromised or buggy renderer cannot hand the core anything unexpected.
 */

type Check<T> = (value: unknown, path: string) => T;

function fail(path: string, problem: string): never {
  throw new TokiosError('INVALID_ARGUMENT', `${path} ${problem}`);
}

const none: Check<void> = (value, path) => {
  if (value !== undefined && value !== null) fail(path, 'takes no argument');
};

function string(maxLength = 2048): Check<string> {
  return (value, path) => {
    if (typeof value !== 'string') fail(path, 'must be a string');
    if (value.length > maxLength) fail(path, `must be at most ${maxLength} characters`);
    return value;
  };
}

const boolean: Check<boolean> = (value, path) => {
  if (typeof value !== 'boolean') fail(path, 'must be true or false');
  return value;
};

function nullable<T>(check: Check<T>): Check<T | null> {
  return (value, path) => (value === null ? null : check(value, path));
}

type Shape = Record<string, { check: Check<unknown>; optional?: boolean }>;

function object<T>(shape: Shape): Check<T> {
  return (value, path) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'must be an object');
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) if (!(key in shape)) fail(`${path}.${key}`, 'is not a known field');
    const out: Record<string, unknown> = {};
    for (const [key, { check, optional }] of Object.entries(shape)) {
      if (record[key] === undefined) {
        if (!optional) fail(`${path}.${key}`, 'is required');
        continue;
      }
      out[key] = check(record[key], `${path}.${key}`);
    }
    return out as T;
  };
}

const req = (check: Check<unknown>) => ({ check });
const opt = (check: Check<unknown>) => ({ check, optional: true });

const id = string(64);
const byId = object<{ id: string }>({ id: req(id) });
const inputShape: Shape = {
  name: req(string(64)),
  upstream: req(string(2048)),
  model: opt(nullable(string(256))),
  token: opt(nullable(string(512))),
  enabled: opt(boolean),
  replace: opt(boolean),
};
const partialInput = object<Partial<DeploymentInput>>(Object.fromEntries(Object.entries(inputShape).map(([k, v]) => [k, { check: v.check, optional: true }])));

export const API_VALIDATORS: { [M in ApiMethod]: Check<ApiArgs<M>> } = {
  'app.info': none,
  'gateway.info': none,
  'gateway.revealApiKey': none,
  'gateway.useRemote': object({ url: req(string(2048)), apiKey: req(nullable(string(512))) }),
  'gateway.useEmbedded': none,
  'deployments.list': none,
  'deployments.checkName': object({ name: req(string(256)), excludeId: opt(id) }),
  'deployments.create': object(inputShape),
  'deployments.update': object({ id: req(id), changes: req(partialInput) }),
  'deployments.remove': byId,
  'deployments.start': byId,
  'deployments.stop': byId,
  'deployments.retry': byId,
  'deployments.startAll': none,
  'deployments.stopAll': none,
  'deployments.requests': byId,
  'deployments.history': byId,
  'deployments.export': object({ id: req(id), path: opt(string(4096)) }),
  'deployments.import': object({ text: req(string(64 * 1024)), fileName: req(string(512)), replace: opt(boolean) }),
  'detect.list': none,
  'detect.rescan': none,
  'detect.addEndpoint': object({ url: req(string(2048)) }),
  'detect.createDeployment': object({ url: req(string(2048)), name: opt(string(64)), model: opt(nullable(string(256))), token: opt(nullable(string(512))), replace: opt(boolean) }),
  'test.chat': object({ deployment: req(string(64)), prompt: req(string(16 * 1024)) }),
};

export function isApiMethod(method: unknown): method is ApiMethod {
  return typeof method === 'string' && Object.prototype.hasOwnProperty.call(API_VALIDATORS, method);
}

/** Checks `args` for `method`; throws INVALID_ARGUMENT naming the method and field. */
export function validateApiArgs<M extends ApiMethod>(method: M, args: unknown): ApiArgs<M> {
  return API_VALIDATORS[method](args, method);
}

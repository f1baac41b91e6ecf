import * as v from 'valibot';
import type { ApiArgs, ApiMethod } from './api.js';
import { TokiosError } from './errors.js';

/**
 * Argument checks for every API method, as schemas whose inferred types the compiler holds
 * against shared/api.ts (API_SCHEMAS is typed by ApiArgs: a schema that lets through less
 * or other than its method's arguments does not compile). Both transports run them before
 * the core sees a call, so a compromised or buggy renderer cannot hand the core anything
 * unexpected. Errors name the method and the field: "deployments.start.id must be a string".
 */

/** The message for an object's own problems: an unknown field, a missing one, or not an object at all. */
const objectProblem = (issue: v.StrictObjectIssue): string =>
  issue.expected === 'never' ? 'is not a known field' : issue.path ? 'is required' : 'must be an object';

const object = <const E extends v.ObjectEntries>(entries: E) => v.strictObject(entries, objectProblem);
const string = (maxLength = 2048) => v.pipe(v.string('must be a string'), v.maxLength(maxLength, `must be at most ${maxLength} characters`));
const boolean = v.boolean('must be true or false');
const none = v.pipe(v.nullish(v.never('takes no argument'), undefined), v.transform((): void => undefined));

const id = string(64);
const byId = object({ id });
const input = {
  name: string(64),
  upstream: string(2048),
  model: v.optional(v.nullable(string(256))),
  token: v.optional(v.nullable(string(512))),
  enabled: v.optional(boolean),
  replace: v.optional(boolean),
};

type Schemas = { readonly [M in ApiMethod]: v.GenericSchema<unknown, ApiArgs<M>> };

export const API_SCHEMAS: Schemas = {
  'app.info': none,
  'gateway.info': none,
  'gateway.revealApiKey': none,
  'gateway.useRemote': object({ url: string(2048), apiKey: v.nullable(string(512)) }),
  'gateway.useEmbedded': none,
  'gateway.verify': object({ url: string(2048), apiKey: v.nullable(string(512)) }),
  'gateway.rotateApiKey': none,
  'gateway.signIn': object({ url: string(2048) }),
  'gateway.cancelSignIn': none,
  'deployments.list': none,
  'deployments.checkName': object({ name: string(256), excludeId: v.optional(id) }),
  'deployments.checkToken': object({ token: string(512) }),
  'deployments.create': object(input),
  'deployments.update': object({ id, changes: v.partial(object(input)) }),
  'deployments.remove': byId,
  'deployments.start': byId,
  'deployments.stop': byId,
  'deployments.retry': byId,
  'deployments.startAll': none,
  'deployments.stopAll': none,
  'deployments.history': byId,
  'deployments.members': byId,
  'deployments.export': byId,
  'requests.list': object({ deploymentId: v.optional(id), limit: v.optional(v.pipe(v.number('must be a number'), v.integer('must be a whole number'), v.minValue(1, 'must be at least 1'), v.maxValue(1000, 'must be at most 1000'))) }),
  'logs.list': none,
  'deployments.import': object({ text: string(64 * 1024), fileName: string(512), replace: v.optional(boolean) }),
  'detect.list': none,
  'detect.rescan': none,
  'detect.probe': object({ url: string(2048) }),
  'detect.addEndpoint': object({ url: string(2048) }),
  'detect.createDeployment': object({ url: string(2048), name: v.optional(string(64)), model: v.optional(v.nullable(string(256))), token: v.optional(v.nullable(string(512))), replace: v.optional(boolean) }),
  'test.chat': object({ deployment: string(64), prompt: string(16 * 1024) }),
};

export function isApiMethod(method: unknown): method is ApiMethod {
  return typeof method === 'string' && Object.prototype.hasOwnProperty.call(API_SCHEMAS, method);
}

/** Checks `args` for `method`; throws INVALID_ARGUMENT naming the method and field. */
export function validateApiArgs<M extends ApiMethod>(method: M, args: unknown): ApiArgs<M> {
  const schema: v.GenericSchema<unknown, ApiArgs<M>> = API_SCHEMAS[method];
  const result = v.safeParse(schema, args, { abortEarly: true });
  if (result.success) return result.output;
  const [issue] = result.issues;
  const path = v.getDotPath(issue);
  throw new TokiosError('INVALID_ARGUMENT', `${method}${path ? `.${path}` : ''} ${issue.message}`);
}

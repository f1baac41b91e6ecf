import * as v from 'valibot';
import { CreatedCredentialSchema, CredentialViewSchema, HostedDeploymentSchema, LiveDeploymentSchema, RequestLogEntrySchema, UsageReportSchema } from '../../shared/hosted-api.js';

/**
 * The gateway's control API as one contract: each route with its request body and the
 * schema of its answer. The control plane answers with these types; the client checks
 * every answer against the schema (a gateway may be anyone's), so the two cannot drift.
 */

export interface RegisterRequest {
  /** The deployment name clients will put in `model`. */
  name: string;
  /** The tunnel token to bind; required when authenticating with an API key. */
  token?: string;
  /** Add the token to the name's pool (its other tokens keep serving) instead of moving the name to it. Admin only. */
  pool?: boolean;
}

const LiveDeployment = LiveDeploymentSchema;

const Registered = v.object({
  deployment: v.object({ ...LiveDeployment.entries, created: v.string(), updated: v.string() }),
  created: v.boolean(),
  /** The name was bound to another token before: its traffic moves (the swap). */
  swapped: v.boolean(),
  /** The name this token served before, when the registration renamed it. */
  renamedFrom: v.nullable(v.string()),
  /** The token joined the name's pool (absent from gateways before pools). */
  pooled: v.optional(v.boolean()),
});

const Listed = HostedDeploymentSchema;
const CredentialList = v.object({ object: v.literal('list'), data: v.array(CredentialViewSchema) });
const Revoked = v.object({ revoked: CredentialViewSchema });

export const CONTROL_ANSWERS = {
  'POST /v1/deployments': Registered,
  'GET /v1/deployments': v.object({ deployments: v.array(Listed) }),
  'DELETE /v1/deployments/NAME': v.undefined(),
  'POST /v1/tunnel-tokens': v.object({ ...CreatedCredentialSchema.entries, token: v.string() }),
  'GET /v1/tunnel-tokens': CredentialList,
  'DELETE /v1/tunnel-tokens/REF': Revoked,
  'POST /v1/api-keys': v.object({ ...CreatedCredentialSchema.entries, key: v.string() }),
  'GET /v1/api-keys': CredentialList,
  'DELETE /v1/api-keys/REF': Revoked,
  'GET /v1/usage': UsageReportSchema,
  'GET /v1/requests': v.object({ object: v.literal('list'), data: v.array(RequestLogEntrySchema) }),
  'GET /healthz': v.object({ status: v.literal('ok'), version: v.string() }),
};

export type ControlRoute = keyof typeof CONTROL_ANSWERS;
export type ControlAnswer<R extends ControlRoute> = v.InferOutput<(typeof CONTROL_ANSWERS)[R]>;
export type ControlBody<R extends ControlRoute> = R extends 'POST /v1/deployments' ? RegisterRequest : void;

export type LiveDeployment = v.InferOutput<typeof LiveDeployment>;
export type RegisteredDeployment = ControlAnswer<'POST /v1/deployments'>;
export type ListedDeployment = v.InferOutput<typeof Listed>;

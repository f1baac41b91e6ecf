import * as v from 'valibot';

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
}

/** A deployment as the gateway sees it right now. */
const LiveDeployment = v.object({
  name: v.string(),
  status: v.picklist(['online', 'offline', 'swapping']),
  tunnels: v.number(),
  inFlight: v.number(),
  upstreamKind: v.nullable(v.string()),
  upstreamModel: v.nullable(v.string()),
  connectedSince: v.nullable(v.number()),
});

const Registered = v.object({
  deployment: v.object({ ...LiveDeployment.entries, created: v.string(), updated: v.string() }),
  created: v.boolean(),
  /** The name was bound to another token before: its traffic moves (the swap). */
  swapped: v.boolean(),
  /** The name this token served before, when the registration renamed it. */
  renamedFrom: v.nullable(v.string()),
});

const Listed = v.object({ ...LiveDeployment.entries, tokenId: v.string(), created: v.string(), updated: v.string() });

export const CONTROL_ANSWERS = {
  'POST /v1/deployments': Registered,
  'GET /v1/deployments': v.object({ deployments: v.array(Listed) }),
  'DELETE /v1/deployments/NAME': v.undefined(),
  'POST /v1/tunnel-tokens': v.object({ id: v.string(), token: v.string() }),
  'POST /v1/api-keys': v.object({ id: v.string(), key: v.string() }),
  'GET /healthz': v.object({ status: v.literal('ok'), version: v.string() }),
};

export type ControlRoute = keyof typeof CONTROL_ANSWERS;
export type ControlAnswer<R extends ControlRoute> = v.InferOutput<(typeof CONTROL_ANSWERS)[R]>;
export type ControlBody<R extends ControlRoute> = R extends 'POST /v1/deployments' ? RegisterRequest : void;

export type LiveDeployment = v.InferOutput<typeof LiveDeployment>;
export type RegisteredDeployment = ControlAnswer<'POST /v1/deployments'>;
export type ListedDeployment = v.InferOutput<typeof Listed>;

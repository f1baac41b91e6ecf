import * as v from 'valibot';

/**
 * The hosted gateway's account API as data: what `/v1/api-keys`, `/v1/tunnel-tokens`,
 * `/v1/deployments`, `/v1/usage`, `/v1/requests`, the device grant and the dashboard's
 * session endpoints accept and return. Shared by the gateway, its client, the CLI and the
 * dashboard; the answers are schemas (the control API's client checks every answer against
 * them, main/gateway/control-api.ts) with their types inferred, so both ends have one shape.
 */

/** `client`: the data plane only. `admin`: also its account's control plane. */
export const KEY_SCOPES = ['client', 'admin'] as const;
export type KeyScope = (typeof KEY_SCOPES)[number];

/** Per-key limits; absent fields are unlimited. */
export const KeyLimitsSchema = v.object({
  /** Requests per minute. */
  rpm: v.optional(v.number()),
  /** Tokens per minute (prompt + completion, as the upstream reported them). */
  tpm: v.optional(v.number()),
  /** Requests in flight at once. */
  parallel: v.optional(v.number()),
});
export type KeyLimits = v.InferOutput<typeof KeyLimitsSchema>;

export type CredentialStatus = 'active' | 'revoked' | 'expired';

/** A key, token or device as listed: never its secret. */
export const CredentialViewSchema = v.object({
  id: v.string(),
  kind: v.picklist(['api-key', 'tunnel-token']),
  label: v.nullable(v.string()),
  created: v.string(),
  /** Updated at most every half minute while in use. */
  lastUsed: v.nullable(v.string()),
  expires: v.nullable(v.string()),
  revoked: v.nullable(v.string()),
  status: v.picklist(['active', 'revoked', 'expired']),
  /** API keys only. */
  scope: v.optional(v.picklist(KEY_SCOPES)),
  /** API keys only: the deployments it may call (null: all of its account's). */
  models: v.optional(v.nullable(v.array(v.string()))),
  limits: v.optional(KeyLimitsSchema),
  /** An API key the desktop app received by signing in (a named device). */
  device: v.optional(v.boolean()),
  /** Tunnel tokens only: the deployment name bound to it. */
  deployment: v.optional(v.nullable(v.string())),
});
export type CredentialView = v.InferOutput<typeof CredentialViewSchema>;

export interface CreateKeyInput {
  label?: string;
  scope?: KeyScope;
  models?: string[];
  rpm?: number;
  tpm?: number;
  parallel?: number;
  /** A duration such as `30d` or `12h`. */
  expires?: string;
}

export interface CreateTokenInput {
  label?: string;
  /** Also bind this deployment name to the new token. */
  deployment?: string;
  expires?: string;
}

/** A credential as minted: the one time its secret is shown. */
export const CreatedCredentialSchema = v.object({
  id: v.string(),
  credential: CredentialViewSchema,
  /** Compatibility with the single-user API: `key` for API keys, `token` for tunnel tokens. */
  key: v.optional(v.string()),
  token: v.optional(v.string()),
  /** Tunnel tokens minted with a deployment name another token holds: why it was not bound. */
  registerProblem: v.optional(v.string()),
});
export type CreatedCredential = v.InferOutput<typeof CreatedCredentialSchema>;

export const DEPLOYMENT_STATES = ['online', 'offline', 'swapping'] as const;
export type DeploymentState = (typeof DEPLOYMENT_STATES)[number];

/** One connector (tunnel) of a deployment: a member of its pool. */
export const DeploymentMemberSchema = v.object({
  /** The tunnel's id (the connector logs it too). */
  id: v.string(),
  tokenId: v.string(),
  /** The gateway replica holding the tunnel (null: the one answering). */
  replica: v.nullable(v.string()),
  /** serving; upstream-down (its connector fails its health checks: it gets requests only when no member can); draining (it finishes what it has). */
  state: v.picklist(['serving', 'upstream-down', 'draining']),
  /** Requests in flight (null when another replica holds it). */
  inFlight: v.nullable(v.number()),
  rttMs: v.nullable(v.number()),
  /** The connector's address as the gateway saw it. */
  address: v.string(),
  connectedSince: v.number(),
  upstreamKind: v.nullable(v.string()),
  upstreamModel: v.nullable(v.string()),
});
export type DeploymentMember = v.InferOutput<typeof DeploymentMemberSchema>;

/** A deployment as the gateway sees it right now. */
export const LiveDeploymentSchema = v.object({
  name: v.string(),
  status: v.picklist(DEPLOYMENT_STATES),
  /** Connectors (tunnels) serving it now. */
  tunnels: v.number(),
  inFlight: v.number(),
  upstreamKind: v.nullable(v.string()),
  upstreamModel: v.nullable(v.string()),
  connectedSince: v.nullable(v.number()),
  /** Gateway ↔ connector round trip, smoothed, of its tunnels (ms). */
  rttMs: v.nullable(v.number()),
  /** Its connectors, those draining included (absent from gateways before pools). */
  members: v.optional(v.array(DeploymentMemberSchema)),
});
export type LiveDeployment = v.InferOutput<typeof LiveDeploymentSchema>;

/** A deployment as `GET /v1/deployments` lists it: its binding and this gateway's traffic too. */
export const HostedDeploymentSchema = v.object({
  ...LiveDeploymentSchema.entries,
  tokenId: v.string(),
  created: v.string(),
  updated: v.string(),
  /** Requests in the last full minute and tokens/s generated in it (this gateway's view). */
  requestsPerMinute: v.number(),
  tokensPerSecond: v.nullable(v.number()),
});
export type HostedDeployment = v.InferOutput<typeof HostedDeploymentSchema>;

export const USAGE_GROUPS = ['key', 'deployment', 'minute', 'hour', 'day'] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];

export const UsageBucketSchema = v.object({
  /** Start of the time bucket (ISO), when grouped by time. */
  start: v.optional(v.string()),
  key_id: v.optional(v.string()),
  key_label: v.optional(v.nullable(v.string())),
  deployment: v.optional(v.string()),
  requests: v.number(),
  errors: v.object({ rate_limited: v.number(), client: v.number(), server: v.number() }),
  input_tokens: v.number(),
  output_tokens: v.number(),
  /** Mean time to first byte of the answer, over requests that got one. */
  ttft_ms_avg: v.nullable(v.number()),
  duration_ms_avg: v.nullable(v.number()),
});
export type UsageBucket = v.InferOutput<typeof UsageBucketSchema>;

export const UsageReportSchema = v.object({
  object: v.literal('usage'),
  from: v.string(),
  to: v.string(),
  group_by: v.array(v.picklist(USAGE_GROUPS)),
  data: v.array(UsageBucketSchema),
  totals: UsageBucketSchema,
});
export type UsageReport = v.InferOutput<typeof UsageReportSchema>;

/** One line of the request log: metadata only, never a body. */
export const RequestLogEntrySchema = v.object({
  time: v.string(),
  key_id: v.string(),
  key_label: v.nullable(v.string()),
  deployment: v.nullable(v.string()),
  method: v.string(),
  path: v.string(),
  status: v.number(),
  ttft_ms: v.nullable(v.number()),
  duration_ms: v.number(),
  input_tokens: v.nullable(v.number()),
  output_tokens: v.nullable(v.number()),
});
export type RequestLogEntry = v.InferOutput<typeof RequestLogEntrySchema>;

export interface AccountView {
  id: string;
  email: string | null;
}

/** The dashboard's session: who is signed in, and the CSRF token its requests carry. */
export interface SessionView {
  account: AccountView;
  csrfToken: string;
  expires: string;
  signup: boolean;
}

/** RFC 8628 §3.2 device authorization response. */
export interface DeviceCodeResponse {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

/** RFC 8628 §3.5 token response (success). */
export interface DeviceTokenResponse {
  access_token: string;
  token_type: 'bearer';
  scope: 'admin';
  account: AccountView;
}

/** What the dashboard shows before approving a device. */
export interface DeviceGrantView {
  user_code: string;
  client_name: string;
  expires: string;
  status: 'pending' | 'approved' | 'denied';
}

/** Header the dashboard sends its CSRF token in. */
export const CSRF_HEADER = 'x-csrf-token';
export const SESSION_COOKIE = 'tokios_session';
/** Where the dashboard's own endpoints live (sign-in, session, device approval). */
export const DASHBOARD_API = '/dashboard/api';

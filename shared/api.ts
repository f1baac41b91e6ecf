import type { ErrorData } from './errors.js';
import type { LastError, TunnelState } from './health.js';
import type { UpstreamKind } from './tunnel-protocol.js';
import type { DeploymentMember } from './hosted-api.js';

/**
 * The one contract between the UI and the core (docs/ARCHITECTURE.md §1):
 * every method with its argument and result types, every event with its payload. AppCore
 * implements it once; Electron IPC and the headless WebSocket only carry it.
 *
 * Secrets never travel core → UI except `gateway.revealApiKey`, which the UI asks for
 * only to copy the key and does not keep. Tunnel tokens come back masked.
 */

export interface AppInfo {
  version: string;
  /** Random per run: a page that sees another one is talking to a restarted app. */
  runId: string;
  host: 'electron' | 'headless';
  dataDir: string;
  /** The watched folder of `tokios-*.json` files. */
  configDir: string;
  /** Why the folder is not being watched (files there are then not applied), or null. */
  configDirError: string | null;
  secretStorage: { kind: 'safe-storage' | 'file'; warning: string | null };
}

export interface GatewayInfo {
  mode: 'embedded' | 'remote';
  /** Base URL clients use (`OPENAI_BASE_URL` is this + `/v1`). */
  url: string;
  status: 'starting' | 'running' | 'unreachable' | 'error';
  error: string | null;
  /** Masked API key, or null when none is configured. */
  apiKey: string | null;
  /** Whether the app can mint tunnel tokens itself (embedded gateway, or a remote one with an API key). */
  canMintTokens: boolean;
}

export interface DeploymentHealth {
  state: TunnelState;
  /** When the state began. */
  since: number;
  rttMs: number | null;
  inFlight: number;
  /** Since the app started, counted from the same records as the request inspector (refused ones too). */
  totals: { requests: number; errors: number; promptTokens: number; completionTokens: number };
  lastError: LastError | null;
  connectedSince: number | null;
  /** Requests within the last minute (shared/rates.ts decays these when idle or stopped). */
  requestsPerMinute: number;
  /** Mean generation speed within the last minute, where the upstream reports usage. */
  tokensPerSecond: number | null;
  /** Median time to first token within the last minute. */
  ttftMs: number | null;
  /** When the latest request for this deployment arrived. */
  lastRequestAt: number | null;
  /** Worker restarts since the deployment was started. */
  restarts: number;
  upstreamReachable: boolean | null;
  upstreamKind: UpstreamKind;
}

export interface DeploymentView {
  id: string;
  /** What clients put in `model`. */
  name: string;
  upstream: string;
  /** The upstream's model requests are rewritten to (null: its only one). */
  model: string | null;
  enabled: boolean;
  /** The tunnel token, masked (`tt-Ab12…wXyz`). */
  token: string;
  /** 'folder' deployments mirror a file in the config folder and are edited there. */
  source: 'app' | 'folder';
  file: string | null;
  /** Why the file's latest version was not applied (the last good settings keep running). */
  configError: string | null;
  created: string;
  updated: string;
  health: DeploymentHealth;
}

export interface HealthSample {
  t: number;
  rttMs: number | null;
  /** null while the deployment is not running. */
  requestsPerMinute: number | null;
  tokensPerSecond: number | null;
  inFlight: number;
}

export interface DetectedUpstream {
  url: string;
  kind: UpstreamKind;
  version: string | null;
  models: string[];
  reachable: boolean;
  loading: boolean;
  problem: string | null;
  /** A name and model for a new deployment, editable; null when there is nothing to deploy. */
  proposal: { name: string; model: string | null } | null;
  /** Deployments already forwarding to this upstream. */
  deploymentIds: string[];
}

export interface DeploymentInput {
  name: string;
  upstream: string;
  model?: string | null;
  /** Pasted tunnel token; optional when the app can mint one. */
  token?: string | null;
  enabled?: boolean;
  /** Taking a name another deployment has is a swap; say so explicitly. */
  replace?: boolean;
}

export interface NameCheck {
  /** Why the name is not acceptable, or null. */
  problem: string | null;
  /** Another deployment already has this name: saving swaps its backend. */
  swapsWith: { id: string; upstream: string } | null;
}

/**
 * Where an export went. The host chooses, never the page: Electron asks with the OS save
 * dialog and writes the file (0600); headless hands the browser a one-time download link.
 */
export type ExportResult =
  | { outcome: 'saved'; path: string; fileName: string; warning: string; runHint: string }
  | { outcome: 'download'; url: string; fileName: string; warning: string; runHint: string }
  | { outcome: 'cancelled' };

/** One request as the inspector shows it: the gateway's view joined with the connector's. Metadata only. */
export interface InspectedRequest {
  /** Stable within a run; a later update of the same request keeps it. */
  id: number;
  time: number;
  /** The app's deployment it belongs to, when one (refused requests for unknown names have none). */
  deploymentId: string | null;
  /** The `model` the client asked for. */
  deployment: string | null;
  method: string;
  path: string;
  status: number;
  client: string | null;
  /** The gateway's error code when it refused (deployment_offline, invalid_api_key…). */
  errorCode: string | null;
  /** What went wrong, in words, when something did. */
  error: string | null;
  /** Time to the first response byte as the client saw it. */
  ttftMs: number | null;
  durationMs: number;
  promptTokens: number | null;
  completionTokens: number | null;
  tokensPerSecond: number | null;
  /** The upstream's model the connector rewrote the request to. */
  upstreamModel: string | null;
  /** Where the time to first byte went; null parts were not seen (remote gateway, refused request). */
  timing: { gatewayMs: number | null; tunnelMs: number | null; upstreamMs: number | null };
  /** Which ends reported it. */
  seenBy: 'gateway' | 'connector' | 'both';
  /** The gateway's `x-request-id`, which the client got too (and error bodies quote). */
  requestId: string | null;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A log line kept for the Logs view; already redacted. */
export interface LogLine {
  seq: number;
  time: number;
  level: LogLevel;
  /** 'app', 'gateway', or a deployment id (its worker). */
  source: string;
  text: string;
}

export interface LogSource {
  id: string;
  label: string;
}

/** What switching to another gateway would mean, found out before anything changes. */
export interface GatewayCheck {
  /** The URL as it will be saved. */
  url: string;
  reachable: boolean;
  version: string | null;
  /** null when no key was given. */
  keyAccepted: boolean | null;
  /** Why the switch cannot happen, in words; null when it can. */
  problem: string | null;
  /** What changes for clients and deployments if the user goes ahead. */
  consequences: string[];
}

/** What answers at a URL the user typed. */
export interface ProbeResult {
  url: string;
  reachable: boolean;
  kind: UpstreamKind;
  models: string[];
  problem: string | null;
}

/** A hosted gateway's sign-in started: what to show the person. */
export interface HostedSignInStart {
  /** The short code the person confirms on the dashboard. */
  userCode: string;
  /** The dashboard page to open, and the same with the code filled in. */
  verificationUri: string;
  verificationUriComplete: string;
  expiresAt: number;
}

/** How a sign-in ended. */
export interface HostedSignInEvent {
  state: 'signed-in' | 'failed';
  url: string;
  message: string;
}

export type TestChatEvent =
  | { requestId: string; type: 'chunk'; text: string }
  | { requestId: string; type: 'first-token'; ttftMs: number }
  | { requestId: string; type: 'done'; durationMs: number; ttftMs: number | null; completionTokens: number | null }
  | { requestId: string; type: 'error'; message: string };

/** Method name → [argument, result]. */
export interface ApiMethods {
  'app.info': [void, AppInfo];
  'gateway.info': [void, GatewayInfo];
  'gateway.revealApiKey': [void, { apiKey: string }];
  'gateway.useRemote': [{ url: string; apiKey: string | null }, GatewayInfo];
  'gateway.useEmbedded': [void, GatewayInfo];
  /** Checks a gateway before switching to it: nothing changes. */
  'gateway.verify': [{ url: string; apiKey: string | null }, GatewayCheck];
  /** The built-in gateway's key: a new one replaces it and the old one stops working. */
  'gateway.rotateApiKey': [void, GatewayInfo];
  /**
   * Signs in to a hosted gateway with the device grant; the outcome arrives as a
   * 'gateway.signIn' event (approved: the app has switched to it, deployments registered).
   */
  'gateway.signIn': [{ url: string }, HostedSignInStart];
  'gateway.cancelSignIn': [void, void];
  'deployments.list': [void, DeploymentView[]];
  'deployments.checkName': [{ name: string; excludeId?: string }, NameCheck];
  /** Whether the gateway in use knows this tunnel token (null: it cannot tell before saving). */
  'deployments.checkToken': [{ token: string }, { problem: string | null; known: boolean | null }];
  'deployments.create': [DeploymentInput, DeploymentView];
  'deployments.update': [{ id: string; changes: Partial<DeploymentInput> }, DeploymentView];
  'deployments.remove': [{ id: string }, void];
  'deployments.start': [{ id: string }, DeploymentView];
  'deployments.stop': [{ id: string }, DeploymentView];
  /** Clears crash-looping (or token-rejected) and starts again. */
  'deployments.retry': [{ id: string }, DeploymentView];
  'deployments.startAll': [void, void];
  'deployments.stopAll': [void, void];
  'deployments.history': [{ id: string }, HealthSample[]];
  /**
   * Every connector serving the deployment's name, as the gateway in use sees them (this app's
   * and others' running the same tokios.json or pooled tokens); null when that gateway does not
   * say (an older one, no admin key, or it does not answer).
   */
  'deployments.members': [{ id: string }, DeploymentMember[] | null];
  /** A tokios.json, to where the host lets the user choose. It contains the tunnel token: the result says so. */
  'deployments.export': [{ id: string }, ExportResult];
  'deployments.import': [{ text: string; fileName: string; replace?: boolean }, DeploymentView];
  /** Requests through the gateway and the connectors, newest first. */
  'requests.list': [{ deploymentId?: string; limit?: number }, InspectedRequest[]];
  /** Recent log lines of the app, the gateway and each worker. */
  'logs.list': [void, { sources: LogSource[]; lines: LogLine[] }];
  'detect.list': [void, DetectedUpstream[]];
  /** What answers at `url` (a model server the user is typing in). */
  'detect.probe': [{ url: string }, ProbeResult];
  'detect.rescan': [void, DetectedUpstream[]];
  /** Also probe this OpenAI-compatible (or non-default-port) server from now on. */
  'detect.addEndpoint': [{ url: string }, DetectedUpstream[]];
  /** One call from a detected upstream to a deployment: name and model proposed unless given. */
  'detect.createDeployment': [{ url: string; name?: string; model?: string | null; token?: string | null; replace?: boolean }, DeploymentView];
  /** Sends a chat request through the gateway; the reply streams as 'test.chat' events. */
  'test.chat': [{ deployment: string; prompt: string }, { requestId: string }];
}

export type ApiMethod = keyof ApiMethods;
export type ApiArgs<M extends ApiMethod> = ApiMethods[M][0];
export type ApiResult<M extends ApiMethod> = ApiMethods[M][1];

/** Event name → payload. */
export interface ApiEvents {
  /** The app's own facts changed (the config folder stopped being watched). */
  'app.changed': AppInfo;
  'deployment.updated': DeploymentView;
  'deployment.removed': { id: string };
  'deployment.state': { id: string; name: string; state: TunnelState; previous: TunnelState };
  /** A health point for the charts, taken with the view the tiles show. */
  'deployment.sample': { id: string; sample: HealthSample };
  /** A new request, or more about one already sent (same id). */
  'request.logged': InspectedRequest;
  'logs.appended': { lines: LogLine[] };
  'detect.changed': { upstreams: DetectedUpstream[]; change: { type: 'appeared' | 'models-changed' | 'gone'; url: string } };
  'gateway.changed': GatewayInfo;
  'gateway.signIn': HostedSignInEvent;
  'test.chat': TestChatEvent;
}

export type ApiEvent = keyof ApiEvents;

/** What a transport hands the UI: call a method, listen to events. */
export interface ApiClient {
  call<M extends ApiMethod>(method: M, ...args: ApiArgs<M> extends void ? [] : [ApiArgs<M>]): Promise<ApiResult<M>>;
  on<E extends ApiEvent>(event: E, listener: (payload: ApiEvents[E]) => void): () => void;
}

/** The core side: one handler per method. */
export type ApiHandlers = { [M in ApiMethod]: (args: ApiArgs<M>) => Promise<ApiResult<M>> };

/** A call's outcome as data, the way every transport carries it; errors are rethrown on the far side. */
export type CallOutcome = { ok: true; result: unknown } | { ok: false; error: ErrorData };

/** Messages on the wire (headless WebSocket; Electron IPC carries the outcome as is). */
export type WireRequest = { id: number; method: string; args: unknown };
export type WireResponse = { id: number } & CallOutcome;
export type WireEvent = { event: string; payload: unknown };

export const API_SUBPROTOCOL = 'tokios-api.v1';
export const API_PATH = '/api';

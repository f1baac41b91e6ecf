/**
 * The tunnel protocol between a connector and the routing gateway (docs/ARCHITECTURE.md §5).
 *
 * One WebSocket (binary messages) carries many streams, one per HTTP request. Every
 * message holds one or more frames:
 *
 *     type u8 | flags u8 | stream id u32 BE | payload length u32 BE | payload
 *
 * The gateway opens streams (odd ids, increasing); the connector answers on the same id.
 */

export const TUNNEL_PATH = '/v1/tunnel';
export const PROTOCOL_VERSION = 1;
/** The version travels as the WebSocket subprotocol, so a mismatch fails at the upgrade. */
export const TUNNEL_SUBPROTOCOL = `tokios-tunnel.v${PROTOCOL_VERSION}`;
export const FRAME_HEADER_BYTES = 10;

export const FrameType = {
  /** connector → gateway, stream 0, JSON {@link HelloPayload}; first frame of a tunnel. */
  Hello: 1,
  /** gateway → connector, stream 0, JSON {@link SettingsPayload}; after Hello and on re-binding. */
  Settings: 2,
  /** gateway → connector, JSON {@link RequestHead}; opens a stream. */
  RequestHead: 3,
  /** connector → gateway, JSON {@link ResponseHead}. */
  ResponseHead: 4,
  /** either way, raw body bytes; counts against flow-control windows. */
  Data: 5,
  /** either way, u32 {@link ResetCode} + UTF-8 reason; ends the stream at once. */
  Reset: 6,
  /** either way, u32 increment; stream 0 is the connection window. */
  WindowUpdate: 7,
  /** either way, stream 0: u32 last stream id accepted + u32 code + UTF-8 reason. */
  GoAway: 8,
  /**
   * connector → gateway, stream 0, JSON {@link StatusPayload}: the upstream went down or came
   * back. Sent only to a gateway whose Settings list `status` in `accepts`: an older gateway
   * closes a tunnel on a frame type it does not know, so the version of the protocol stays 1.
   */
  Status: 9,
} as const;
export type FrameTypeValue = (typeof FrameType)[keyof typeof FrameType];

/** Flag on RequestHead, ResponseHead and Data: the sender's side of the stream is done. */
export const FLAG_END_STREAM = 0x1;

export const ResetCode = {
  /** The peer gave up on the stream (the client disconnected). */
  Cancel: 1,
  /** Never processed; safe to retry elsewhere (draining tunnel, too many streams). */
  RefusedStream: 2,
  /** The connector could not reach its upstream. */
  UpstreamUnreachable: 3,
  /** The upstream failed after the response had started, or timed out. */
  UpstreamError: 4,
  /** The connector refuses this path or method (allowlist). */
  PathNotAllowed: 5,
  /** The request body was not what the path needs (e.g. not JSON, no model configured). */
  BadRequest: 6,
  FlowControl: 7,
  Protocol: 8,
  Internal: 9,
  /** The upstream has no such endpoint (it answered 404 without naming a model). */
  NotImplemented: 10,
} as const;
export type ResetCodeValue = (typeof ResetCode)[keyof typeof ResetCode];

export const GoAwayCode = {
  /** Shutting down or handing over; streams up to the last id finish. */
  Drain: 0,
  Protocol: 1,
} as const;

/** WebSocket close codes used by the tunnel (4000–4999 is the application range). */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  Protocol: 1002,
  TokenRevoked: 4001,
  Replaced: 4002,
} as const;

/** Limits each side announces; the tunnel uses the smaller of the two. */
export interface TunnelLimits {
  /** Streams the sender of this value accepts at once. */
  maxConcurrentStreams: number;
  /** Largest JSON head (request or response) it accepts, in bytes. */
  maxHeaderBytes: number;
  /** Initial per-stream receive window, in bytes. */
  streamWindow: number;
  /** Initial connection-wide receive window: a cap on data buffered for all streams. */
  connectionWindow: number;
}

export const DEFAULT_LIMITS: TunnelLimits = {
  maxConcurrentStreams: 4096,
  maxHeaderBytes: 64 * 1024,
  streamWindow: 256 * 1024,
  connectionWindow: 16 * 1024 * 1024,
};

/** Most headers one request or response head may carry. */
export const MAX_HEAD_HEADERS = 200;
/** Longest request target (path and query) a request head may carry, in characters. */
export const MAX_REQUEST_TARGET = 8192;

/** Largest Data payload in one frame; bigger writes are split. */
export const MAX_DATA_FRAME_BYTES = 64 * 1024;
/** Largest WebSocket message either side accepts (`maxPayload`). */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/** Default heartbeat: ping this often; a link silent for twice as long is dead. */
export const DEFAULT_HEARTBEAT_MS = 10_000;

export type UpstreamKind = 'ollama' | 'llamacpp' | 'openai' | 'unknown';

export interface HelloPayload {
  /** Connector software version. */
  version: string;
  upstreamKind: UpstreamKind;
  /** Models the upstream serves, as far as the connector could tell. */
  models: string[];
  /** The model requests are rewritten to, when known. */
  model: string | null;
  /**
   * The routed inference paths the upstream answers itself (the gateway translates or
   * refuses the others). Absent from connectors older than dialect translation: the
   * gateway then assumes the defaults of `upstreamKind` (shared/upstream-endpoints.ts).
   */
  endpoints?: string[];
  limits: TunnelLimits;
}

export interface SettingsPayload {
  /** Deployment name bound to this tunnel's token, or null while unbound (the connector waits). */
  deployment: string | null;
  /** True once this tunnel takes new requests (false while unbound or draining). */
  serving: boolean;
  limits: TunnelLimits;
  heartbeatMs: number;
  tunnelId: string;
  /**
   * Optional frames this gateway understands (absent from older gateways): `status`. A
   * connector sends such a frame only when its name is listed here.
   */
  accepts?: string[];
}

/** What the connector tells the gateway of its upstream, when it changes (FrameType.Status). */
export interface StatusPayload {
  /** down: the upstream fails its health checks; the gateway sends requests elsewhere while another member can take them. */
  upstream: 'up' | 'down';
}

/** The optional frames this code's gateway accepts, announced in Settings. */
export const GATEWAY_ACCEPTS = ['status'] as const;

export interface RequestHead {
  method: string;
  /** Path and query exactly as the client sent them. */
  path: string;
  headers: Record<string, string>;
  /** The deployment name the request was routed by. */
  deployment: string;
  /**
   * Between gateway replicas only (the peer link): the tunnel, held by the receiving replica,
   * that should carry the request. Never sent to a connector.
   */
  tunnel?: string;
  /**
   * Between gateway replicas only, with `tunnel`: the account the sending replica routed the
   * request for. The holder relays only onto a tunnel of that account, whatever Redis said.
   */
  account?: string;
}

export interface ResponseHead {
  status: number;
  headers: Record<string, string | string[]>;
}

/** Inference endpoints. The gateway routes the POSTs by body `model`; the connector forwards only these. */
export const INFERENCE_ROUTES: ReadonlyArray<{ method: 'GET' | 'POST'; path: string; routedByModel: boolean }> = [
  { method: 'POST', path: '/v1/chat/completions', routedByModel: true },
  { method: 'POST', path: '/v1/completions', routedByModel: true },
  { method: 'POST', path: '/v1/embeddings', routedByModel: true },
  { method: 'POST', path: '/v1/responses', routedByModel: true },
  { method: 'POST', path: '/v1/messages', routedByModel: true },
  { method: 'POST', path: '/v1/messages/count_tokens', routedByModel: true },
  { method: 'POST', path: '/api/chat', routedByModel: true },
  { method: 'POST', path: '/api/generate', routedByModel: true },
  { method: 'POST', path: '/api/embed', routedByModel: true },
  { method: 'POST', path: '/api/show', routedByModel: true },
  { method: 'GET', path: '/v1/models', routedByModel: false },
  { method: 'GET', path: '/api/tags', routedByModel: false },
];

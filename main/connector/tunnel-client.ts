import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type WebSocketType from 'ws';
import { Backoff, DEFAULT_BACKOFF, type BackoffPolicy } from '../../shared/backoff.js';
import { TokiosError } from '../../shared/errors.js';
import { gatewayBaseUrlHint } from '../../shared/tokios-config.js';
import {
  CloseCode,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_LIMITS,
  MAX_MESSAGE_BYTES,
  TUNNEL_PATH,
  TUNNEL_SUBPROTOCOL,
  type HelloPayload,
  type SettingsPayload,
} from '../../shared/tunnel-protocol.js';
import { peerText, type Logger } from '../logging/logger.js';
import { describeSystemError, systemErrorCode } from '../system-errors.js';
import { TunnelSession } from '../tunnel/tunnel-session.js';
import { VERSION } from '../version.js';

/**
 * `ws` is CommonJS: imported from ESM, Node first scans its source for named exports with a
 * WebAssembly lexer, whose memory stays for the life of the process — about 5 MB of a
 * connector worker's idle RSS (docs/ARCHITECTURE.md, "Performance decisions"). Required,
 * it is loaded as it is.
 */
const WebSocket = createRequire(import.meta.url)('ws') as typeof WebSocketType;
type WebSocket = WebSocketType;

/**
 * Keeps one tunnel to the gateway up: dials with the token, reconnects with backoff
 * (reset once a tunnel stayed up for `stableMs`), and stops for good when the gateway
 * rejects the token.
 */

export type TunnelClientStatus = 'connecting' | 'connected' | 'reconnecting' | 'rejected' | 'stopped';

export type TunnelClientEvents = {
  status: [status: TunnelClientStatus];
  /** A tunnel opened; its session carries the streams. */
  session: [session: TunnelSession];
  /** The gateway told this tunnel its binding (sent after Hello and on every re-binding). */
  settings: [settings: SettingsPayload];
  /** Something went wrong that a retry may fix (the client keeps trying). */
  'error-seen': [error: TokiosError];
  /** Something no retry fixes (the token was rejected): the client has stopped. */
  fatal: [error: TokiosError];
};

export interface TunnelClientOptions {
  gatewayUrl: string;
  token: string;
  log: Logger;
  hello: () => HelloPayload;
  backoff?: BackoffPolicy;
  /** A tunnel that stayed up this long resets the backoff (default 5 s). */
  stableMs?: number;
  heartbeatMs?: number;
}

/** `http://host:port/prefix` → `ws://host:port/prefix/v1/tunnel`. */
export function tunnelUrl(gatewayUrl: string): string {
  const url = new URL(gatewayUrl);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  url.pathname = url.pathname.replace(/\/+$/, '') + TUNNEL_PATH;
  return url.toString();
}

export class TunnelClient extends EventEmitter<TunnelClientEvents> {
  status: TunnelClientStatus = 'connecting';
  session: TunnelSession | null = null;
  settings: SettingsPayload | null = null;
  lastError: TokiosError | null = null;
  reconnects = 0;
  connectedSince: number | null = null;

  private readonly backoff: Backoff;
  private ws: WebSocket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private everConnected = false;

  constructor(private readonly options: TunnelClientOptions) {
    super();
    this.backoff = new Backoff({ ...(options.backoff ?? DEFAULT_BACKOFF), stableMs: options.stableMs ?? 5000 });
  }

  start(): void {
    this.dial();
  }

  /** Go-away to the gateway, wait for streams in flight (up to `timeoutMs`), then close. */
  async close(timeoutMs = 30_000): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const session = this.session;
    if (session && !session.closed) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([session.goAway('connector shutting down'), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
      session.close(CloseCode.Normal, 'connector shutting down');
    } else {
      this.ws?.terminate();
    }
    this.setStatus('stopped');
  }

  destroy(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.session) this.session.destroy('connector stopped');
    else this.ws?.terminate();
    this.setStatus('stopped');
  }

  private setStatus(status: TunnelClientStatus): void {
    if (this.status === status) return;
    this.status = status;
    this.emit('status', status);
  }

  private fail(error: TokiosError): void {
    this.lastError = error;
    this.emit('error-seen', error);
  }

  private dial(): void {
    if (this.stopped) return;
    const { token, log } = this.options;
    const url = tunnelUrl(this.options.gatewayUrl);
    let rejected: TokiosError | null = null;
    let opened = false;
    // The gateway answered the upgrade with HTTP: that answer says why; ws's own error after it says nothing more.
    let answered = false;
    const ws = new WebSocket(url, TUNNEL_SUBPROTOCOL, {
      headers: { authorization: `Bearer ${token}`, 'user-agent': `tokios-connector/${VERSION}` },
      perMessageDeflate: false,
      maxPayload: MAX_MESSAGE_BYTES,
      handshakeTimeout: 10_000,
      followRedirects: false,
      // A zero mask: ws then skips masking here and unmasking at the gateway. Masking guards
      // browsers' traffic against cache-poisoning proxies; this client is not a browser.
      generateMask: () => undefined,
    });
    this.ws = ws;

    ws.on('unexpected-response', (_req, res: IncomingMessage) => {
      answered = true;
      readSmallBody(res).then((text) => {
        const message = (gatewayMessage(text) ?? `HTTP ${res.statusCode}`).replace(/\.$/, '');
        if (res.statusCode === 401 || res.statusCode === 403) {
          rejected = new TokiosError('TUNNEL_TOKEN_REJECTED', `the gateway at ${this.options.gatewayUrl} rejected the tunnel token: ${message}`);
        } else if (res.statusCode === 426) {
          rejected = new TokiosError('TUNNEL_PROTOCOL', `the gateway at ${this.options.gatewayUrl} speaks another tunnel protocol version: ${message}`);
        } else {
          const hint = res.statusCode === 404 ? `; ${gatewayBaseUrlHint(this.options.gatewayUrl)}` : '';
          this.fail(new TokiosError('GATEWAY_ERROR', `the gateway at ${this.options.gatewayUrl} answered the tunnel request with HTTP ${res.statusCode}: ${message}${hint}`));
        }
        ws.terminate();
      }, () => ws.terminate());
    });

    ws.on('open', () => {
      opened = true;
      this.everConnected = true;
      this.connectedSince = Date.now();
      this.backoff.up();
      const session = new TunnelSession(ws, { role: 'connector', limits: DEFAULT_LIMITS, heartbeatMs: this.options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS });
      this.session = session;
      session.on('settings', (settings) => {
        this.settings = settings;
        this.emit('settings', settings);
      });
      session.on('protocol-error', (reason) => this.fail(new TokiosError('TUNNEL_PROTOCOL', `tunnel protocol error: ${peerText(reason)}`)));
      session.on('stream-error', (streamId, reason) => log.warnRepeated('stream-error', `stream ${streamId} reset: ${peerText(reason)}`));
      session.sendHello(this.options.hello());
      session.ping();
      log.info(`tunnel connected to ${this.options.gatewayUrl}`);
      this.setStatus('connected');
      this.emit('session', session);
    });

    ws.on('error', (error: Error) => {
      if (!opened && !rejected && !answered) this.fail(new TokiosError('GATEWAY_UNREACHABLE', describeDialError(this.options.gatewayUrl, error)));
    });

    ws.on('close', (code: number, reason: Buffer) => {
      this.session = null;
      this.settings = null;
      this.connectedSince = null;
      if (this.ws === ws) this.ws = null;
      // The gateway revoked (or let expire) the token this tunnel opened with: final, like a rejected token.
      if (code === CloseCode.TokenRevoked && !this.stopped) {
        rejected = new TokiosError('TUNNEL_TOKEN_REJECTED', `the gateway at ${this.options.gatewayUrl} closed the tunnel: ${reason.toString() || 'the tunnel token was revoked'}; get a new token (tokios token create, or the dashboard)`);
      }
      if (rejected) {
        this.lastError = rejected;
        this.stopped = true;
        this.setStatus('rejected');
        this.emit('fatal', rejected);
        return;
      }
      if (this.stopped) return;
      if (opened) {
        const why = peerText(reason.toString() || `code ${code}`);
        this.fail(new TokiosError('TUNNEL_CLOSED', `tunnel to ${this.options.gatewayUrl} closed (${why})`));
        log.warn(`tunnel closed (${why}); reconnecting`);
      }
      this.backoff.ended();
      // A tunnel retired after a swap reconnects at once, to wait unbound for a new name.
      const delay = code === CloseCode.Replaced ? 0 : this.backoff.next();
      this.reconnects++;
      this.setStatus(this.everConnected ? 'reconnecting' : 'connecting');
      this.timer = setTimeout(() => this.dial(), delay);
    });
  }
}

function readSmallBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      if (text.length < 4096) text += chunk;
    });
    res.on('end', () => resolve(text));
    res.on('error', reject);
  });
}

function gatewayMessage(text: string): string | null {
  try {
    const message = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message;
    return typeof message === 'string' ? peerText(message, 300) : null;
  } catch {
    return peerText(text.trim(), 300) || null;
  }
}

function describeDialError(gateway: string, error: Error): string {
  const hint = systemErrorCode(error) === 'ECONNREFUSED' ? ' (is it running?)' : '';
  return `cannot reach the gateway at ${gateway}: ${describeSystemError(error)}${hint}`;
}

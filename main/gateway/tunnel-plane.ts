import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { openAIError } from '../../shared/errors.js';
import {
  CloseCode,
  DEFAULT_LIMITS,
  MAX_MESSAGE_BYTES,
  TUNNEL_PATH,
  TUNNEL_SUBPROTOCOL,
  type TunnelLimits,
} from '../../shared/tunnel-protocol.js';
import { peerText, type Logger } from '../logging/logger.js';
import { TunnelSession } from '../tunnel/tunnel-session.js';
import type { GatewayStore } from './gateway-store.js';
import { presentedKey } from './http-util.js';
import { newId } from './secrets.js';
import type { TunnelEntry, TunnelRegistry } from './tunnel-registry.js';

/**
 * `/v1/tunnel`: checks the tunnel token before the WebSocket upgrade (a rejected token
 * gets a plain 401 the connector treats as final), then runs a TunnelSession per
 * connector and tells the registry when it is ready.
 */

export interface TunnelPlaneOptions {
  store: GatewayStore;
  registry: TunnelRegistry;
  log: Logger;
  heartbeatMs: number;
  limits?: TunnelLimits;
  /** A connector must send Hello within this long after the upgrade. */
  helloTimeoutMs?: number;
}

export class TunnelPlane {
  private readonly wss: WebSocketServer;
  private readonly limits: TunnelLimits;

  constructor(private readonly options: TunnelPlaneOptions) {
    this.limits = options.limits ?? DEFAULT_LIMITS;
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: MAX_MESSAGE_BYTES,
      handleProtocols: (protocols) => (protocols.has(TUNNEL_SUBPROTOCOL) ? TUNNEL_SUBPROTOCOL : false),
    });
  }

  /** The HTTP server's 'upgrade' handler. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const pathname = (req.url ?? '/').split('?')[0];
    if (pathname !== TUNNEL_PATH) return reject(socket, 404, 'not_found', `No WebSocket endpoint at ${pathname}; connectors use ${TUNNEL_PATH}.`);
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') return reject(socket, 400, 'bad_upgrade', 'Expected a WebSocket upgrade.');

    const token = presentedKey(req);
    const record = token ? this.options.store.verifyTunnelToken(token) : null;
    if (!record) {
      const address = req.socket.remoteAddress ?? 'unknown';
      this.options.log.warnRepeated(`rejected-token ${address}`, `tunnel from ${address} rejected: ${token ? 'unknown tunnel token' : 'no tunnel token'}`);
      return reject(socket, 401, 'tunnel_token_rejected', token ? 'Tunnel token rejected: this gateway did not issue it, or it was revoked.' : 'No tunnel token: send "Authorization: Bearer tt-…".');
    }
    const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (!offered.includes(TUNNEL_SUBPROTOCOL)) {
      return reject(socket, 426, 'protocol_version_unsupported', `This gateway speaks ${TUNNEL_SUBPROTOCOL}; the connector offered '${offered.join(', ') || 'none'}'. Update the connector.`);
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, record.id, req.socket.remoteAddress ?? 'unknown'));
  }

  private accept(ws: WebSocket, tokenId: string, remoteAddress: string): void {
    const { registry, log, heartbeatMs } = this.options;
    const session = new TunnelSession(ws, { role: 'gateway', limits: this.limits, heartbeatMs });
    const entry: TunnelEntry = { id: newId('tun'), tokenId, session, hello: null, connectedAt: Date.now(), remoteAddress, retired: false };
    registry.add(entry);
    log.info(`tunnel ${entry.id} connected from ${remoteAddress} (token ${tokenId})`);

    const helloTimer = setTimeout(() => session.close(CloseCode.Protocol, 'no hello within the handshake timeout'), this.options.helloTimeoutMs ?? 10_000);
    helloTimer.unref();

    session.once('hello', (hello) => {
      clearTimeout(helloTimer);
      entry.hello = hello;
      registry.markReady(entry);
      const name = registry.servingName(entry);
      const model = hello.model === null ? '(unknown)' : peerText(hello.model);
      log.info(`tunnel ${entry.id} ready: connector ${peerText(hello.version)}, ${hello.upstreamKind} upstream, model ${model}, ${name ? `serving '${peerText(name)}'` : 'waiting for a deployment name'}`);
    });
    session.on('goaway', ({ reason }) => log.info(`tunnel ${entry.id} draining at the connector's request (${peerText(reason)})`));
    // Per address, so one peer's flood of broken frames or bad heads is one line per window.
    session.on('protocol-error', (reason) => log.warnRepeated(`protocol-error ${remoteAddress}`, `tunnel ${entry.id} from ${remoteAddress} protocol error: ${peerText(reason)}`));
    session.on('stream-error', (streamId, reason) => log.warnRepeated(`stream-error ${remoteAddress}`, `tunnel ${entry.id} stream ${streamId} reset: ${peerText(reason)}`));
    session.on('close', (code, reason) => {
      clearTimeout(helloTimer);
      registry.remove(entry);
      log.info(`tunnel ${entry.id} closed (${code}${reason ? `: ${peerText(reason)}` : ''})`);
    });
  }

  /** Sends a tunnel its current binding (after Hello, and whenever it changes). */
  sendSettings(entry: TunnelEntry): void {
    if (!entry.hello || entry.session.closed) return;
    const deployment = this.options.registry.servingName(entry);
    entry.session.sendSettings({
      deployment,
      serving: deployment !== null && !entry.retired,
      limits: this.limits,
      heartbeatMs: this.options.heartbeatMs,
      tunnelId: entry.id,
    });
  }

  close(): void {
    this.wss.close();
  }
}

function reject(socket: Duplex, status: number, code: string, message: string): void {
  const body = JSON.stringify(openAIError(message, status === 401 ? 'authentication_error' : 'invalid_request_error', code));
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 426: 'Upgrade Required' }[status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

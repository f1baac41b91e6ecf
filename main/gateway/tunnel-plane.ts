import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import { createTunnelSocketServer } from './tunnel-socket-server.js';
import { openAIError } from '../../shared/errors.js';
import {
  CloseCode,
  DEFAULT_LIMITS,
  GATEWAY_ACCEPTS,
  TUNNEL_PATH,
  TUNNEL_SUBPROTOCOL,
  type TunnelLimits,
} from '../../shared/tunnel-protocol.js';
import { peerText, type Logger } from '../logging/logger.js';
import { TunnelSession } from '../tunnel/tunnel-session.js';
import type { AccountRegistries } from './account-registries.js';
import { addressGroup } from './address-group.js';
import type { ClientAddress } from './client-address.js';
import type { CredentialVerifier } from './credential-verifier.js';
import { presentedKey } from './http-util.js';
import { newId } from './secrets.js';
import type { TunnelEntry } from './tunnel-registry.js';

/**
 * `/v1/tunnel`: checks the tunnel token before the WebSocket upgrade (a rejected token
 * gets a plain 401 the connector treats as final), then runs a TunnelSession per
 * connector in the registry of the token's account and tells it when it is ready.
 * A revoked (or expired) token's open tunnels are closed with a final close code.
 */

export interface TunnelPlaneOptions {
  verifier: CredentialVerifier;
  registries: AccountRegistries;
  now?: () => number;
  /** The client's address (behind a trusted proxy: the one it forwarded). */
  clientAddress?: ClientAddress;
  log: Logger;
  heartbeatMs: number;
  limits?: TunnelLimits;
  /** A connector must send Hello within this long after the upgrade. */
  helloTimeoutMs?: number;
  /** Hears of every change to one of this gateway's own tunnels (ready, health, draining, gone): what other replicas must learn. */
  onTunnelChange?: (entry: TunnelEntry, gone: boolean) => void;
}

export class TunnelPlane {
  private readonly wss: WebSocketServer;
  private readonly limits: TunnelLimits;
  /** Open tunnels whose token has an expiry, checked every second. */
  private readonly expiring = new Map<TunnelEntry, number>();
  private readonly expiryTimer: NodeJS.Timeout;
  /** This gateway's open tunnels by id (a peer link names the one a hop is for). */
  private readonly byId = new Map<string, TunnelEntry>();

  constructor(private readonly options: TunnelPlaneOptions) {
    this.limits = options.limits ?? DEFAULT_LIMITS;
    this.wss = createTunnelSocketServer();
    this.expiryTimer = setInterval(() => {
      const now = (this.options.now ?? Date.now)();
      for (const [entry, at] of this.expiring) if (now >= at) this.revoke(entry, 'tunnel token expired');
    }, 1000);
    this.expiryTimer.unref();
  }

  /** Closes every open tunnel of `tokenId` for good: its connector stops and says why. */
  revokeToken(tokenId: string, reason = 'tunnel token revoked'): number {
    const entries = this.options.registries.tunnelsOfToken(tokenId);
    for (const entry of entries) this.revoke(entry, reason);
    return entries.length;
  }

  private revoke(entry: TunnelEntry, reason: string): void {
    this.expiring.delete(entry);
    if (entry.session.closed) return;
    // Retired first: its deployment is offline at once (requests do not wait for it to return).
    entry.retired = true;
    this.options.log.info(`tunnel ${entry.id} closed: ${reason}`);
    entry.session.close(CloseCode.TokenRevoked, reason);
  }

  /** The HTTP server's 'upgrade' handler. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const pathname = (req.url ?? '/').split('?')[0];
    if (pathname !== TUNNEL_PATH) return reject(socket, 404, 'not_found', `No WebSocket endpoint at ${pathname}; connectors use ${TUNNEL_PATH}.`);
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') return reject(socket, 400, 'bad_upgrade', 'Expected a WebSocket upgrade.');

    const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (!offered.includes(TUNNEL_SUBPROTOCOL)) {
      return reject(socket, 426, 'protocol_version_unsupported', `This gateway speaks ${TUNNEL_SUBPROTOCOL}; the connector offered '${offered.join(', ') || 'none'}'. Update the connector.`);
    }
    const token = presentedKey(req);
    const address = req.socket.remoteAddress ?? 'unknown';
    // Held back per peer: an IPv6 host has a /64 of addresses to try from.
    const peer = addressGroup(address);
    if (!token) {
      this.options.log.warnRepeated(`rejected-token ${peer}`, `tunnel from ${address} rejected: no tunnel token`);
      return reject(socket, 401, 'tunnel_token_rejected', 'No tunnel token: send "Authorization: Bearer tt-…".');
    }
    void this.options.verifier.verify(token, ['tunnel-token']).then((verified) => {
      if (socket.destroyed) return;
      if (!verified.ok) {
        this.options.log.warnRepeated(`rejected-token ${peer}`, `tunnel from ${address} rejected: ${verified.reason} tunnel token`);
        const why = verified.reason === 'unknown' ? 'this gateway did not issue it' : `it was ${verified.reason}`;
        return reject(socket, 401, 'tunnel_token_rejected', `Tunnel token rejected: ${why}.`);
      }
      const { record } = verified;
      const from = this.options.clientAddress?.of(req) ?? req.socket.remoteAddress ?? 'unknown';
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, record.accountId, record.id, record.expires ? Date.parse(record.expires) : null, from));
    }, (error: Error) => {
      this.options.log.error(`tunnel from ${req.socket.remoteAddress}: could not check its token: ${error.message}`);
      reject(socket, 503, 'store_unavailable', 'The gateway cannot check tunnel tokens right now; retry shortly.');
    });
  }

  private accept(ws: WebSocket, accountId: string, tokenId: string, expiresAt: number | null, remoteAddress: string): void {
    const { log, heartbeatMs } = this.options;
    const registry = this.options.registries.forAccount(accountId);
    const session = new TunnelSession(ws, { role: 'gateway', limits: this.limits, heartbeatMs });
    const entry: TunnelEntry = { id: newId('tun'), accountId, tokenId, session, hello: null, connectedAt: Date.now(), remoteAddress, retired: false };
    registry.add(entry);
    this.byId.set(entry.id, entry);
    if (expiresAt !== null) this.expiring.set(entry, expiresAt);
    log.info(`tunnel ${entry.id} connected from ${remoteAddress} (token ${tokenId})`);

    const helloTimer = setTimeout(() => session.close(CloseCode.Protocol, 'no hello within the handshake timeout'), this.options.helloTimeoutMs ?? 10_000);
    helloTimer.unref();

    session.once('hello', (hello) => {
      clearTimeout(helloTimer);
      entry.hello = hello;
      registry.markReady(entry);
      this.options.onTunnelChange?.(entry, false);
      const name = registry.servingName(entry);
      const model = hello.model === null ? '(unknown)' : peerText(hello.model);
      log.info(`tunnel ${entry.id} ready: connector ${peerText(hello.version)}, ${hello.upstreamKind} upstream, model ${model}, ${name ? `serving '${peerText(name)}'` : 'waiting for a deployment name'}`);
    });
    // Draining is for good: a connector repeating its go-away changes nothing more to say.
    session.once('goaway', ({ reason }) => {
      log.info(`tunnel ${entry.id} draining at the connector's request (${peerText(reason)})`);
      this.options.onTunnelChange?.(entry, false);
    });
    // Its health checks: a member whose upstream is down gets requests only when no other member can take them.
    // Routing follows each report at once; what is said about it (a log line, the record every other
    // replica reads) follows once per turn and only for a real change, and the log is held back like
    // any flood: a connector can pack thousands of reports into one message.
    let announcedDown = false;
    let announcing = false;
    session.on('status', ({ upstream }) => {
      entry.upstreamDown = upstream === 'down';
      if (announcing) return;
      announcing = true;
      setImmediate(() => {
        announcing = false;
        const down = entry.upstreamDown ?? false;
        if (down === announcedDown || session.closed) return;
        announcedDown = down;
        log.warnRepeated(`upstream-status ${entry.id}`, `tunnel ${entry.id}: the connector reports its upstream ${down ? 'down' : 'back up'}`);
        this.options.onTunnelChange?.(entry, false);
        if (!down) registry.markReady(entry);
      });
    });
    // Per peer (an address, or an IPv6 /64), so one peer's flood of broken frames or bad heads is one line per window.
    const peer = addressGroup(remoteAddress);
    session.on('protocol-error', (reason) => log.warnRepeated(`protocol-error ${peer}`, `tunnel ${entry.id} from ${remoteAddress} protocol error: ${peerText(reason)}`));
    session.on('stream-error', (streamId, reason) => log.warnRepeated(`stream-error ${peer}`, `tunnel ${entry.id} stream ${streamId} reset: ${peerText(reason)}`));
    session.on('close', (code, reason) => {
      clearTimeout(helloTimer);
      this.expiring.delete(entry);
      registry.remove(entry);
      this.byId.delete(entry.id);
      this.options.onTunnelChange?.(entry, true);
      log.info(`tunnel ${entry.id} closed (${code}${reason ? `: ${peerText(reason)}` : ''})`);
    });
  }

  /** One of this gateway's own open tunnels. */
  tunnel(id: string): TunnelEntry | undefined {
    return this.byId.get(id);
  }

  /** Sends a tunnel its current binding (after Hello, and whenever it changes). */
  sendSettings(entry: TunnelEntry): void {
    if (!entry.hello || entry.session.closed) return;
    const deployment = this.options.registries.forAccount(entry.accountId).servingName(entry);
    entry.session.sendSettings({
      deployment,
      serving: deployment !== null && !entry.retired,
      limits: this.limits,
      heartbeatMs: this.options.heartbeatMs,
      tunnelId: entry.id,
      accepts: [...GATEWAY_ACCEPTS],
    });
    if (entry.hello) this.options.onTunnelChange?.(entry, false);
  }

  close(): void {
    clearInterval(this.expiryTimer);
    this.wss.close();
  }
}

function reject(socket: Duplex, status: number, code: string, message: string): void {
  const body = JSON.stringify(openAIError(message, status === 401 ? 'authentication_error' : 'invalid_request_error', code));
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 426: 'Upgrade Required', 503: 'Service Unavailable' }[status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { type WebSocketServer } from 'ws';
import { createTunnelSocketServer } from './tunnel-socket-server.js';
import { Backoff } from '../../shared/backoff.js';
import { CloseCode, DEFAULT_LIMITS, MAX_MESSAGE_BYTES, ResetCode, TUNNEL_SUBPROTOCOL, type RequestHead } from '../../shared/tunnel-protocol.js';
import { peerText, type Logger } from '../logging/logger.js';
import { TunnelSession, type TunnelStream } from '../tunnel/tunnel-session.js';
import type { TunnelEntry } from './tunnel-registry.js';

/**
 * The authenticated internal hop between gateway replicas: one WebSocket per pair and
 * direction, speaking the tunnel protocol itself. A replica that has a request for a member
 * another replica holds opens a stream on its link to that replica, naming the tunnel in the
 * head; the holder relays the stream onto the connector's tunnel and the answer back, frame
 * for frame, with each side's flow-control windows in between. So a hop costs one
 * multiplexed relay (frames batched per event-loop turn, no HTTP parsing), and the request's
 * routing, limits and dialect work are done once, by the replica the client reached.
 *
 * Replicas authenticate with a credential derived from a secret in the shared database
 * (PostgresGatewayStore.peerCredential): anything else at `/v1/peer` gets 401.
 */

export const PEER_PATH = '/v1/peer';
const REPLICA_HEADER = 'x-tokios-replica';

export interface PeerLinksOptions {
  replicaId: string;
  credential: string;
  log: Logger;
  heartbeatMs: number;
  /** The holder's side: this replica's own tunnel with that id, if it has one. */
  tunnel: (id: string) => TunnelEntry | undefined;
  /** A link to `replica` came up (its session carries our streams to it) or went down (null). */
  onLink: (replica: string, session: TunnelSession | null) => void;
}

interface Outgoing {
  url: string;
  session: TunnelSession | null;
  ws: WebSocket | null;
  timer: NodeJS.Timeout | null;
  backoff: Backoff;
}

export class PeerLinks {
  private readonly wss: WebSocketServer;
  private readonly outgoing = new Map<string, Outgoing>();
  private readonly incoming = new Set<TunnelSession>();
  private readonly expected: Buffer;
  private closed = false;

  constructor(private readonly options: PeerLinksOptions) {
    this.expected = digest(options.credential);
    this.wss = createTunnelSocketServer();
  }

  /** Keeps a link to `replica` at `url` up (dials now, and again after it drops). */
  ensure(replica: string, url: string): void {
    if (this.closed || replica === this.options.replicaId) return;
    const link = this.outgoing.get(replica);
    if (link && link.url === url) return;
    if (link) this.drop(replica);
    const fresh: Outgoing = { url, session: null, ws: null, timer: null, backoff: new Backoff({ baseMs: 100, capMs: 2000, stableMs: 5000 }) };
    this.outgoing.set(replica, fresh);
    this.dial(replica, fresh);
  }

  /** Stops linking to `replica` (it is gone). */
  drop(replica: string): void {
    const link = this.outgoing.get(replica);
    if (!link) return;
    this.outgoing.delete(replica);
    if (link.timer) clearTimeout(link.timer);
    if (link.session) link.session.destroy('replica gone');
    else link.ws?.terminate();
  }

  /** The HTTP server's upgrade handler for PEER_PATH. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const presented = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1] ?? '';
    if (!timingSafeEqual(digest(presented), this.expected)) {
      this.options.log.warnRepeated(`peer-rejected ${req.socket.remoteAddress}`, `peer link from ${req.socket.remoteAddress} rejected: wrong credential`);
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const from = peerText(String(req.headers[REPLICA_HEADER] ?? 'unknown'), 64);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const session = new TunnelSession(ws, { role: 'connector', limits: DEFAULT_LIMITS, heartbeatMs: this.options.heartbeatMs });
      this.incoming.add(session);
      session.on('stream', (stream, streamHead) => this.relay(stream, streamHead));
      session.on('close', () => this.incoming.delete(session));
      this.options.log.info(`peer link from replica ${from} accepted`);
    });
  }

  /** Requests other replicas have in flight through this one. */
  get relaying(): number {
    let n = 0;
    for (const session of this.incoming) n += session.streamCount;
    return n;
  }

  close(): void {
    this.closed = true;
    for (const replica of [...this.outgoing.keys()]) this.drop(replica);
    for (const session of this.incoming) session.close(CloseCode.GoingAway, 'replica shutting down');
    this.wss.close();
  }

  private dial(replica: string, link: Outgoing): void {
    if (this.closed || this.outgoing.get(replica) !== link) return;
    const url = new URL(link.url);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.pathname = url.pathname.replace(/\/+$/, '') + PEER_PATH;
    const ws = new WebSocket(url, TUNNEL_SUBPROTOCOL, {
      headers: { authorization: `Bearer ${this.options.credential}`, [REPLICA_HEADER]: this.options.replicaId },
      perMessageDeflate: false,
      maxPayload: MAX_MESSAGE_BYTES,
      handshakeTimeout: 5000,
      generateMask: () => undefined,
    });
    link.ws = ws;
    ws.on('error', () => undefined);
    ws.on('open', () => {
      link.backoff.up();
      const session = new TunnelSession(ws, { role: 'gateway', limits: DEFAULT_LIMITS, heartbeatMs: this.options.heartbeatMs });
      link.session = session;
      this.options.log.info(`peer link to replica ${replica} (${link.url}) up`);
      this.options.onLink(replica, session);
    });
    ws.on('close', () => {
      const had = link.session !== null;
      link.session = null;
      link.ws = null;
      if (had) {
        this.options.log.info(`peer link to replica ${replica} down`);
        this.options.onLink(replica, null);
      }
      if (this.closed || this.outgoing.get(replica) !== link) return;
      link.backoff.ended();
      link.timer = setTimeout(() => this.dial(replica, link), link.backoff.next());
      link.timer.unref();
    });
  }

  /**
   * The holder's side of a hop: the stream another replica opened, onto the tunnel it names.
   * A tunnel that is gone or draining refuses the stream, so the sender tries another member.
   */
  private relay(inbound: TunnelStream, head: RequestHead): void {
    const entry = head.tunnel ? this.options.tunnel(head.tunnel) : undefined;
    if (!entry?.hello || entry.retired || !entry.session.canOpenStream) {
      inbound.reset(ResetCode.RefusedStream, 'that connector is no longer on this replica');
      return;
    }
    const { tunnel: _tunnel, ...forward } = head;
    const outbound = entry.session.openStream(forward, inbound.remoteEnded);
    pipe(inbound, outbound);
  }
}

/**
 * Joins two streams: the request (inbound → outbound) and the answer (outbound → inbound).
 * Credit goes back to a sender only once the other stream took the bytes, so the relay holds
 * at most one window per direction.
 */
function pipe(inbound: TunnelStream, outbound: TunnelStream): void {
  let requestCredit = 0;
  let answerCredit = 0;
  inbound.handler = {
    onData(chunk) {
      if (outbound.write(chunk)) inbound.consumed(chunk.length);
      else requestCredit += chunk.length;
    },
    onEnd: () => outbound.end(),
    onReset: (code, reason) => outbound.reset(code, reason),
    onDrain() {
      const bytes = answerCredit;
      answerCredit = 0;
      outbound.consumed(bytes);
    },
  };
  outbound.handler = {
    onHead: (head) => inbound.sendHead(head),
    onData(chunk) {
      if (inbound.write(chunk)) outbound.consumed(chunk.length);
      else answerCredit += chunk.length;
    },
    onEnd: () => inbound.end(),
    onReset: (code, reason) => inbound.reset(code, reason),
    onDrain() {
      const bytes = requestCredit;
      requestCredit = 0;
      inbound.consumed(bytes);
    },
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
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
 * Replicas authenticate each other with a credential derived from a secret in the shared
 * database (PostgresGatewayStore.peerCredential), which never crosses the wire: the dialer
 * proves it knows it for the URL it dials (a fresh nonce and the time, MACed), the replica
 * there proves it back on that nonce. A URL in Redis can point anywhere, so whatever
 * answers there learns nothing it could present to a real replica, and gets no streams
 * unless it proved it holds the credential too. Anything else at `/v1/peer` gets 401.
 */

export const PEER_PATH = '/v1/peer';
const REPLICA_HEADER = 'x-tokios-replica';
/** The accepting replica's answer to the dialer's nonce. */
const PROOF_HEADER = 'x-tokios-peer-proof';
/** How far a dialer's clock may be from ours; a proof is accepted once within it. */
const PROOF_WINDOW_MS = 60_000;

export interface PeerLinksOptions {
  replicaId: string;
  credential: string;
  /** The URL the others dial to reach this replica (what their proofs name). */
  ownUrl: () => string;
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
  /** Nonces of proofs accepted within the window: a proof seen on the wire cannot be replayed. */
  private readonly seenNonces = new Map<string, number>();
  /** The nonce each accepted upgrade answers in its 101. */
  private readonly acceptedNonce = new WeakMap<IncomingMessage, string>();
  private closed = false;

  constructor(private readonly options: PeerLinksOptions) {
    this.wss = createTunnelSocketServer();
    this.wss.on('headers', (headers, req) => {
      const nonce = this.acceptedNonce.get(req);
      if (nonce) headers.push(`${PROOF_HEADER}: ${this.mac('accept', this.options.ownUrl(), 0, nonce)}`);
    });
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
    const nonce = this.verifyDial(String(req.headers.authorization ?? ''));
    if (!nonce) {
      this.options.log.warnRepeated('peer-rejected', `peer link from ${req.socket.remoteAddress} rejected: no valid proof of the cluster credential (another database's replica, a replayed proof, or clocks more than 60 s apart)`);
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.acceptedNonce.set(req, nonce);
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
    const nonce = randomBytes(16).toString('hex');
    const at = Date.now();
    let proven = false;
    const ws = new WebSocket(url, TUNNEL_SUBPROTOCOL, {
      headers: { authorization: `TokiosPeer ${at}.${nonce}.${this.mac('dial', link.url, at, nonce)}`, [REPLICA_HEADER]: this.options.replicaId },
      perMessageDeflate: false,
      maxPayload: MAX_MESSAGE_BYTES,
      handshakeTimeout: 5000,
      generateMask: () => undefined,
    });
    link.ws = ws;
    ws.on('error', () => undefined);
    ws.on('upgrade', (res) => {
      proven = sameText(String(res.headers[PROOF_HEADER] ?? ''), this.mac('accept', link.url, 0, nonce));
    });
    ws.on('open', () => {
      if (!proven) {
        // Whatever answers at that URL does not hold the credential: it gets no streams.
        this.options.log.warnRepeated(`peer-unproven ${replica}`, `peer link to replica ${replica} (${link.url}) refused: the server there did not prove the cluster credential`);
        return ws.terminate();
      }
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

  /** The MAC binding the credential to one handshake: who speaks, the URL dialled, the time and nonce. */
  private mac(role: 'dial' | 'accept', url: string, at: number, nonce: string): string {
    return createHmac('sha256', this.options.credential).update(`tokios peer ${role}\n${url}\n${at}\n${nonce}`).digest('base64url');
  }

  /** The nonce of a valid, fresh, unused dial proof for this replica's URL; null otherwise. */
  private verifyDial(authorization: string): string | null {
    const match = /^TokiosPeer (\d{1,15})\.([0-9a-f]{32})\.([\w-]{43})$/.exec(authorization);
    if (!match) return null;
    const at = Number(match[1]);
    const nonce = match[2]!;
    const now = Date.now();
    if (Math.abs(now - at) > PROOF_WINDOW_MS || this.seenNonces.has(nonce)) return null;
    if (!sameText(match[3]!, this.mac('dial', this.options.ownUrl(), at, nonce))) return null;
    for (const [seen, time] of this.seenNonces) if (now - time > PROOF_WINDOW_MS) this.seenNonces.delete(seen);
    this.seenNonces.set(nonce, at);
    return nonce;
  }

  /**
   * The holder's side of a hop: the stream another replica opened, onto the tunnel it names,
   * only if that tunnel belongs to the account the request was routed for. A tunnel that is
   * gone or draining refuses the stream, so the sender tries another member.
   */
  private relay(inbound: TunnelStream, head: RequestHead): void {
    const entry = head.tunnel ? this.options.tunnel(head.tunnel) : undefined;
    if (!entry?.hello || entry.retired || !entry.session.canOpenStream) {
      inbound.reset(ResetCode.RefusedStream, 'that connector is no longer on this replica');
      return;
    }
    if (entry.accountId !== head.account) {
      // The sender's directory (Redis) put another account's connector under this request's name.
      this.options.log.warnRepeated('peer-account', `a request relayed for another account than tunnel ${entry.id}'s was refused; check who can write to Redis`);
      inbound.reset(ResetCode.RefusedStream, 'that connector is no longer on this replica');
      return;
    }
    const { tunnel: _tunnel, account: _account, ...forward } = head;
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

/** Equality that takes as long whatever the first differing byte. */
function sameText(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

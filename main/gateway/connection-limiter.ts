import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { openAIError } from '../../shared/errors.js';
import type { Logger } from '../logging/logger.js';
import { addressGroup } from './address-group.js';

/**
 * Caps the gateway's open connections, in total and per peer (an IPv4 address, or an IPv6
 * /64: address-group.ts), so no one peer — nor a crowd of idle sockets — can take every
 * socket and the memory behind them, or lock anyone else out:
 *
 * - A connection that has not sent a whole request head within
 *   {@link ConnectionLimits.firstRequestMs} of connecting is closed: an idle socket costs
 *   its opener nothing but holds a slot (before, it lived until the 20 s header timeout).
 * - At the total cap, a new connection takes the place of the one that has waited longest
 *   for a request (new, or idle between keep-alive requests), which is closed; only when
 *   every connection is in use (a request in flight, or a tunnel) is the new one refused.
 *   So idle sockets, from however many addresses, can never keep out a client or a
 *   reconnecting connector: a connection in use — an authenticated tunnel, an answer
 *   streaming — is never the one closed. (nginx likewise reuses idle keep-alive connections
 *   when it runs out.)
 * - Per peer, connections past its cap (by default an eighth of the total, so at least
 *   eight peers share the gateway) get a 503 saying which limit they met, and are closed
 *   before their request is read.
 *
 * Refusals and closings are logged as repeated warnings (one line, then a count).
 */

export interface ConnectionLimits {
  /** Open connections at once, tunnels included. */
  maxConnections: number;
  /** Open connections at once from one peer (an IPv4 address, or an IPv6 /64). */
  maxPerAddress: number;
  /** How long a new connection has to send its first request head (after TLS, within it). */
  firstRequestMs: number;
}

export const DEFAULT_MAX_CONNECTIONS = 8192;
/** A client sends its request as soon as it has connected; this is ample even on a slow link. */
export const DEFAULT_FIRST_REQUEST_MS = 5000;

/** The limits for a total (default 8192) and a per-peer cap (default an eighth of the total). */
export function connectionLimits(options: { maxConnections?: number | undefined; maxPerAddress?: number | undefined; firstRequestMs?: number | undefined } = {}): ConnectionLimits {
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  return {
    maxConnections,
    maxPerAddress: options.maxPerAddress ?? Math.max(1, Math.floor(maxConnections / 8)),
    firstRequestMs: options.firstRequestMs ?? DEFAULT_FIRST_REQUEST_MS,
  };
}

const REFUSED = Symbol('tokios.refused');

/** What the limiter knows of one counted connection. */
interface Connection {
  /** The TCP socket (under TLS, the one the TLS socket runs on). */
  socket: Socket;
  /** Remote address and port: the same on a TCP socket and the TLS socket over it. */
  key: string;
  group: string;
  /** Requests in flight on it; a tunnel is in use for good. */
  busy: number;
  /** Closes it unless its first request head arrives in time. */
  deadline: NodeJS.Timeout | null;
  /** Uncounted already (closed to make room, or closed). */
  gone: boolean;
}

export class ConnectionLimiter {
  private total = 0;
  private readonly perGroup = new Map<string, number>();
  private readonly byKey = new Map<string, Connection>();
  /** Connections waiting for a request, the one waiting longest first (a Set keeps insertion order). */
  private readonly waiting = new Set<Connection>();

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly log: Logger,
  ) {}

  /** The server's 'connection' listener: counts the socket, makes room for it, or refuses it. */
  readonly onConnection = (socket: Socket): void => {
    const group = addressGroup(socket.remoteAddress);
    const fromGroup = this.perGroup.get(group) ?? 0;
    if (fromGroup >= this.limits.maxPerAddress) return this.refuse(socket, group, `${this.limits.maxPerAddress} connections from one address`);
    if (this.total >= this.limits.maxConnections && !this.makeRoom()) return this.refuse(socket, group, `the gateway's ${this.limits.maxConnections} connections`);
    const connection: Connection = { socket, key: keyOf(socket), group, busy: 0, deadline: null, gone: false };
    connection.deadline = setTimeout(() => socket.destroy(), this.limits.firstRequestMs);
    connection.deadline.unref();
    this.byKey.set(connection.key, connection);
    this.total++;
    this.perGroup.set(group, fromGroup + 1);
    this.waiting.add(connection);
    socket.once('close', () => this.uncount(connection));
  };

  /** The server's 'request' listener: the connection is in use until the response is over. */
  readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const connection = this.inUse(req.socket);
    if (!connection) return;
    connection.busy++;
    res.once('close', () => {
      if (--connection.busy === 0 && !connection.gone) this.waiting.add(connection);
    });
  };

  /** An upgraded connection (a tunnel, once its token is checked) is in use for as long as it lives. */
  onUpgrade(socket: Socket): void {
    const connection = this.inUse(socket);
    if (connection) connection.busy = Number.POSITIVE_INFINITY;
  }

  /** True for a socket this limiter refused: the HTTP layer must not answer on it. */
  static isRefused(socket: Socket): boolean {
    return (socket as Socket & { [REFUSED]?: boolean })[REFUSED] === true;
  }

  get open(): number {
    return this.total;
  }

  /** The connection `socket` is (or runs over), marked in use from now: no deadline, not a candidate to make room. */
  private inUse(socket: Socket): Connection | undefined {
    const connection = this.byKey.get(keyOf(socket));
    if (!connection || connection.gone) return undefined;
    if (connection.deadline) {
      clearTimeout(connection.deadline);
      connection.deadline = null;
    }
    this.waiting.delete(connection);
    return connection;
  }

  /** Closes the connection that has waited longest for a request; false when every one is in use. */
  private makeRoom(): boolean {
    const oldest = this.waiting.values().next();
    if (oldest.done) return false;
    const connection = oldest.value;
    this.uncount(connection);
    connection.socket.destroy();
    this.log.warnRepeated('connection cap: idle closed', `closed an idle connection from ${connection.group} to make room for a new one: all of the gateway's ${this.limits.maxConnections} connections were open`);
    return true;
  }

  private uncount(connection: Connection): void {
    if (connection.gone) return;
    connection.gone = true;
    if (connection.deadline) clearTimeout(connection.deadline);
    this.waiting.delete(connection);
    if (this.byKey.get(connection.key) === connection) this.byKey.delete(connection.key);
    this.total--;
    const left = (this.perGroup.get(connection.group) ?? 1) - 1;
    if (left === 0) this.perGroup.delete(connection.group);
    else this.perGroup.set(connection.group, left);
  }

  private refuse(socket: Socket, group: string, limit: string): void {
    (socket as Socket & { [REFUSED]?: boolean })[REFUSED] = true;
    const body = JSON.stringify(openAIError(`Too many connections: this gateway allows ${limit} at once. Retry shortly, or reuse connections (keep-alive).`, 'service_unavailable', 'too_many_connections'));
    socket.on('error', () => undefined);
    socket.end(`HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    socket.destroySoon();
    this.log.warnRepeated(`connection cap ${limit}`, `refused a connection from ${group}: over ${limit}`);
  }
}

/** Which connection a socket is: a TLS socket reports the address and port of the TCP socket under it. */
function keyOf(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}

import type { Socket } from 'node:net';
import { openAIError } from '../../shared/errors.js';
import type { Logger } from '../logging/logger.js';

/**
 * Caps the gateway's open connections, in total and per remote address, so no one peer —
 * nor a crowd of half-open requests — can take every socket and the memory behind them.
 * A connection over a cap gets a 503 saying which limit it met and is closed before its
 * request is read; the refusals are logged as repeated warnings (one line, then a count).
 */

export interface ConnectionLimits {
  /** Open connections at once, tunnels included. */
  maxConnections: number;
  /** Open connections at once from one remote address. */
  maxPerAddress: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = { maxConnections: 8192, maxPerAddress: 2048 };

const REFUSED = Symbol('tokios.refused');

export class ConnectionLimiter {
  private total = 0;
  private readonly perAddress = new Map<string, number>();

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly log: Logger,
  ) {}

  /** The server's 'connection' listener: counts the socket, or refuses it. */
  readonly onConnection = (socket: Socket): void => {
    const address = socket.remoteAddress ?? 'unknown';
    const fromAddress = this.perAddress.get(address) ?? 0;
    const limit = this.total >= this.limits.maxConnections ? `the gateway's ${this.limits.maxConnections} connections` : fromAddress >= this.limits.maxPerAddress ? `${this.limits.maxPerAddress} connections from one address` : null;
    if (limit) return this.refuse(socket, address, limit);
    this.total++;
    this.perAddress.set(address, fromAddress + 1);
    socket.once('close', () => {
      this.total--;
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left === 0) this.perAddress.delete(address);
      else this.perAddress.set(address, left);
    });
  };

  /** True for a socket this limiter refused: the HTTP layer must not answer on it. */
  static isRefused(socket: Socket): boolean {
    return (socket as Socket & { [REFUSED]?: boolean })[REFUSED] === true;
  }

  get open(): number {
    return this.total;
  }

  private refuse(socket: Socket, address: string, limit: string): void {
    (socket as Socket & { [REFUSED]?: boolean })[REFUSED] = true;
    const body = JSON.stringify(openAIError(`Too many connections: this gateway allows ${limit} at once. Retry shortly, or reuse connections (keep-alive).`, 'service_unavailable', 'too_many_connections'));
    socket.on('error', () => undefined);
    socket.end(`HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    socket.destroySoon();
    this.log.warnRepeated(`connection cap ${limit}`, `refused a connection from ${address}: over ${limit}`);
  }
}

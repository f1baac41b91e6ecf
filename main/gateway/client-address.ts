import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';

/**
 * Who a request comes from, and whether it reached us over HTTPS. Behind a reverse proxy
 * (Caddy, nginx) every request arrives from the proxy's address, so the client's address is
 * in `X-Forwarded-For` — but any client can send that header, so it is believed only from
 * the proxies the operator named (`--trust-proxy 127.0.0.1`), and only as far as the
 * chain stays within them. Off by default: without it the socket's address is used.
 */
export class ClientAddress {
  private readonly trusted: ReadonlySet<string>;

  constructor(trustedProxies: readonly string[] = []) {
    this.trusted = new Set(trustedProxies.map(normalize));
  }

  /** The client's address: the socket's, or the nearest untrusted hop of X-Forwarded-For. */
  of(req: IncomingMessage): string {
    const peer = normalize(req.socket.remoteAddress ?? 'unknown');
    if (!this.trusted.has(peer)) return peer;
    const header = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((h) => normalize(h.trim())).filter(Boolean);
    // Walk from the proxy back towards the client; the first hop we do not trust is the client.
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!;
      if (!isIP(hop)) return peer;
      if (!this.trusted.has(hop)) return hop;
    }
    return hops[0] ?? peer;
  }

  /** Whether the client's connection is HTTPS: TLS here, or a trusted proxy says so. */
  secure(req: IncomingMessage): boolean {
    if ((req.socket as TLSSocket).encrypted) return true;
    if (!this.trusted.has(normalize(req.socket.remoteAddress ?? ''))) return false;
    return String(req.headers['x-forwarded-proto'] ?? '').split(',')[0]!.trim() === 'https';
  }
}

/** `::ffff:127.0.0.1` and `127.0.0.1` are the same client. */
function normalize(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

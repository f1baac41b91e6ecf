import type { OutgoingHttpHeaders } from 'node:http';
import type { ResponseHead } from '../../shared/tunnel-protocol.js';
import { isDroppedResponseHeader } from '../http/forwarding-headers.js';
import { isGatewayOwnedHeader } from './dialects/request-id.js';

/**
 * How a deployment's answer is framed toward the client. The framing is the gateway's own:
 * a connector's `Content-Length` is a claim, and passing it on unchecked would let a hostile
 * one end a response early and have the bytes after it read by a keep-alive client (or a
 * pooling proxy in front of the gateway) as the *next* response — to someone else's
 * request. So the length is kept only when it is one well-formed number, and the data
 * plane then holds the connector to it byte for byte (see `ResponseLength`); without one,
 * Node frames the body itself (chunked).
 */

export type Framing = { headers: OutgoingHttpHeaders; length: number | null } | { problem: string };

const DIGITS = /^\d{1,15}$/;

/**
 * `extra`: headers of the gateway's own to add (its rate-limit headers, which replace any
 * an upstream sent). `bodyChanges`: the gateway will take bytes out of the body (usage
 * events the client did not ask for), so the length still holds the connector to what it
 * declared but is not passed on: Node frames the shorter body itself.
 */
export function responseFraming(head: ResponseHead, extra: Readonly<Record<string, string>> | null = null, bodyChanges = false): Framing {
  const headers: OutgoingHttpHeaders = {};
  let length: number | null = null;
  for (const name in head.headers) {
    const value = head.headers[name]!;
    if (name.length === 14 && name.toLowerCase() === 'content-length') {
      // However many times and in whatever case it is sent, it must be one number.
      for (const item of Array.isArray(value) ? value : [value]) {
        for (const part of item.split(',')) {
          const text = part.trim();
          if (!DIGITS.test(text)) return { problem: `invalid content-length '${text.slice(0, 40)}'` };
          const declared = Number(text);
          if (length !== null && declared !== length) return { problem: `conflicting content-length values ${length} and ${declared}` };
          length = declared;
        }
      }
      continue;
    }
    if (extra && name.toLowerCase().startsWith('x-ratelimit-')) continue;
    if (!isDroppedResponseHeader(name) && !isGatewayOwnedHeader(name)) headers[name] = value;
  }
  // These statuses have no body whatever a header says (RFC 9110 §6.4.1).
  if (head.status === 204 || head.status === 304) length = null;
  if (length !== null && !bodyChanges) headers['content-length'] = length;
  if (extra) for (const name in extra) headers[name] = extra[name];
  return { headers, length };
}

/**
 * Holds a response to the length it declared. Bytes past it are never passed on: the
 * response ends at its declared length, which is where the client already believes it
 * ends, so the connection stays good for the client's next request. A response that ends
 * short cannot be completed honestly: its connection is cut.
 */
export class ResponseLength {
  private remaining: number;

  constructor(declared: number) {
    this.remaining = declared;
  }

  /** How many of the next `bytes` still belong to the response (fewer means it overran). */
  take(bytes: number): number {
    const fits = Math.min(bytes, this.remaining);
    this.remaining -= fits;
    return fits;
  }

  /** Why the response cannot end here, or null when it is complete. */
  shortfall(): string | null {
    return this.remaining === 0 ? null : `ended ${this.remaining} bytes short of its content-length`;
  }
}

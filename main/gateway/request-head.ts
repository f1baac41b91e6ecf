import type { IncomingMessage } from 'node:http';
import { DEFAULT_LIMITS, MAX_HEAD_HEADERS, MAX_REQUEST_TARGET, type RequestHead } from '../../shared/tunnel-protocol.js';
import { connectionNominated, isDroppedRequestHeader } from '../http/forwarding-headers.js';
import { REQUEST_ID_HEADER } from './dialects/request-id.js';

/**
 * What of a client's request goes into the tunnel, and the refusal of what the tunnel
 * cannot carry. A connector treats a head over the protocol's limits as a protocol error
 * and closes the whole tunnel, so such a request must be turned away here, as the client's
 * own 431 or 414, before it can cost every other stream on that tunnel.
 */

export interface HeadRefusal {
  status: 414 | 431;
  code: string;
  message: string;
}

/** Headers passed on: neither hop-by-hop, nor credentials, nor nominated by `Connection`, nor the gateway's own request id. */
export function forwardHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  const nominated = connectionNominated(req.headers.connection);
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (isDroppedRequestHeader(name) || name === REQUEST_ID_HEADER || (nominated.length > 0 && nominated.includes(name))) continue;
    const value = raw[i + 1]!;
    out[name] = out[name] === undefined ? value : `${out[name]}, ${value}`;
  }
  return out;
}

/** Why `target` and `headers` cannot travel in a request head to a peer accepting `maxHeadBytes`, or null. */
export function headRefusal(target: string, headers: Record<string, string>, maxHeadBytes: number = DEFAULT_LIMITS.maxHeaderBytes): HeadRefusal | null {
  if (target.length > MAX_REQUEST_TARGET) {
    return { status: 414, code: 'uri_too_long', message: `The request target is ${target.length} characters long; this gateway passes on at most ${MAX_REQUEST_TARGET}.` };
  }
  let count = 0;
  // JSON escaping makes a character at most 6 bytes; only near the limit is the exact size worth computing.
  let bound = 128 + target.length * 6;
  for (const name in headers) {
    count++;
    bound += (name.length + headers[name]!.length) * 6 + 6;
  }
  if (count > MAX_HEAD_HEADERS) {
    return { status: 431, code: 'request_header_fields_too_large', message: `The request has ${count} headers; this gateway passes on at most ${MAX_HEAD_HEADERS}.` };
  }
  if (bound > maxHeadBytes) {
    const head: RequestHead = { method: 'POST', path: target, headers, deployment: 'x'.repeat(64) };
    const bytes = Buffer.byteLength(JSON.stringify(head));
    if (bytes > maxHeadBytes) {
      return { status: 431, code: 'request_header_fields_too_large', message: `The request's headers take ${bytes} bytes once encoded; the deployment accepts at most ${maxHeadBytes}.` };
    }
  }
  return null;
}

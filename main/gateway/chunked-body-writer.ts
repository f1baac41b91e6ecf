import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Writes a streamed answer's body chunks to the client. Once the head is out and Node
 * frames the body as chunked, each chunk goes to the socket as one buffer already framed
 * (`size CRLF data CRLF`), in one `write`: `res.write` would queue four pieces behind a
 * cork, uncork them on the next tick and hand the socket a four-part `writev` — per token,
 * that bookkeeping costs more than the copy of a 230-byte event. The end of the body
 * (`0 CRLF CRLF`) stays Node's, through `res.end()`.
 *
 * Node's own fields decide when the socket is ours to write to: `chunkedEncoding` and
 * `_headerSent`, which `node:http` has kept since its first releases; should either ever
 * go, every chunk falls back to `res.write` (slower, never wrong).
 *
 * Anything else — a body with a declared length, an HTTP/1.0 client, a response not yet
 * attached to its socket (pipelining), bytes Node still holds, a response already ended —
 * goes through `res.write`, so the two never reorder.
 */
export class ChunkedBodyWriter {
  constructor(private readonly res: ServerResponse) {}

  /** Like `res.write` (strings as UTF-8): false means wait for {@link onceDrain} before writing more. */
  write(data: Buffer | string): boolean {
    const socket = this.directSocket();
    if (!socket) return this.res.write(data);
    const length = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    // A chunk of size 0 would end the body.
    if (length === 0) return !socket.writableNeedDrain;
    const size = length.toString(16);
    const framed = Buffer.allocUnsafe(size.length + length + 4);
    let at = framed.write(size, 0, 'latin1');
    framed[at++] = 0x0d;
    framed[at++] = 0x0a;
    at += typeof data === 'string' ? framed.write(data, at) : data.copy(framed, at);
    framed[at++] = 0x0d;
    framed[at] = 0x0a;
    return socket.write(framed);
  }

  /** Calls `fn` once the client has taken what was written (whichever way it went). */
  onceDrain(fn: () => void): void {
    const socket = this.directSocket();
    if (socket) socket.once('drain', fn);
    else this.res.once('drain', fn);
  }

  /** The socket to write to directly, when nothing of Node's framing or queue stands between. */
  private directSocket(): Socket | null {
    // `headersSent` is true from `writeHead` on, but Node puts the head on the socket only with
    // the first write (or `flushHeaders`): until then, only its own `_headerSent` knows.
    const res = this.res as ServerResponse & { chunkedEncoding?: boolean; _headerSent?: boolean };
    const socket = res.socket;
    // Once ended, the socket holds the body's last chunk: a chunk after it would open the
    // connection's next answer. Node refuses such a write with an error; so must we.
    if (!socket || res._headerSent !== true || res.chunkedEncoding !== true || res.writableEnded || socket.destroyed) return null;
    // Bytes Node still holds for this response (its head, an earlier write) must go first.
    if (res.writableLength !== socket.writableLength) return null;
    return socket;
  }
}

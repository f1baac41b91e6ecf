import { connect, type Socket } from 'node:net';

/**
 * HTTP at the byte level, for tests that must see exactly what crosses a connection:
 * pipelined requests on one keep-alive socket, requests nothing normalises on the way,
 * answers that arrive before a body is complete.
 */

export interface RawOutcome {
  /** Everything the server sent, as latin1 text. */
  text: string;
  /** The server closed (or reset) the connection. */
  closed: boolean;
}

/**
 * Writes `bytes` to `port` on loopback and collects the answer until the server closes,
 * `done(text)` holds, or `timeoutMs` passes.
 */
export function rawExchange(port: number, bytes: Buffer | string, options: { done?: (text: string) => boolean; timeoutMs?: number } = {}): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    let text = '';
    let settled = false;
    const finish = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed });
    };
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (options.done?.(text)) finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    const timer = setTimeout(() => finish(false), options.timeoutMs ?? 5000);
  });
}

/** A POST as raw bytes, with the given headers, `Content-Length` from `body` unless one is given. */
export function rawPost(path: string, body: string, headers: Record<string, string> = {}): string {
  const lines = Object.entries({ host: '127.0.0.1', 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers }).map(([k, v]) => `${k}: ${v}\r\n`);
  return `POST ${path} HTTP/1.1\r\n${lines.join('')}\r\n${body}`;
}

/** Opens a socket (from `localAddress`, any of 127.0.0.0/8 on Linux) and resolves once connected; the caller writes and closes it. */
export function openSocket(port: number, localAddress?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) }, () => resolve(socket));
    socket.once('error', reject);
  });
}

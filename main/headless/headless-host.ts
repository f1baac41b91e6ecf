import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { API_PATH, API_SUBPROTOCOL, type ApiHandlers, type WireRequest, type WireResponse } from '../../shared/api.js';
import type { Logger } from '../logging/logger.js';
import { dispatch, forwardEvents, type EventSource } from '../core/api-dispatch.js';
import type { DownloadSlots } from './download-slots.js';

/**
 * The app without a desktop: the renderer build and the typed API on loopback. The API is
 * a WebSocket that requires the per-run secret (offered as a subprotocol `secret.<s>`,
 * compared in constant time); every request must name this host in `Host`, and a browser's
 * `Origin` must be this page, so no other site (and no DNS-rebinding trick) can drive it.
 */

export interface HeadlessHostOptions {
  core: { handlers: ApiHandlers } & EventSource;
  /** The built renderer (index.html and assets). */
  rendererDir: string;
  port?: number;
  /** Defaults to a fresh random secret per run. */
  secret?: string;
  log: Logger;
  /** One-time export downloads (`/download/<nonce>`), the headless save dialog. */
  downloads?: DownloadSlots;
  /** This run's id, told to any page that asks at `/run`: an old tab learns the app restarted. */
  runId?: string;
}

export interface HeadlessHost {
  /** The page URL with the secret in its fragment (never sent to the server in HTTP). */
  url: string;
  /** Base URL without the secret. */
  origin: string;
  port: number;
  secret: string;
  close(): Promise<void>;
}

/** The Content-Security-Policy meta tag of the built page (see renderer/index.html). */
const ELECTRON_CSP_TAG = /<meta http-equiv="Content-Security-Policy"[^>]*>/i;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json', '.woff2': 'font/woff2',
};

export async function startHeadlessHost(options: HeadlessHostOptions): Promise<HeadlessHost> {
  const { core, log } = options;
  const secret = options.secret ?? randomBytes(24).toString('base64url');
  const rendererDir = resolve(options.rendererDir);
  let port = 0;
  const allowedHosts = (): Set<string> => new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
  const allowedOrigins = (): Set<string> => new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://[::1]:${port}`]);

  // The page connects to one place: this host's API socket, at the host name it was opened by
  // (one of allowedHosts, checked before anything is served).
  const csp = (hostHeader: string): string =>
    [
      "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data:",
      // The API socket, and /run (which run answers here: how an old tab learns the app restarted).
      `connect-src ws://${hostHeader}${API_PATH} http://${hostHeader}/run`, "object-src 'none'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
    ].join('; ');

  const serveFile = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      res.writeHead(400).end();
      return;
    }
    let file = resolve(join(rendererDir, pathname));
    if (file !== rendererDir && !file.startsWith(rendererDir + sep)) {
      res.writeHead(404).end();
      return;
    }
    if (!existsSync(file) || statSync(file).isDirectory()) file = join(rendererDir, 'index.html');
    if (!existsSync(file)) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('The UI has not been built: run `npm run build`.');
      return;
    }
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    const html = type.startsWith('text/html');
    res.writeHead(200, {
      'content-type': type,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': html ? 'no-store' : 'public, max-age=3600',
      ...(html ? { 'content-security-policy': csp(req.headers.host ?? ''), 'x-frame-options': 'DENY' } : {}),
    });
    if (req.method === 'HEAD') res.end();
    // The page's own policy (Electron's: connect nowhere) would also apply; this host's replaces it.
    else if (html) res.end(readFileSync(file, 'utf8').replace(ELECTRON_CSP_TAG, ''));
    else createReadStream(file).pipe(res);
  };

  const server = createServer((req, res) => {
    if (!allowedHosts().has(req.headers.host ?? '')) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('Host not allowed: open the URL tokios serve printed.');
      return;
    }
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/run' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({ app: 'tokios', runId: options.runId ?? null }));
      return;
    }
    if (path.startsWith('/download/') && req.method === 'GET') return serveDownload(path.slice('/download/'.length), res);
    serveFile(req, res);
  });

  const serveDownload = (nonce: string, res: ServerResponse): void => {
    const file = /^[A-Za-z0-9_-]{43}$/.test(nonce) ? (options.downloads?.take(nonce) ?? null) : null;
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('This download link was used already or has expired: export again.');
      return;
    }
    log.info(`${file.fileName} was downloaded by the browser`);
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-disposition': `attachment; filename="${file.fileName.replace(/[^A-Za-z0-9._-]/g, '_')}"`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    }).end(file.text);
  };
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;

  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 256 * 1024,
    handleProtocols: (protocols) => (protocols.has(API_SUBPROTOCOL) ? API_SUBPROTOCOL : false),
  });
  const expected = Buffer.from(`secret.${secret}`);
  const secretOffered = (req: IncomingMessage): boolean =>
    String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => Buffer.from(p.trim()))
      .some((offered) => offered.length === expected.length && timingSafeEqual(offered, expected));

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const refuse = (status: number, why: string): void => {
      log.warn(`refused an API connection: ${why}`);
      socket.end(`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : 'Forbidden'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if ((req.url ?? '').split('?')[0] !== API_PATH) return refuse(403, `unknown path ${req.url}`);
    if (!allowedHosts().has(req.headers.host ?? '')) return refuse(403, `foreign Host '${req.headers.host}'`);
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigins().has(origin)) return refuse(403, `foreign Origin '${origin}'`);
    if (!secretOffered(req)) return refuse(401, 'wrong or missing secret');
    wss.handleUpgrade(req, socket, head, (ws) => serve(ws));
  });

  const serve = (ws: WebSocket): void => {
    const stop = forwardEvents(core, (event, payload) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ event, payload }));
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return ws.close(1003, 'text messages only');
      let request: WireRequest;
      try {
        request = JSON.parse(data.toString()) as WireRequest;
        if (typeof request.id !== 'number') throw new Error('no id');
      } catch {
        return ws.close(1007, 'malformed request');
      }
      void dispatch(core.handlers, request.method, request.args).then((outcome) => {
        if (ws.readyState !== ws.OPEN) return;
        const response: WireResponse = { id: request.id, ...outcome };
        ws.send(JSON.stringify(response));
      });
    });
    ws.on('close', stop);
    ws.on('error', () => undefined);
  };

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolveListen());
  });
  port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/#secret=${secret}`,
    origin,
    port,
    secret,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

/** The one-hop reverse proxy peer: `http-proxy` in front of the upstream, keep-alive on both sides. */
const require = createRequire(new URL('./peers/', import.meta.url));
const httpProxy = require('http-proxy') as { createProxyServer(options: object): { web(req: http.IncomingMessage, res: http.ServerResponse): void; on(event: string, fn: (...args: unknown[]) => void): void } };

const target = process.argv[2]!;
const proxy = httpProxy.createProxyServer({ target, agent: new http.Agent({ keepAlive: true, maxSockets: Infinity }), xfwd: false });
proxy.on('error', (_error, _req, res) => {
  const response = res as http.ServerResponse;
  if (!response.headersSent) response.writeHead(502);
  response.end();
});
const server = http.createServer((req, res) => proxy.web(req, res));
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}\n`));

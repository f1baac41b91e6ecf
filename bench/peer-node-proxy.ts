import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The plainest one-hop reverse proxy: node:http in, node:http out through a keep-alive
 * agent, the answer piped back. What one hop costs with nothing but Node's own HTTP stack.
 */
const target = new URL(process.argv[2]!);
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
const server = http.createServer((req, res) => {
  const upstream = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  // A client gone mid-answer stops the upstream request (a finished one keeps its pooled socket).
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}\n`));

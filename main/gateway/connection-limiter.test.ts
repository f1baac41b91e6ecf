import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../e2e/support/processes.js';
import { openSocket, rawExchange } from '../../e2e/support/raw-http.js';
import { RogueConnector } from '../../e2e/support/rogue-connector.js';
import { Logger } from '../logging/logger.js';
import { addressGroup } from './address-group.js';
import { startGateway, type Gateway, type GatewayOptions } from './gateway-server.js';
import { IMPLICIT_ACCOUNT_ID } from './gateway-store.js';

/**
 * The connection caps with a real gateway and real sockets from several loopback addresses
 * (127.0.0.0/8 is all loopback on Linux): idle unauthenticated sockets must not lock out a
 * connector or a client.
 */

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function gateway(options: Partial<GatewayOptions>): Promise<Gateway> {
  const dir = tempDir();
  const started = await startGateway({ dataDir: `${dir.path}/gw`, port: 0, log: new Logger('test-gateway'), ...options });
  cleanup.push(() => dir.remove(), () => started.destroy());
  return started;
}

async function sockets(port: number, from: string, count: number): Promise<Socket[]> {
  const opened = await Promise.all(Array.from({ length: count }, () => openSocket(port, from)));
  for (const socket of opened) {
    socket.on('error', () => undefined);
    cleanup.push(() => socket.destroy());
  }
  return opened;
}

describe('connection caps', () => {
  it('idle sockets from several addresses filling the cap do not keep out a connector or a client', async () => {
    const gw = await gateway({ maxConnections: 40, maxConnectionsPerAddress: 10, firstRequestMs: 60_000 });
    const port = gw.port;
    const idle: Socket[] = [];
    for (const from of ['127.0.0.10', '127.0.0.11', '127.0.0.12', '127.0.0.13']) idle.push(...(await sockets(port, from, 10)));
    // Counted: one more from a full address is refused, naming the limit it met.
    const [extra] = await sockets(port, '127.0.0.13', 1);
    const refused = await new Promise<string>((resolve) => {
      let text = '';
      extra!.setEncoding('latin1').on('data', (chunk: string) => (text += chunk)).on('close', () => resolve(text));
    });
    expect(refused).toMatch(/^HTTP\/1\.1 503[\s\S]*10 connections from one address/);

    const token = (await gw.admin.createToken(IMPLICIT_ACCOUNT_ID, {})).token!;
    const key = (await gw.admin.createKey(IMPLICIT_ACCOUNT_ID, { scope: 'admin' })).key!;
    const registered = await fetch(`${gw.url}/v1/deployments`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ name: 'alpha', token }) });
    expect(registered.status).toBe(201);
    const connector = await RogueConnector.connect(gw.url, token);
    cleanup.push(() => connector.close());
    await connector.serving();
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    // Each got in by closing an idle socket, the one waiting longest; the tunnel, in use, is never closed.
    await sockets(port, '127.0.0.14', 8);
    await expect.poll(() => idle.filter((s) => s.destroyed || s.readableEnded).length).toBeGreaterThanOrEqual(8);
    connector.onRequest = (request) => connector.respond(request.streamId, 200, { 'content-type': 'application/json' }, ['{"ok":true}']);
    const answer = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: '{"model":"alpha"}' });
    expect(await answer.json()).toEqual({ ok: true });
  });

  it('closes a connection that sends no request in time, and only such a one', async () => {
    const gw = await gateway({ firstRequestMs: 300 });
    const [silent] = await sockets(gw.port, '127.0.0.1', 1);
    const [used] = await sockets(gw.port, '127.0.0.1', 1);
    let answered = '';
    used!.setEncoding('latin1').on('data', (chunk: string) => (answered += chunk));
    used!.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await expect.poll(() => answered).toMatch(/^HTTP\/1\.1 200/);
    await expect.poll(() => silent!.destroyed || silent!.readableEnded, { timeout: 10_000 }).toBe(true);
    // Later than the deadline for the one that asked something: it is still open, kept alive.
    const [later] = await sockets(gw.port, '127.0.0.1', 1);
    await expect.poll(() => later!.destroyed || later!.readableEnded, { timeout: 10_000 }).toBe(true);
    expect(used!.destroyed || used!.readableEnded).toBe(false);
  });

  it('over TLS too: a connection that asked something in time is not closed at the deadline', async () => {
    const dir = tempDir('tokios-tls-');
    cleanup.push(() => dir.remove());
    const [cert, key] = [`${dir.path}/cert.pem`, `${dir.path}/key.pem`];
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const gw = await gateway({ firstRequestMs: 300, tls: { cert: readFileSync(cert), key: readFileSync(key) } });
    const secure = await new Promise<TLSSocket>((resolve, reject) => {
      const socket = tlsConnect({ port: gw.port, host: '127.0.0.1', ca: readFileSync(cert) }, () => resolve(socket));
      socket.once('error', reject);
    });
    cleanup.push(() => secure.destroy());
    let answered = '';
    secure.setEncoding('latin1').on('data', (chunk: string) => (answered += chunk));
    const ask = async (): Promise<void> => {
      answered = '';
      secure.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      await expect.poll(() => answered).toMatch(/^HTTP\/1\.1 200/);
    };
    await ask();
    const [silent] = await sockets(gw.port, '127.0.0.1', 1);
    await expect.poll(() => silent!.destroyed || silent!.readableEnded, { timeout: 10_000 }).toBe(true);
    // Well past its own deadline: the TLS connection is still there and answers again.
    expect(secure.destroyed).toBe(false);
    await ask();
  });

  it('gives one address an eighth of the connections unless told otherwise', async () => {
    const gw = await gateway({ maxConnections: 16, firstRequestMs: 60_000 });
    await sockets(gw.port, '127.0.0.20', 2);
    expect((await rawExchange(gw.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', { done: (t) => t.includes('\r\n\r\n'), timeoutMs: 5000 })).text).toMatch(/^HTTP\/1\.1 200/);
    const [third] = await sockets(gw.port, '127.0.0.20', 1);
    const text = await new Promise<string>((resolve) => {
      let got = '';
      third!.setEncoding('latin1').on('data', (chunk: string) => (got += chunk)).on('close', () => resolve(got));
    });
    expect(text).toMatch(/^HTTP\/1\.1 503[\s\S]*2 connections from one address/);
  });
});

describe('address groups', () => {
  it('counts an IPv6 host by its /64, an IPv4 address (mapped or not) by itself', () => {
    expect(addressGroup('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressGroup('2001:db8:1:2:ffff:eeee:dddd:cccc')).toBe('2001:db8:1:2::/64');
    expect(addressGroup('2001:0db8:0001:0002::7%eth0')).toBe('2001:db8:1:2::/64');
    expect(addressGroup('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressGroup('::1')).toBe('0:0:0:0::/64');
    expect(addressGroup('64:ff9b::192.0.2.33')).toBe('64:ff9b:0:0::/64');
    expect(addressGroup('::ffff:198.51.100.7')).toBe('198.51.100.7');
    expect(addressGroup('198.51.100.7')).toBe('198.51.100.7');
    expect(addressGroup(undefined)).toBe('unknown');
  });
});

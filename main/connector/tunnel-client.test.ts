import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { TokiosError } from '../../shared/errors.js';
import { DEFAULT_LIMITS, type SettingsPayload } from '../../shared/tunnel-protocol.js';
import { TcpCutProxy } from '../../e2e/support/tcp-cut-proxy.js';
import { tempDirsPerTest } from '../../e2e/support/temp-dirs.js';
import { GatewayClient } from '../gateway/gateway-client.js';
import { startGateway, type Gateway } from '../gateway/gateway-server.js';
import { AccountAdmin } from '../gateway/account-admin.js';
import { FileGatewayStore } from '../gateway/file-store.js';
import { IMPLICIT_ACCOUNT_ID } from '../gateway/gateway-store.js';
import { Logger } from '../logging/logger.js';
import { TunnelClient, type TunnelClientStatus } from './tunnel-client.js';

/**
 * The connector's tunnel client against a real gateway on loopback: it waits unbound until
 * its token gets a name, comes back after the link is cut, keeps trying while the gateway
 * is down, and stops for good when the gateway rejects its token.
 */

const fresh = tempDirsPerTest('tokios-client-');
const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

const FAST = { baseMs: 20, capMs: 100 };
const log = new Logger('test-client');

async function gateway(port = 0, dataDir = fresh()): Promise<Gateway> {
  const gw = await startGateway({ dataDir, port, log: new Logger('test-gateway'), heartbeatMs: 500 });
  closers.push(() => gw.destroy());
  return gw;
}

function client(gatewayUrl: string, token: string): { client: TunnelClient; statuses: TunnelClientStatus[]; settings: SettingsPayload[]; errors: TokiosError[] } {
  const c = new TunnelClient({
    gatewayUrl, token, log, backoff: FAST,
    hello: () => ({ version: 'test', upstreamKind: 'ollama', models: ['gemma3:4b'], model: 'gemma3:4b', limits: DEFAULT_LIMITS }),
  });
  const statuses: TunnelClientStatus[] = [];
  const settings: SettingsPayload[] = [];
  const errors: TokiosError[] = [];
  c.on('status', (s) => statuses.push(s));
  c.on('settings', (s) => settings.push(s));
  c.on('error-seen', (e) => errors.push(e));
  c.on('fatal', (e) => errors.push(e));
  closers.push(() => c.destroy());
  return { client: c, statuses, settings, errors };
}

describe('tunnel client', () => {
  it('connects, waits unbound, and serves once its token is given a name', async () => {
    const gw = await gateway();
    const token = (await gw.admin.createToken(IMPLICIT_ACCOUNT_ID, {})).token!;
    const { client: c, settings } = client(gw.url, token);
    c.start();
    await expect.poll(() => settings.at(-1)).toMatchObject({ deployment: null });
    expect(c.status).toBe('connected');
    await new GatewayClient(gw.url).register('gemma', token);
    await expect.poll(() => settings.at(-1)).toMatchObject({ deployment: 'gemma', serving: true });
  });

  it('comes back by itself after the link is cut', async () => {
    const gw = await gateway();
    const proxy = await new TcpCutProxy(gw.port).listen();
    closers.push(() => proxy.close());
    const token = (await gw.admin.createToken(IMPLICIT_ACCOUNT_ID, {})).token!;
    const { client: c, statuses, errors } = client(`http://127.0.0.1:${proxy.port}`, token);
    c.start();
    await expect.poll(() => c.status).toBe('connected');
    proxy.cut();
    await expect.poll(() => statuses).toContain('reconnecting');
    await expect.poll(() => c.status, { timeout: 5000 }).toBe('connected');
    expect(c.reconnects).toBeGreaterThanOrEqual(1);
    expect(errors.map((e) => e.code)).toContain('TUNNEL_CLOSED');
  });

  it('keeps trying while the gateway is down, and connects once it is up', async () => {
    const port = await freePort();
    const dataDir = fresh();
    const token = (await new AccountAdmin(new FileGatewayStore(dataDir)).createToken(IMPLICIT_ACCOUNT_ID, {})).token!;
    const { client: c, errors } = client(`http://127.0.0.1:${port}`, token);
    c.start();
    await expect.poll(() => errors.length).toBeGreaterThanOrEqual(3);
    expect(c.status).toBe('connecting');
    expect(errors[0]).toMatchObject({ code: 'GATEWAY_UNREACHABLE', message: expect.stringMatching(/connection refused \(is it running\?\)/) });
    await gateway(port, dataDir);
    await expect.poll(() => c.status, { timeout: 5000 }).toBe('connected');
  });

  it('stops for good when the gateway rejects its token', async () => {
    const gw = await gateway();
    const proxy = await new TcpCutProxy(gw.port).listen();
    closers.push(() => proxy.close());
    const { client: c, errors } = client(`http://127.0.0.1:${proxy.port}`, 'tt-0123456789abcdefghijABCDEFGHIJ0123456789abc');
    c.start();
    await expect.poll(() => c.status).toBe('rejected');
    expect(errors.at(-1)).toMatchObject({ code: 'TUNNEL_TOKEN_REJECTED', message: expect.stringMatching(/rejected the tunnel token/) });
    // With a 20-100 ms backoff a retry would come within this window many times over.
    await sleep(300);
    expect(proxy.accepted).toHaveLength(1);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

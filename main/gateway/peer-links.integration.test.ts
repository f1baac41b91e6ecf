import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { enginesMissing, startPostgres, startRedis, type TestPostgres, type TestRedis } from '../../e2e/support/engines.js';
import { tempDir } from '../../e2e/support/processes.js';
import { RogueConnector } from '../../e2e/support/rogue-connector.js';
import { pollUntil } from '../../e2e/support/rogue-gateway.js';
import { DEFAULT_LIMITS, FrameType, ResetCode } from '../../shared/tunnel-protocol.js';
import { Logger } from '../logging/logger.js';
import { decodeFrames, encodeFrame, encodeReset } from '../tunnel/frame-codec.js';
import { startGateway, type Gateway } from './gateway-server.js';
import { IMPLICIT_ACCOUNT_ID } from './gateway-store.js';
import { PostgresGatewayStore } from './postgres-store.js';

/**
 * The peer link between replicas against what Redis may say: two real in-process replicas
 * on one PostgreSQL and one Redis, and a server that is no replica but is listed in Redis as
 * one (anyone who can write to Redis can list it). Whatever answers at an advertised URL
 * must learn nothing it could present to a real replica, and get no client's request.
 */

const missing = enginesMissing();
if (missing) throw new Error(`peer link tests: ${missing}`);

const dir = tempDir('tokios-peer-links-');
let pg: TestPostgres;
let redis: TestRedis;
let redisClient: Redis;
const stores: PostgresGatewayStore[] = [];
const gateways: Gateway[] = [];
const connectors: RogueConnector[] = [];
let key = '';

async function replica(i: number): Promise<Gateway> {
  const store = await PostgresGatewayStore.open(pg.url);
  stores.push(store);
  const gateway = await startGateway({
    dataDir: `${dir.path}/replica-${i}`,
    store,
    replication: { redisUrl: redis.url, limitsWhenRedisDown: 'open' },
    port: 0,
    offlineGraceMs: 100,
    log: new Logger(`replica-${i}`),
  });
  gateways.push(gateway);
  return gateway;
}

async function chat(gateway: Gateway, model: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'a secret prompt' }] }),
  });
  return { status: response.status, text: await response.text() };
}

async function deploy(gateway: Gateway, name: string): Promise<{ tokenId: string; token: string }> {
  const created = await gateway.admin.createToken(IMPLICIT_ACCOUNT_ID, {});
  const registered = await fetch(`${gateway.url}/v1/deployments`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ name, token: created.token }) });
  expect(registered.status).toBe(201);
  return { tokenId: created.id, token: created.token! };
}

/** A server that is not a replica: it completes any peer handshake, refuses every stream it is sent, and keeps what it saw. */
interface Impostor {
  url: string;
  authorizations: string[];
  requestHeads: number;
  server: Server;
}

async function startImpostor(): Promise<Impostor> {
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => [...protocols][0] ?? false });
  const server = createServer((_req, res) => res.writeHead(404).end());
  const impostor: Impostor = { url: '', authorizations: [], requestHeads: 0, server };
  server.on('upgrade', (req: IncomingMessage, socket, head) => {
    impostor.authorizations.push(String(req.headers.authorization ?? ''));
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data: Buffer) => {
        decodeFrames(data, (type, _flags, streamId) => {
          if (type !== FrameType.RequestHead) return;
          impostor.requestHeads++;
          ws.send(encodeFrame(FrameType.Reset, 0, streamId, encodeReset(ResetCode.RefusedStream, 'impostor')));
        });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  impostor.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return impostor;
}

beforeAll(async () => {
  [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  redisClient = new Redis(redis.url, { lazyConnect: true });
  await redisClient.connect();
  const [first] = await Promise.all([replica(0), replica(1)]);
  key = (await first.admin.createKey(IMPLICIT_ACCOUNT_ID, { scope: 'admin' })).key!;
}, 60_000);

afterAll(async () => {
  for (const connector of connectors) connector.close();
  await Promise.all(gateways.map((g) => g.destroy()));
  await Promise.all(stores.map((s) => s.close()));
  redisClient?.disconnect();
  await Promise.all([pg?.destroy(), redis?.destroy()]);
  dir.remove();
});

describe('peer links', () => {
  it('a request reaches the connector another replica holds', async () => {
    const holder = gateways[1]!;
    const { token } = await deploy(holder, 'held');
    const connector = await RogueConnector.connect(holder.url, token, DEFAULT_LIMITS);
    connectors.push(connector);
    connector.onRequest = (request) => connector.respond(request.streamId, 200, { 'content-type': 'application/json' }, [`{"from":"held"}`]);
    await connector.serving();
    await expect.poll(async () => (await chat(gateways[0]!, 'held')).text, { timeout: 10_000, interval: 100 }).toContain('"from":"held"');
  });

  it('a server Redis lists as a replica gets neither the cluster credential nor any request', async () => {
    const [gateway] = gateways;
    const { tokenId } = await deploy(gateway!, 'listed');
    const impostor = await startImpostor();
    try {
      // What anyone who can write to Redis can do: list a "replica" at any URL, holding a member of any deployment.
      const record = { id: 'tun_impostor', accountId: IMPLICIT_ACCOUNT_ID, tokenId, hello: { version: 'x', upstreamKind: 'openai', models: [], model: null, limits: DEFAULT_LIMITS }, connectedAt: Date.now(), remoteAddress: '127.0.0.1', upstreamDown: false, draining: false };
      await redisClient.multi().hset('tokios:tunnels:rep_impostor', 'tun_impostor', JSON.stringify(record)).set('tokios:alive:rep_impostor', impostor.url, 'PX', 60_000).sadd('tokios:replicas', 'rep_impostor').exec();
      await pollUntil(() => impostor.authorizations.length > 0, 'the replica to dial the listed URL');
      const credential = await stores[0]!.peerCredential();
      expect(impostor.authorizations.join('\n')).not.toContain(credential);

      // Dialled again: the first link was refused once its handshake finished (a link kept up would never be).
      await pollUntil(() => impostor.authorizations.length > 1, 'the replica to dial the listed URL again', 5000);
      const answer = await chat(gateway!, 'listed');
      expect(answer.status).toBe(503);
      expect(impostor.requestHeads).toBe(0);
    } finally {
      await redisClient.multi().del('tokios:alive:rep_impostor', 'tokios:tunnels:rep_impostor').srem('tokios:replicas', 'rep_impostor').exec();
      impostor.server.closeAllConnections();
      impostor.server.close();
    }
  });

  it("a connector flapping its upstream's health costs the other replicas one record, not one per report", async () => {
    const [viewer, holder] = gateways;
    const { token } = await deploy(holder!, 'flappy');
    const connector = await RogueConnector.connect(holder!.url, token, DEFAULT_LIMITS);
    connectors.push(connector);
    await connector.serving();
    const tunnelId = connector.settings!.tunnelId;
    const subscriber = new Redis(redis.url, { lazyConnect: true });
    await subscriber.connect();
    let announced = 0;
    subscriber.on('message', (_channel: string, text: string) => {
      if ((JSON.parse(text) as { tunnel?: string }).tunnel === tunnelId) announced++;
    });
    await subscriber.subscribe('tokios:directory');
    try {
      const status = (upstream: 'up' | 'down'): Buffer => encodeFrame(FrameType.Status, 0, 0, JSON.stringify({ upstream }));
      connector.send(...Array.from({ length: 2000 }, (_, i) => status(i % 2 === 0 ? 'down' : 'up')), status('down'));
      const state = async (): Promise<string | undefined> => {
        const response = await fetch(`${viewer!.url}/v1/deployments`, { headers: { authorization: `Bearer ${key}` } });
        const body = (await response.json()) as { deployments: Array<{ name: string; members: Array<{ state: string }> }> };
        return body.deployments.find((d) => d.name === 'flappy')?.members[0]?.state;
      };
      await expect.poll(state, { timeout: 10_000, interval: 100 }).toBe('upstream-down');
      expect(announced).toBeLessThanOrEqual(2);
    } finally {
      subscriber.disconnect();
    }
  });

  it("a directory entry putting another account's connector under a name gets that connector no request", async () => {
    const [sender, holder] = gateways;
    // Account B's connector, on the holder.
    const other = await stores[0]!.createAccount({ email: 'b@example.com', passwordHash: null });
    const theirs = (await holder!.admin.createToken(other.id, {})).token!;
    const connector = await RogueConnector.connect(holder!.url, theirs, DEFAULT_LIMITS);
    connectors.push(connector);
    connector.onRequest = (request) => connector.respond(request.streamId, 200, { 'content-type': 'application/json' }, ['{"from":"account b"}']);
    await pollUntil(() => connector.settings !== null, "the holder's settings");
    const tunnelId = connector.settings!.tunnelId;
    // Account A's name, with no connector of its own; then what anyone who can write to Redis can do:
    // list B's tunnel, on the replica that really holds it, as a member of A's name.
    const { tokenId } = await deploy(sender!, 'victim');
    let holderId = '';
    await pollUntil(() => {
      void (async () => {
        for (const id of await redisClient.smembers('tokios:replicas')) if (await redisClient.hexists(`tokios:tunnels:${id}`, tunnelId)) holderId = id;
      })();
      return holderId !== '';
    }, "the holder's record of that tunnel");
    const record = { id: tunnelId, accountId: IMPLICIT_ACCOUNT_ID, tokenId, hello: { version: 'x', upstreamKind: 'openai', models: [], model: null, limits: DEFAULT_LIMITS }, connectedAt: Date.now(), remoteAddress: '127.0.0.1', upstreamDown: false, draining: false };
    await redisClient.publish('tokios:directory', JSON.stringify({ replica: holderId, tunnel: tunnelId, record: null }));
    await redisClient.publish('tokios:directory', JSON.stringify({ replica: holderId, tunnel: tunnelId, record }));
    const members = async (): Promise<number> => {
      const response = await fetch(`${sender!.url}/v1/deployments`, { headers: { authorization: `Bearer ${key}` } });
      const body = (await response.json()) as { deployments: Array<{ name: string; members: unknown[] }> };
      return body.deployments.find((d) => d.name === 'victim')?.members.length ?? 0;
    };
    await expect.poll(members, { timeout: 5000, interval: 50 }).toBe(1);
    const answer = await chat(sender!, 'victim');
    expect(answer.text).not.toContain('account b');
    expect(answer.status).toBe(503);
    expect(connector.requests).toHaveLength(0);
  });

  it('a request too big for the connector another replica holds gets the 431 it would get on that replica', async () => {
    const [sender, holder] = gateways;
    const { token } = await deploy(holder!, 'narrow');
    const connector = await RogueConnector.connect(holder!.url, token, { ...DEFAULT_LIMITS, maxHeaderBytes: 2048 });
    connectors.push(connector);
    connector.onRequest = (request) => connector.respond(request.streamId, 200, { 'content-type': 'application/json' }, ['{"from":"narrow"}']);
    await connector.serving();
    await expect.poll(async () => (await chat(sender!, 'narrow')).text, { timeout: 10_000, interval: 100 }).toContain('"from":"narrow"');
    const answer = await fetch(`${sender!.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-trace': 'x'.repeat(3000) },
      body: JSON.stringify({ model: 'narrow', messages: [] }),
    });
    expect(answer.status).toBe(431);
    expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('request_header_fields_too_large');
    // A head past what the connector said it accepts never reaches it.
    expect(connector.requests.filter((r) => r.head.headers['x-trace'] !== undefined)).toHaveLength(0);
  });
});


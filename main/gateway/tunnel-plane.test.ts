import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../e2e/support/processes.js';
import { RogueConnector } from '../../e2e/support/rogue-connector.js';
import { pollUntil } from '../../e2e/support/rogue-gateway.js';
import { DEFAULT_LIMITS, FrameType, GoAwayCode } from '../../shared/tunnel-protocol.js';
import { addLogSink, Logger, type LogRecord } from '../logging/logger.js';
import { encodeFrame, encodeGoAway } from '../tunnel/frame-codec.js';
import { startGateway, type Gateway } from './gateway-server.js';
import { IMPLICIT_ACCOUNT_ID } from './gateway-store.js';

/**
 * The tunnel plane against a connector that floods what it may say about itself: its
 * upstream's health and its going away. Each is state the gateway acts on at once; what
 * the gateway says about it (log lines, and with replicas the records every other replica
 * reads) must not grow with the number of frames a connector can pack into a message.
 */

const dir = tempDir('tokios-tunnel-plane-');
const records: LogRecord[] = [];
let detach: () => void = () => undefined;
let gateway: Gateway;
let key = '';
const connectors: RogueConnector[] = [];

beforeAll(async () => {
  detach = addLogSink((record) => records.push(record));
  gateway = await startGateway({ dataDir: `${dir.path}/gw`, port: 0, offlineGraceMs: 100, log: new Logger('test-gateway') });
  key = (await gateway.admin.createKey(IMPLICIT_ACCOUNT_ID, { scope: 'admin' })).key!;
});

afterAll(async () => {
  detach();
  for (const connector of connectors) connector.close();
  await gateway?.destroy();
  dir.remove();
});

async function deploy(name: string): Promise<RogueConnector> {
  const token = (await gateway.admin.createToken(IMPLICIT_ACCOUNT_ID, {})).token!;
  const registered = await fetch(`${gateway.url}/v1/deployments`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ name, token }) });
  expect(registered.status).toBe(201);
  const connector = await RogueConnector.connect(gateway.url, token, DEFAULT_LIMITS);
  connectors.push(connector);
  await connector.serving();
  connector.onRequest = (request) => connector.respond(request.streamId, 200, { 'content-type': 'application/json' }, [`{"from":"${name}"}`]);
  return connector;
}

async function chat(model: string): Promise<string> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Hi' }] }),
  });
  return `${response.status} ${await response.text()}`;
}

const linesAbout = (tunnelId: string, text: RegExp): number => records.filter((r) => r.message.includes(tunnelId) && text.test(r.message)).length;

describe('tunnel plane', () => {
  it("a connector flapping its upstream's health in one message costs a line or two of log, and the last word counts", async () => {
    const connector = await deploy('flappy');
    const tunnelId = connector.settings!.tunnelId;
    const status = (upstream: 'up' | 'down'): Buffer => encodeFrame(FrameType.Status, 0, 0, JSON.stringify({ upstream }));
    const flaps = Array.from({ length: 2000 }, (_, i) => status(i % 2 === 0 ? 'down' : 'up'));
    connector.send(...flaps, status('down'));
    await expect.poll(async () => chat('flappy'), { timeout: 5000 }).toContain('"from":"flappy"');
    await pollUntil(() => linesAbout(tunnelId, /upstream (down|back up)/) > 0, 'the health change to be logged', 5000);
    // The member serves on (it is the only one), marked by the last report; the log said so once, not 2001 times.
    const view = await fetch(`${gateway.url}/v1/deployments`, { headers: { authorization: `Bearer ${key}` } });
    const { deployments } = (await view.json()) as { deployments: Array<{ name: string; members: Array<{ state: string }> }> };
    expect(deployments.find((d) => d.name === 'flappy')?.members.map((m) => m.state)).toEqual(['upstream-down']);
    expect(linesAbout(tunnelId, /upstream (down|back up)/)).toBeLessThanOrEqual(2);
  });

  it('a connector repeating its go-away drains once, and says so once', async () => {
    const connector = await deploy('leaving');
    const tunnelId = connector.settings!.tunnelId;
    const goAway = encodeFrame(FrameType.GoAway, 0, 0, encodeGoAway({ lastStreamId: 0, code: GoAwayCode.Drain, reason: 'bye' }));
    connector.send(...Array.from({ length: 1000 }, () => goAway));
    await pollUntil(() => linesAbout(tunnelId, /draining at the connector's request/) > 0, 'the go-away to be logged', 5000);
    await expect.poll(async () => chat('leaving'), { timeout: 5000 }).toMatch(/^503 /);
    expect(linesAbout(tunnelId, /draining at the connector's request/)).toBe(1);
  });
});

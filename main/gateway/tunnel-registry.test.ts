import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSessionPair, type SessionPair } from '../../e2e/support/session-pair.js';
import { CloseCode, DEFAULT_LIMITS, type HelloPayload, type RequestHead } from '../../shared/tunnel-protocol.js';
import { Logger } from '../logging/logger.js';
import type { TunnelStream } from '../tunnel/tunnel-session.js';
import { TunnelRegistry, type TunnelEntry } from './tunnel-registry.js';

/**
 * The registry decides which tunnel serves a deployment and runs the make-before-break
 * swap. Each tunnel here is a real pair of TunnelSessions over a loopback WebSocket, so
 * go-away, drain and close are the real ones.
 */

const hello: HelloPayload = { version: 'test', upstreamKind: 'ollama', models: ['gemma3:4b'], model: 'gemma3:4b', limits: DEFAULT_LIMITS };
const head: RequestHead = { method: 'POST', path: '/v1/chat/completions', headers: {}, deployment: 'gemma' };

const pairs: SessionPair[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(pairs.splice(0).map((p) => p.close()));
});

function rig(): { registry: TunnelRegistry; settingsSent: TunnelEntry[] } {
  const settingsSent: TunnelEntry[] = [];
  const registry = new TunnelRegistry(new Logger('test'), (entry) => settingsSent.push(entry));
  return { registry, settingsSent };
}

/** A real tunnel for `tokenId`, added to the registry; ready (handshake done) unless told otherwise. */
async function tunnel(registry: TunnelRegistry, tokenId: string, ready = true): Promise<TunnelEntry & { pair: SessionPair }> {
  const pair = await createSessionPair();
  pairs.push(pair);
  const entry: TunnelEntry & { pair: SessionPair } = { id: `tun-${pairs.length}`, accountId: 'default', tokenId, session: pair.gateway, hello: null, connectedAt: Date.now(), remoteAddress: '127.0.0.1', retired: false, pair };
  registry.add(entry);
  if (ready) {
    entry.hello = hello;
    registry.markReady(entry);
  }
  return entry;
}

/** The close code the connector end of `pair` sees. */
function connectorClose(pair: SessionPair): Promise<number> {
  return new Promise((resolve) => pair.connector.once('close', (code) => resolve(code)));
}

describe('tunnel registry', () => {
  it('serves a bound name from a ready tunnel of its token, and says so', async () => {
    const { registry } = rig();
    const ready: TunnelEntry[] = [];
    registry.on('ready', (entry) => ready.push(entry));
    registry.bind('gemma', 'tokA');
    const waiting = await tunnel(registry, 'tokA', false);
    expect(registry.pick('gemma')).toBeNull();
    expect(registry.view('gemma')?.status).toBe('offline');
    waiting.hello = hello;
    registry.markReady(waiting);
    expect(ready.map((e) => e.id)).toEqual([waiting.id]);
    expect(registry.pick('gemma')?.id).toBe(waiting.id);
    expect(registry.servingName(waiting)).toBe('gemma');
    expect(registry.view('gemma')).toMatchObject({ status: 'online', tunnels: 1, upstreamKind: 'ollama', upstreamModel: 'gemma3:4b' });
    expect(registry.onlineNames()).toEqual(['gemma']);
    expect(registry.pick('other')).toBeNull();
  });

  it('picks the least busy of several tunnels of one token', async () => {
    const { registry } = rig();
    registry.bind('gemma', 'tokA');
    const busy = await tunnel(registry, 'tokA');
    const idle = await tunnel(registry, 'tokA');
    busy.session.openStream(head, true);
    busy.session.openStream(head, true);
    expect(registry.pick('gemma')?.id).toBe(idle.id);
    idle.session.openStream(head, true);
    idle.session.openStream(head, true);
    idle.session.openStream(head, true);
    expect(registry.pick('gemma')?.id).toBe(busy.id);
  });

  it('pools: least outstanding over every token of the name; a member whose upstream is down only when no other can; failed members excluded', async () => {
    const { registry } = rig();
    registry.bind('gemma', ['tokA', 'tokB']);
    const a = await tunnel(registry, 'tokA');
    const b = await tunnel(registry, 'tokB');
    a.session.openStream(head, true);
    expect(registry.pick('gemma')?.id).toBe(b.id);
    b.session.openStream(head, true);
    b.session.openStream(head, true);
    expect(registry.pick('gemma')?.id).toBe(a.id);
    a.upstreamDown = true;
    expect(registry.pick('gemma')?.id).toBe(b.id);
    expect(registry.view('gemma')?.members?.map((m) => m.state).sort()).toEqual(['serving', 'upstream-down']);
    expect(registry.pick('gemma', new Set([b]))?.id).toBe(a.id);
    expect(registry.pick('gemma', new Set([a, b]))).toBeNull();
    // Binding the pool again with one token fewer drains the member that left, at once.
    registry.bind('gemma', ['tokB']);
    expect(a.retired).toBe(true);
    expect(a.session.draining).toBe(true);
    expect(registry.pick('gemma')?.id).toBe(b.id);
  });

  it('swaps make-before-break: the old token serves until the new one is ready, then drains and closes', async () => {
    const { registry, settingsSent } = rig();
    registry.bind('gemma', 'tokA');
    const old = await tunnel(registry, 'tokA');
    registry.bind('gemma', 'tokB');
    // Nothing of tokB is up yet: the old tunnel keeps serving.
    expect(registry.pick('gemma')?.id).toBe(old.id);
    expect(registry.view('gemma')?.status).toBe('swapping');
    expect(registry.servingName(old)).toBe('gemma');
    const inFlight = old.session.openStream(head, true);
    const served = await new Promise<TunnelStream>((resolve) => old.pair.connector.once('stream', resolve));

    const closed = connectorClose(old.pair);
    const goAway = new Promise<string>((resolve) => old.pair.connector.once('goaway', (g) => resolve(g.reason)));
    settingsSent.length = 0;
    const fresh = await tunnel(registry, 'tokB');
    expect(registry.pick('gemma')?.id).toBe(fresh.id);
    expect(registry.view('gemma')?.status).toBe('online');
    expect(old.retired).toBe(true);
    expect(registry.servingName(old)).toBeNull();
    // The old tunnel was told it no longer serves, and to drain.
    expect(settingsSent.map((e) => e.id)).toContain(old.id);
    expect(await goAway).toBe("deployment 'gemma' moved to another tunnel");
    // What it had in flight finishes before it closes.
    expect(inFlight.isClosed).toBe(false);
    served.sendHead({ status: 200, headers: {} });
    served.end(Buffer.from('last answer'));
    expect(await closed).toBe(CloseCode.Replaced);
  });

  it('keeps the last serving token through a second re-registration before the first new one came up', async () => {
    const { registry } = rig();
    registry.bind('gemma', 'tokA');
    const old = await tunnel(registry, 'tokA');
    registry.bind('gemma', 'tokB');
    registry.bind('gemma', 'tokC');
    expect(registry.pick('gemma')?.id).toBe(old.id);
    const fresh = await tunnel(registry, 'tokC');
    expect(registry.pick('gemma')?.id).toBe(fresh.id);
    expect(old.retired).toBe(true);
  });

  it('has nothing to fall back on when the old token had no ready tunnel', async () => {
    const { registry } = rig();
    registry.bind('gemma', 'tokA');
    registry.bind('gemma', 'tokB');
    expect(registry.pick('gemma')).toBeNull();
    expect(registry.view('gemma')?.status).toBe('offline');
  });

  it('renames: a token serves one name, so binding it to another releases the first', async () => {
    const { registry, settingsSent } = rig();
    registry.bind('gemma', 'tokA');
    const entry = await tunnel(registry, 'tokA');
    settingsSent.length = 0;
    registry.bind('gemma-2', 'tokA');
    expect(registry.isBound('gemma')).toBe(false);
    expect(registry.pick('gemma-2')?.id).toBe(entry.id);
    expect(registry.servingName(entry)).toBe('gemma-2');
    expect(settingsSent.map((e) => e.id)).toContain(entry.id);
    expect(entry.retired).toBe(false);
  });

  it('unbinds: the tunnel waits unbound; one serving only as a fallback drains', async () => {
    const { registry, settingsSent } = rig();
    registry.bind('gemma', 'tokA');
    const own = await tunnel(registry, 'tokA');
    settingsSent.length = 0;
    registry.unbind('gemma');
    expect(registry.isBound('gemma')).toBe(false);
    expect(registry.servingName(own)).toBeNull();
    expect(settingsSent.map((e) => e.id)).toContain(own.id);
    // Its connector stays connected and waits for a name.
    expect(own.retired).toBe(false);

    registry.bind('llama', 'tokB');
    const fallback = await tunnel(registry, 'tokB');
    registry.bind('llama', 'tokC');
    const closed = connectorClose(fallback.pair);
    registry.unbind('llama');
    expect(fallback.retired).toBe(true);
    expect(await closed).toBe(CloseCode.Replaced);
  });

  it('follows the store: loadBindings binds, moves and unbinds names', async () => {
    const { registry } = rig();
    registry.loadBindings([{ name: 'gemma', tokenId: 'tokA' }, { name: 'llama', tokenId: 'tokB' }]);
    expect(registry.names()).toEqual(['gemma', 'llama']);
    const entry = await tunnel(registry, 'tokA');
    registry.loadBindings([{ name: 'gemma', tokenId: 'tokC' }]);
    expect(registry.names()).toEqual(['gemma']);
    expect(registry.pick('gemma')?.id).toBe(entry.id);
    expect(registry.view('gemma')?.status).toBe('swapping');
  });

  it('counts a deployment as recently online for the grace period after its tunnel dropped or the gateway started', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_000_000);
    const { registry } = rig();
    registry.loadBindings([{ name: 'gemma', tokenId: 'tokA' }]);
    registry.bind('later', 'tokB');
    // Bound before the gateway started: its connector may be on its way back.
    expect(registry.recentlyOnline('gemma', 5000)).toBe(true);
    expect(registry.recentlyOnline('later', 5000)).toBe(false);
    vi.setSystemTime(1_006_000);
    expect(registry.recentlyOnline('gemma', 5000)).toBe(false);

    const entry = await tunnel(registry, 'tokA');
    registry.remove(entry);
    expect(registry.pick('gemma')).toBeNull();
    expect(registry.recentlyOnline('gemma', 5000)).toBe(true);
    vi.setSystemTime(1_011_001);
    expect(registry.recentlyOnline('gemma', 5000)).toBe(false);

    // A tunnel that drained on purpose does not count: its deployment is going away.
    const draining = await tunnel(registry, 'tokA');
    const peerGoAway = new Promise((resolve) => draining.session.once('goaway', resolve));
    void draining.pair.connector.goAway('shutting down');
    await peerGoAway;
    registry.remove(draining);
    expect(registry.recentlyOnline('gemma', 5000)).toBe(false);
    expect(registry.recentlyOnline('unknown', 5000)).toBe(false);
  });
});

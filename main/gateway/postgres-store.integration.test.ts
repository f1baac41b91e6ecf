import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../../e2e/support/engines.js';
import { describeStoreConformance } from './gateway-store.conformance.js';
import { IMPLICIT_ACCOUNT_ID, type GatewayStore } from './gateway-store.js';
import type { Invalidation } from './invalidation-bus.js';
import { PostgresGatewayStore } from './postgres-store.js';
import { hashSecret, mintSecret } from './secrets.js';

/**
 * The PostgreSQL store against a real server (Debian's postgresql, started in a temporary
 * folder): the same contract as the file store, migrations raced by replicas starting at
 * once, changes announced to every process, and what still works while the server is down.
 */

let pg: TestPostgres;
let databases = 0;
const opened: GatewayStore[] = [];

async function open(url: string): Promise<PostgresGatewayStore> {
  const store = await PostgresGatewayStore.open(url);
  opened.push(store);
  return store;
}

beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);

afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  await pg?.destroy();
});

describeStoreConformance('postgres store', {
  make: async () => {
    const url = await pg.createDatabase(`conformance_${++databases}`);
    return { store: await open(url), again: () => open(url) };
  },
});

describe('postgres store', () => {
  it('migrates once when six replicas start at the same moment', async () => {
    const url = await pg.createDatabase('race');
    const stores = await Promise.all(Array.from({ length: 6 }, () => open(url)));
    expect((await stores[0]!.accounts()).map((a) => a.id)).toEqual([IMPLICIT_ACCOUNT_ID]);
    const credentials = await Promise.all(stores.map((s) => s.peerCredential()));
    expect(new Set(credentials).size).toBe(1);
  });

  it("announces another process's revocations and registrations to every watcher", async () => {
    const url = await pg.createDatabase('changes');
    const watching = await open(url);
    const changes: Invalidation[] = [];
    watching.watchChanges((change) => changes.push(change));
    const other = await open(url);
    const secret = mintSecret('tunnel-token');
    await other.addCredential({ id: 'tok_1', kind: 'tunnel-token', accountId: IMPLICIT_ACCOUNT_ID, hash: hashSecret(secret), created: new Date().toISOString() });
    await expect.poll(async () => {
      await other.register(IMPLICIT_ACCOUNT_ID, 'gemma', 'tok_1', { allowMove: false });
      return changes.some((c) => c.type === 'deployments-changed' && c.accountId === IMPLICIT_ACCOUNT_ID);
    }).toBe(true);
    await other.revokeCredential(IMPLICIT_ACCOUNT_ID, 'tok_1', new Date().toISOString());
    await expect.poll(() => changes.filter((c) => c.type === 'credential-revoked')).toEqual([{ type: 'credential-revoked', id: 'tok_1', kind: 'tunnel-token', accountId: IMPLICIT_ACCOUNT_ID }]);
  });

  it('a change made while a watcher starts is not lost: once its feed is live, the watcher hears to reload everything', async () => {
    const url = await pg.createDatabase('starting');
    const watching = await open(url);
    const other = await open(url);
    // What a gateway does as it starts: reads the bindings, then watches. Another replica registers in between.
    expect(await watching.deployments()).toEqual([]);
    const secret = mintSecret('tunnel-token');
    await other.addCredential({ id: 'tok_1', kind: 'tunnel-token', accountId: IMPLICIT_ACCOUNT_ID, hash: hashSecret(secret), created: new Date().toISOString() });
    await other.register(IMPLICIT_ACCOUNT_ID, 'gemma', 'tok_1', { allowMove: false });
    const changes: Invalidation[] = [];
    watching.watchChanges((change) => changes.push(change));
    await expect.poll(() => changes).toEqual([{ type: 'deployments-changed', accountId: null }]);
  });

  it('while the server is down: known credentials still verify, changes fail as STORE_UNAVAILABLE; usage batches are written once', async () => {
    const url = await pg.createDatabase('outage');
    const store = await open(url);
    const secret = mintSecret('api-key');
    await store.addCredential({ id: 'key_1', kind: 'api-key', accountId: IMPLICIT_ACCOUNT_ID, hash: hashSecret(secret), created: new Date().toISOString(), scope: 'client' });
    expect(await store.credentialByHash(hashSecret(secret))).toMatchObject({ id: 'key_1' });
    const row = { minute: 60_000, accountId: IMPLICIT_ACCOUNT_ID, keyId: 'key_1', deployment: 'd', requests: 1, rateLimited: 0, clientErrors: 0, serverErrors: 0, inputTokens: 1, outputTokens: 2, ttftMsSum: 3, ttftCount: 1, durationMsSum: 4 };
    await store.appendUsage([row], 'batch-1');
    await store.appendUsage([row], 'batch-1');
    expect(await store.usage(IMPLICIT_ACCOUNT_ID, 0, 120_000)).toEqual([row]);
    await pg.stop();
    try {
      expect(await store.credentialByHash(hashSecret(secret))).toMatchObject({ id: 'key_1' });
      await expect(store.credentialByHash(hashSecret(mintSecret('api-key')))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      await expect(store.createAccount({ email: 'x@example.com', passwordHash: null })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', message: expect.stringMatching(/cannot be reached.*Retry in a moment/) });
      await expect(store.appendUsage([row])).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    } finally {
      await pg.start();
    }
    await expect.poll(() => store.accounts().then((a) => a.length, () => 0), { timeout: 10_000 }).toBe(1);
  });

  it('refuses a database written by a newer Tokios and leaves it as it was', async () => {
    const url = await pg.createDatabase('newer');
    const store = await open(url);
    await (store as unknown as { query(text: string, values?: unknown[]): Promise<unknown> }).query("INSERT INTO tokios_schema (version, name, applied) VALUES (99, 'future', 'x')");
    await expect(PostgresGatewayStore.open(url)).rejects.toThrow(/schema version 99, written by a newer Tokios/);
  });
});

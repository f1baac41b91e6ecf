import { describe, expect, it } from 'vitest';
import type { CredentialRecord, GatewayStore } from './gateway-store.js';
import { deploymentTokens, IMPLICIT_ACCOUNT_ID } from './gateway-store.js';
import { hashSecret, mintSecret, newId } from './secrets.js';

/**
 * What every GatewayStore must do, as one suite: the file store runs it
 * (file-store.test.ts), and so must any other store (a database one) before it is used.
 * `make` returns a fresh, empty store; `again` a second handle on the same data.
 */

export interface StoreFactory {
  make(): Promise<{ store: GatewayStore; again: () => Promise<GatewayStore> }>;
}

function credential(kind: CredentialRecord['kind'], accountId: string, extra: Partial<CredentialRecord> = {}): { record: CredentialRecord; secret: string } {
  const secret = mintSecret(kind === 'api-key' ? 'api-key' : kind === 'tunnel-token' ? 'tunnel-token' : 'session');
  return { secret, record: { id: newId(kind === 'api-key' ? 'key' : 'tok'), kind, accountId, hash: hashSecret(secret), created: new Date().toISOString(), ...extra } };
}

export function describeStoreConformance(name: string, factory: StoreFactory): void {
  describe(`${name}: the GatewayStore contract`, () => {
    it('has the implicit account from the start, and finds accounts by id or email (any case)', async () => {
      const { store } = await factory.make();
      expect((await store.accounts()).map((a) => a.id)).toEqual([IMPLICIT_ACCOUNT_ID]);
      const created = await store.createAccount({ email: 'Ada@Example.com', passwordHash: null });
      expect((await store.findAccount('ada@example.com'))?.id).toBe(created.id);
      expect((await store.findAccount(created.id))?.email).toBe('Ada@Example.com');
      await expect(store.createAccount({ email: 'ADA@example.com', passwordHash: null })).rejects.toMatchObject({ code: 'CONFLICT' });
      const claimed = await store.setAccountLogin(IMPLICIT_ACCOUNT_ID, { email: 'me@example.com', passwordHash: 'scrypt$x' });
      expect(claimed).toMatchObject({ id: IMPLICIT_ACCOUNT_ID, email: 'me@example.com' });
    });

    it('finds credentials by digest only, lists them per account and kind, revokes idempotently', async () => {
      const { store, again } = await factory.make();
      const b = await store.createAccount({ email: 'b@example.com', passwordHash: null });
      const key = credential('api-key', IMPLICIT_ACCOUNT_ID, { scope: 'client', limits: { rpm: 5 }, models: ['x'] });
      const token = credential('tunnel-token', b.id);
      await store.addCredential(key.record);
      await store.addCredential(token.record);
      const other = await again();
      expect(await other.credentialByHash(hashSecret(key.secret))).toMatchObject({ id: key.record.id, kind: 'api-key', scope: 'client', limits: { rpm: 5 }, models: ['x'] });
      expect(await other.credentialByHash(hashSecret('sk-tokios-nope'))).toBeNull();
      expect((await store.credentials(b.id, 'tunnel-token')).map((c) => c.id)).toEqual([token.record.id]);
      expect(await store.credentials(b.id, 'api-key')).toEqual([]);
      expect(await store.revokeCredential(IMPLICIT_ACCOUNT_ID, token.record.id, new Date().toISOString())).toBeNull();
      const first = await store.revokeCredential(b.id, token.record.id, '2030-01-01T00:00:00.000Z');
      const second = await store.revokeCredential(b.id, token.record.id, '2031-01-01T00:00:00.000Z');
      expect(second?.revoked).toBe(first?.revoked);
      await store.touchCredentials(new Map([[key.record.id, '2030-02-02T00:00:00.000Z']]));
      expect((await (await again()).credentialByHash(key.record.hash))?.lastUsed).toBe('2030-02-02T00:00:00.000Z');
    });

    it('binds names per account: same name in two accounts; the swap needs allowMove; a token serves one name', async () => {
      const { store } = await factory.make();
      const b = await store.createAccount({ email: 'b@example.com', passwordHash: null });
      const t1 = credential('tunnel-token', IMPLICIT_ACCOUNT_ID);
      const t2 = credential('tunnel-token', IMPLICIT_ACCOUNT_ID);
      const tb = credential('tunnel-token', b.id);
      for (const t of [t1, t2, tb]) await store.addCredential(t.record);
      expect((await store.register(IMPLICIT_ACCOUNT_ID, 'gemma', t1.record.id, { allowMove: false })).created).toBe(true);
      expect((await store.register(b.id, 'gemma', tb.record.id, { allowMove: false })).created).toBe(true);
      await expect(store.register(IMPLICIT_ACCOUNT_ID, 'gemma', t2.record.id, { allowMove: false })).rejects.toMatchObject({ code: 'FORBIDDEN' });
      // Another account's token is not this account's to bind.
      await expect(store.register(IMPLICIT_ACCOUNT_ID, 'x', tb.record.id, { allowMove: true })).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
      expect(await store.register(IMPLICIT_ACCOUNT_ID, 'gemma', t2.record.id, { allowMove: true })).toMatchObject({ previousTokenId: t1.record.id, created: false });
      expect(await store.register(IMPLICIT_ACCOUNT_ID, 'other', t2.record.id, { allowMove: false })).toMatchObject({ renamedFrom: 'gemma', created: true });
      expect((await store.deployments(IMPLICIT_ACCOUNT_ID)).map((d) => d.name)).toEqual(['other']);
      expect((await store.deployments(b.id)).map((d) => d.name)).toEqual(['gemma']);
      expect(await store.deployments()).toHaveLength(2);
      await store.revokeCredential(b.id, tb.record.id, new Date().toISOString());
      await expect(store.register(b.id, 'gemma', tb.record.id, { allowMove: false })).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
      expect(await store.unregister(b.id, 'gemma')).toMatchObject({ name: 'gemma' });
      expect(await store.unregister(b.id, 'gemma')).toBeNull();
      await expect(store.register(IMPLICIT_ACCOUNT_ID, 'bad name', t1.record.id, { allowMove: false })).rejects.toMatchObject({ code: 'NAME_INVALID' });
    });

    it('pools tokens under one name (admin only); the swap replaces the pool; a token leaving keeps the rest serving', async () => {
      const { store, again } = await factory.make();
      const [t1, t2, t3] = [credential('tunnel-token', IMPLICIT_ACCOUNT_ID), credential('tunnel-token', IMPLICIT_ACCOUNT_ID), credential('tunnel-token', IMPLICIT_ACCOUNT_ID)];
      for (const t of [t1, t2, t3]) await store.addCredential(t.record);
      await store.register(IMPLICIT_ACCOUNT_ID, 'gemma', t1.record.id, { allowMove: false });
      await expect(store.register(IMPLICIT_ACCOUNT_ID, 'gemma', t2.record.id, { allowMove: false, pool: true })).rejects.toMatchObject({ code: 'FORBIDDEN' });
      expect(await store.register(IMPLICIT_ACCOUNT_ID, 'gemma', t2.record.id, { allowMove: true, pool: true })).toMatchObject({ pooled: true, created: false, previousTokenId: null });
      // A pool member renewing its own binding changes nothing.
      expect(await store.register(IMPLICIT_ACCOUNT_ID, 'gemma', t2.record.id, { allowMove: false })).toMatchObject({ pooled: false, created: false, previousTokenId: null });
      expect((await (await again()).deployments(IMPLICIT_ACCOUNT_ID)).map((d) => deploymentTokens(d))).toEqual([[t1.record.id, t2.record.id]]);
      // t1 leaves for another name: t2 keeps serving gemma alone.
      expect(await store.register(IMPLICIT_ACCOUNT_ID, 'solo', t1.record.id, { allowMove: false })).toMatchObject({ renamedFrom: 'gemma', created: true });
      expect((await store.deployments(IMPLICIT_ACCOUNT_ID)).map((d) => [d.name, deploymentTokens(d)])).toEqual([['gemma', [t2.record.id]], ['solo', [t1.record.id]]]);
      await store.register(IMPLICIT_ACCOUNT_ID, 'gemma', t1.record.id, { allowMove: true, pool: true });
      // The swap: the whole pool is replaced by the new token.
      expect(await store.register(IMPLICIT_ACCOUNT_ID, 'gemma', t3.record.id, { allowMove: true })).toMatchObject({ previousTokenId: t2.record.id, pooled: false });
      expect((await store.deployments(IMPLICIT_ACCOUNT_ID)).map((d) => [d.name, deploymentTokens(d)])).toEqual([['gemma', [t3.record.id]]]);
    });

    it('keeps usage rows per account and time range', async () => {
      const { store, again } = await factory.make();
      const row = { minute: 60_000 * 1000, accountId: IMPLICIT_ACCOUNT_ID, keyId: 'key_1', deployment: 'gemma', requests: 2, rateLimited: 0, clientErrors: 1, serverErrors: 0, inputTokens: 10, outputTokens: 20, ttftMsSum: 5, ttftCount: 1, durationMsSum: 9 };
      await store.appendUsage([row, { ...row, accountId: 'acct_other' }, { ...row, minute: row.minute + 60_000 }]);
      const rows = await (await again()).usage(IMPLICIT_ACCOUNT_ID, row.minute, row.minute + 60_000);
      expect(rows).toEqual([row]);
    });
  });
}

import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tempDirsPerTest } from '../../e2e/support/temp-dirs.js';
import { FileGatewayStore, type ForeignChange } from './file-store.js';
import { describeStoreConformance } from './gateway-store.conformance.js';
import { IMPLICIT_ACCOUNT_ID } from './gateway-store.js';
import { hashSecret, mintSecret } from './secrets.js';

const fresh = tempDirsPerTest();
const freshDir = (): string => `${fresh()}/data`;

describeStoreConformance('file store', {
  make: async () => {
    const dir = freshDir();
    return { store: new FileGatewayStore(dir), again: async () => new FileGatewayStore(dir) };
  },
});

async function addToken(store: FileGatewayStore, accountId = IMPLICIT_ACCOUNT_ID): Promise<{ id: string; secret: string }> {
  const secret = mintSecret('tunnel-token');
  const id = `tok_${Math.random().toString(16).slice(2, 10)}`;
  await store.addCredential({ id, kind: 'tunnel-token', accountId, hash: hashSecret(secret), created: new Date().toISOString() });
  return { id, secret };
}

describe('file store', () => {
  it('keeps only hashes, owner-only', async () => {
    const dir = freshDir();
    const store = new FileGatewayStore(dir);
    const { secret } = await addToken(store);
    expect(readFileSync(store.file, 'utf8')).not.toContain(secret);
    expect(statSync(store.file).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('loses nothing when two processes write at once', async () => {
    const dir = freshDir();
    const a = new FileGatewayStore(dir);
    const b = new FileGatewayStore(dir);
    const tokens = await Promise.all(Array.from({ length: 40 }, (_, i) => addToken(i % 2 ? a : b)));
    const reread = new FileGatewayStore(dir);
    for (const { secret } of tokens) expect(reread.credentialByHashSync(hashSecret(secret))).not.toBeNull();
  });

  it('sees credentials another process created, on the next lookup', async () => {
    const dir = freshDir();
    const running = new FileGatewayStore(dir);
    const { secret } = await addToken(new FileGatewayStore(dir));
    await expect.poll(() => running.credentialByHashSync(hashSecret(secret))).not.toBeNull();
  });

  it("reports another process's revocations and re-bindings to a watcher", async () => {
    const dir = freshDir();
    const running = new FileGatewayStore(dir);
    const { id } = await addToken(running);
    const changes: ForeignChange[] = [];
    const stop = running.watchForeignChanges((change) => changes.push(change), 20);
    const other = new FileGatewayStore(dir);
    await other.register(IMPLICIT_ACCOUNT_ID, 'gemma', id, { allowMove: false });
    await expect.poll(() => changes.some((c) => c.deploymentsChanged)).toBe(true);
    await other.revokeCredential(IMPLICIT_ACCOUNT_ID, id, new Date().toISOString());
    await expect.poll(() => changes.flatMap((c) => c.revoked)).toEqual([{ id, kind: 'tunnel-token', accountId: IMPLICIT_ACCOUNT_ID }]);
    stop();
    await running.close();
  });

  it('loads a version-1 file: its keys stay admin, everything lands in the implicit account, the original is kept on first write', async () => {
    const dir = freshDir();
    new FileGatewayStore(dir);
    const key = mintSecret('api-key');
    const v1 = JSON.stringify({
      version: 1,
      apiKeys: [{ id: 'key_1', hash: hashSecret(key), created: '2025-01-01T00:00:00.000Z', label: 'Tokios Desktop' }],
      tunnelTokens: [{ id: 'tok_1', hash: hashSecret('tt-x'), created: '2025-01-01T00:00:00.000Z' }],
      deployments: [{ name: 'gemma-tunnel', tokenId: 'tok_1', created: '2025-01-01T00:00:00.000Z', updated: '2025-01-01T00:00:00.000Z' }],
    }, null, 2);
    writeFileSync(`${dir}/gateway.json`, v1);
    const store = new FileGatewayStore(dir);
    expect(await store.credentialByHash(hashSecret(key))).toMatchObject({ id: 'key_1', scope: 'admin', accountId: IMPLICIT_ACCOUNT_ID, label: 'Tokios Desktop' });
    expect(await store.deployments(IMPLICIT_ACCOUNT_ID)).toMatchObject([{ name: 'gemma-tunnel', tokenId: 'tok_1' }]);
    // Reading changes nothing on disk.
    expect(readFileSync(`${dir}/gateway.json`, 'utf8')).toBe(v1);
    const notices: string[] = [];
    store.onNotice = (m) => notices.push(m);
    await addToken(store);
    expect(readFileSync(`${dir}/gateway.json.v1.bak`, 'utf8')).toBe(v1);
    expect(JSON.parse(readFileSync(`${dir}/gateway.json`, 'utf8')).version).toBe(2);
    expect(notices.join()).toMatch(/kept as .*gateway\.json\.v1\.bak/);
    // Only once.
    await addToken(store);
    expect(readdirSync(dir).filter((f) => f.includes('.bak'))).toEqual(['gateway.json.v1.bak']);
  });

  it('refuses a corrupt or newer file and leaves it as it was', () => {
    const dir = freshDir();
    new FileGatewayStore(dir);
    const file = `${dir}/gateway.json`;
    writeFileSync(file, '{"version": 1, "apiKeys": [');
    expect(() => new FileGatewayStore(dir)).toThrow(/gateway\.json is not valid JSON/);
    expect(readFileSync(file, 'utf8')).toBe('{"version": 1, "apiKeys": [');
    writeFileSync(file, '{"version": 7}');
    expect(() => new FileGatewayStore(dir)).toThrow(/field `version`: is 7: .*written by a newer Tokios/);
  });

  it('names a misspelt top-level field rather than the field it was meant to be', () => {
    const dir = freshDir();
    new FileGatewayStore(dir);
    const file = `${dir}/gateway.json`;
    const text = JSON.stringify({ version: 2, acounts: [], apiKeys: [], tunnelTokens: [], sessions: [], deployments: [] });
    writeFileSync(file, text);
    expect(() => new FileGatewayStore(dir)).toThrow(/gateway\.json: `acounts` is not a known field; known fields are version, accounts, /);
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('compacts old usage into hours and keeps recent minutes', async () => {
    const store = new FileGatewayStore(freshDir());
    const now = Date.UTC(2030, 0, 10);
    const row = { accountId: IMPLICIT_ACCOUNT_ID, keyId: 'k', deployment: 'd', requests: 1, rateLimited: 0, clientErrors: 0, serverErrors: 0, inputTokens: 1, outputTokens: 2, ttftMsSum: 0, ttftCount: 0, durationMsSum: 1 };
    const old = now - 5 * 86_400_000;
    await store.appendUsage([{ ...row, minute: old }, { ...row, minute: old + 60_000 }, { ...row, minute: now - 60_000 }, { ...row, minute: now - 120_000 }]);
    expect(await store.compactUsage(now)).toBe(3);
    const rows = await store.usage(IMPLICIT_ACCOUNT_ID, 0, now);
    expect(rows.find((r) => r.minute === old)).toMatchObject({ requests: 2, outputTokens: 4 });
    expect(rows.reduce((sum, r) => sum + r.requests, 0)).toBe(4);
  });
});

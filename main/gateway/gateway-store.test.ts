import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tempDirsPerTest } from '../../e2e/support/temp-dirs.js';
import { GatewayStore } from './gateway-store.js';

const fresh = tempDirsPerTest();
const freshDir = (): string => `${fresh()}/data`;

describe('gateway store', () => {
  it('keeps only hashes, owner-only, and survives a reload', async () => {
    const dir = freshDir();
    const store = new GatewayStore(dir);
    const { key } = await store.createApiKey();
    const { id, token } = await store.createTunnelToken();
    await store.register('gemma-tunnel', id);
    const text = readFileSync(store.file, 'utf8');
    expect(text).not.toContain(key);
    expect(text).not.toContain(token);
    expect(statSync(store.file).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);

    const again = new GatewayStore(dir);
    expect(again.verifyApiKey(key)).not.toBeNull();
    expect(again.verifyTunnelToken(token)?.id).toBe(id);
    expect(again.deploymentByName('gemma-tunnel')?.tokenId).toBe(id);
    expect(again.verifyApiKey('sk-tokios-wrong')).toBeNull();
  });

  it('loses nothing when two processes write at once', async () => {
    const dir = freshDir();
    const a = new GatewayStore(dir);
    const b = new GatewayStore(dir);
    const keys = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).createApiKey()));
    const reread = new GatewayStore(dir);
    for (const { key } of keys) expect(reread.verifyApiKey(key)).not.toBeNull();
  });

  it('sees keys another process created, on the next lookup', async () => {
    const dir = freshDir();
    const running = new GatewayStore(dir);
    const { key } = await new GatewayStore(dir).createApiKey();
    // Lookups re-read a changed file at most every 50 ms.
    await expect.poll(() => running.verifyApiKey(key)).not.toBeNull();
  });

  it('swaps and renames: a name moves to a new token, a token moves to a new name', async () => {
    const store = new GatewayStore(freshDir());
    const t1 = (await store.createTunnelToken()).id;
    const t2 = (await store.createTunnelToken()).id;
    expect((await store.register('a', t1)).created).toBe(true);
    expect(await store.register('a', t2)).toMatchObject({ previousTokenId: t1, created: false });
    expect(await store.register('b', t2)).toMatchObject({ renamedFrom: 'a', created: true });
    expect(store.deployments.map((d) => d.name)).toEqual(['b']);
  });

  it('refuses to start on a corrupt file and leaves it as it was', () => {
    const dir = freshDir();
    new GatewayStore(dir);
    const file = `${dir}/gateway.json`;
    writeFileSync(file, '{"version": 1, "apiKeys": [');
    expect(() => new GatewayStore(dir)).toThrow(/gateway\.json is not valid JSON/);
    expect(readFileSync(file, 'utf8')).toBe('{"version": 1, "apiKeys": [');
  });
});

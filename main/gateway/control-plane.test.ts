import { afterEach, describe, expect, it } from 'vitest';
import { tempDirsPerTest } from '../../e2e/support/temp-dirs.js';
import { addLogSink, Logger } from '../logging/logger.js';
import { GatewayClient } from './gateway-client.js';
import { startGateway, type Gateway } from './gateway-server.js';
import { IMPLICIT_ACCOUNT_ID } from './gateway-store.js';

/**
 * The control plane over real HTTP: minting, registering (and the swap and the rename it
 * implies), listing, unregistering, and the status each refusal gets. Tunnels are not
 * needed here; the swap's data path is e2e/integration/swap.integration.test.ts.
 */

const fresh = tempDirsPerTest('tokios-control-');
const gateways: Gateway[] = [];
afterEach(async () => {
  for (const gateway of gateways.splice(0)) await gateway.destroy();
});

async function gateway(options: { registerNeedsApiKey?: boolean } = {}): Promise<{ gw: Gateway; key: string; client: GatewayClient; call: (method: string, path: string, bearer: string | null, body?: unknown) => Promise<{ status: number; json: any }> }> {
  const gw = await startGateway({ dataDir: fresh(), port: 0, log: new Logger('test-gateway'), ...options });
  gateways.push(gw);
  const key = (await gw.admin.createKey(IMPLICIT_ACCOUNT_ID, { scope: 'admin' })).key!;
  const call = async (method: string, path: string, bearer: string | null, body?: unknown): Promise<{ status: number; json: any }> => {
    const response = await fetch(gw.url + path, {
      method,
      headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, json: text ? JSON.parse(text) : null };
  };
  return { gw, key, client: new GatewayClient(gw.url), call };
}

describe('control plane', () => {
  it('mints tokens and keys for an API key holder only', async () => {
    const { key, call } = await gateway();
    const minted = await call('POST', '/v1/tunnel-tokens', key);
    expect(minted.status).toBe(201);
    expect(minted.json.token).toMatch(/^tt-/);
    expect((await call('POST', '/v1/api-keys', key)).json.key).toMatch(/^sk-tokios-/);
    expect(await call('POST', '/v1/tunnel-tokens', null)).toMatchObject({ status: 401, json: { error: { code: 'missing_api_key' } } });
    expect(await call('POST', '/v1/tunnel-tokens', minted.json.token)).toMatchObject({ status: 401, json: { error: { code: 'invalid_api_key' } } });
  });

  it('registers a name, moves it to another token (the swap), renames a token, and lists them live', async () => {
    const { key, client } = await gateway();
    const a = (await client.createTunnelToken(key)).token;
    const b = (await client.createTunnelToken(key)).token;
    expect(await client.register('gemma', a)).toMatchObject({ created: true, swapped: false, renamedFrom: null, deployment: { name: 'gemma', status: 'offline', tunnels: 0 } });
    expect(await client.register('gemma', a)).toMatchObject({ created: false, swapped: false });
    expect(await client.register('gemma', b, key)).toMatchObject({ created: false, swapped: true });
    // A token serves one name at a time: binding `a` again moves nothing but a.
    expect(await client.register('llama', b)).toMatchObject({ created: true, renamedFrom: 'gemma' });
    expect((await client.list(key)).map((d) => [d.name, d.status])).toEqual([['llama', 'offline']]);
  });

  it('answers each refusal with its own status and code', async () => {
    const { key, call, gw } = await gateway();
    const token = (await gw.admin.createToken(IMPLICIT_ACCOUNT_ID, {})).token!;
    const refusals: Array<[string, string, string | null, unknown, number, string]> = [
      ['POST', '/v1/deployments', null, { name: 'x', token }, 401, 'missing_credentials'],
      ['POST', '/v1/deployments', 'tt-not-issued-here-0123456789abcdefghij', { name: 'x' }, 401, 'tunnel_token_rejected'],
      ['POST', '/v1/deployments', key, { name: 'x' }, 400, 'missing_token'],
      ['POST', '/v1/deployments', key, { name: 'x', token: 'tt-unknown-0123456789abcdefghij0123' }, 400, 'unknown_token'],
      ['POST', '/v1/deployments', token, { name: 'x', token: 'tt-other-0123456789abcdefghij012345' }, 400, 'token_mismatch'],
      ['POST', '/v1/deployments', token, {}, 400, 'missing_name'],
      ['POST', '/v1/deployments', token, { name: 'has space' }, 400, 'name_invalid'],
      ['POST', '/v1/deployments', token, '{"name": ', 400, 'invalid_json'],
      ['DELETE', '/v1/deployments/nobody', key, undefined, 404, 'deployment_not_found'],
      ['DELETE', '/v1/deployments/%ZZ', key, undefined, 400, 'invalid_argument'],
      ['DELETE', '/v1/deployments/x', null, undefined, 401, 'missing_api_key'],
      ['PUT', '/v1/deployments', key, {}, 405, 'method_not_allowed'],
    ];
    const errors: string[] = [];
    const stop = addLogSink((record) => record.level === 'error' && errors.push(record.message));
    try {
      for (const [method, path, bearer, body, status, code] of refusals) {
        const answer = await call(method, path, bearer, body);
        expect({ request: `${method} ${path}`, status: answer.status, code: answer.json.error.code }).toEqual({ request: `${method} ${path}`, status, code });
        expect(answer.json.error.message).toEqual(expect.any(String));
      }
    } finally {
      stop();
    }
    // The client's mistakes are not the gateway's errors.
    expect(errors).toEqual([]);
  });

  it('refuses registration by tunnel token alone when the gateway says so', async () => {
    const { key, call, gw } = await gateway({ registerNeedsApiKey: true });
    const token = (await gw.admin.createToken(IMPLICIT_ACCOUNT_ID, {})).token!;
    expect(await call('POST', '/v1/deployments', token, { name: 'gemma' })).toMatchObject({ status: 401, json: { error: { code: 'api_key_required' } } });
    expect((await call('POST', '/v1/deployments', key, { name: 'gemma', token })).status).toBe(201);
  });

  it('unregisters a name once', async () => {
    const { key, client, gw } = await gateway();
    const token = (await gw.admin.createToken(IMPLICIT_ACCOUNT_ID, {})).token!;
    await client.register('gemma', token);
    await client.unregister('gemma', key);
    expect(await client.list(key)).toEqual([]);
    await expect(client.unregister('gemma', key)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('says it is alive without credentials', async () => {
    const { client } = await gateway();
    expect(await client.health()).toEqual({ status: 'ok', version: expect.any(String) });
  });
});

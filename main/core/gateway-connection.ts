import { join } from 'node:path';
import type { GatewayInfo } from '../../shared/api.js';
import { isTokiosError, TokiosError } from '../../shared/errors.js';
import { maskSecret } from '../../shared/names.js';
import { GatewayClient } from '../gateway/gateway-client.js';
import { startGateway, type Gateway } from '../gateway/gateway-server.js';
import type { RequestObserver } from '../gateway/request-observer.js';
import { FileGatewayStore } from '../gateway/file-store.js';
import { credentialProblem, IMPLICIT_ACCOUNT_ID } from '../gateway/gateway-store.js';
import { hashSecret } from '../gateway/secrets.js';
import type { SecretStore } from '../deployments/secret-store.js';
import type { Logger } from '../logging/logger.js';

/**
 * The gateway the app uses: the embedded one (started in this process on 127.0.0.1, its
 * own data folder, an API key minted on first run), or a remote one by URL. Either way
 * deployments are registered through the same control API over HTTP.
 */
export interface GatewayConnection {
  readonly mode: 'embedded' | 'remote';
  readonly url: string;
  /** The key the app itself uses (and copies for clients); rotation replaces it. */
  readonly apiKey: string | null;
  info(): GatewayInfo;
  /** Whether this gateway issued `token`; null when it cannot tell without using it. */
  knowsToken(token: string): boolean | null;
  /** A new API key replaces the app's; the old one stops working at once. */
  rotateApiKey(): Promise<void>;
  register(name: string, token: string): Promise<void>;
  unregister(name: string): Promise<void>;
  /** A new tunnel token, when this gateway lets the app mint one. */
  mintToken(): Promise<string>;
  close(): Promise<void>;
}

const EMBEDDED_KEY = 'gateway:embedded-api-key';
const REMOTE_KEY = 'gateway:remote-api-key';
export const DEFAULT_EMBEDDED_PORT = 8787;

export interface EmbeddedOptions {
  dataDir: string;
  /** Preferred port; when taken, a free one is used and `info().error` says so. */
  port: number;
  secrets: SecretStore;
  log: Logger;
  heartbeatMs?: number;
  /** Origins browser apps may call the gateway from (settings.json `corsOrigins`). */
  corsOrigins?: readonly string[];
  /** Metadata of every client request (the request inspector). */
  onRequest?: RequestObserver;
}

export async function openEmbeddedGateway(options: EmbeddedOptions): Promise<GatewayConnection> {
  const { secrets, log } = options;
  let warning: string | null = null;
  let gateway: Gateway;
  const start = (port: number): Promise<Gateway> =>
    startGateway({
      dataDir: join(options.dataDir, 'gateway'), host: '127.0.0.1', port, log: log.child('gateway'), corsOrigins: options.corsOrigins ?? [],
      ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}), ...(options.onRequest ? { onRequest: options.onRequest } : {}),
    });
  try {
    gateway = await start(options.port);
  } catch (error) {
    if (!(isTokiosError(error) && error.code === 'PORT_IN_USE')) throw error;
    gateway = await start(0);
    warning = `Port ${options.port} is in use, so the gateway runs on ${gateway.port} for now; clients configured with port ${options.port} will not reach it until it is free.`;
    log.warn(warning);
  }

  // The app administers its own gateway: its key is an admin key (it registers, swaps, mints).
  let apiKey = secrets.get(EMBEDDED_KEY);
  const known = apiKey ? await gateway.store.credentialByHash(hashSecret(apiKey)) : null;
  if (!apiKey || !known || known.scope !== 'admin' || credentialProblem(known, Date.now())) {
    apiKey = (await gateway.admin.createKey(IMPLICIT_ACCOUNT_ID, { scope: 'admin', label: 'Tokios Desktop' })).key!;
    secrets.set(EMBEDDED_KEY, apiKey);
    log.info('created the API key for the embedded gateway');
  }
  const client = new GatewayClient(gateway.url);
  let key: string = apiKey;
  return {
    mode: 'embedded',
    url: gateway.url,
    get apiKey() {
      return key;
    },
    info: () => ({ mode: 'embedded', url: gateway.url, status: 'running', error: warning, apiKey: maskSecret(key), canMintTokens: true }),
    knowsToken: (token) => {
      // The embedded gateway's store is the file store, which answers without waiting.
      if (!(gateway.store instanceof FileGatewayStore)) return null;
      const record = gateway.store.credentialByHashSync(hashSecret(token));
      return record !== null && record.kind === 'tunnel-token' && credentialProblem(record, Date.now()) === null;
    },
    rotateApiKey: async () => {
      const old = await gateway.store.credentialByHash(hashSecret(key));
      const next = (await gateway.admin.createKey(IMPLICIT_ACCOUNT_ID, { scope: 'admin', label: 'Tokios Desktop' })).key!;
      secrets.set(EMBEDDED_KEY, next);
      key = next;
      if (old) await gateway.admin.revoke(IMPLICIT_ACCOUNT_ID, 'api-key', old.id);
      log.info('rotated the API key of the embedded gateway; the previous key no longer works');
    },
    register: async (name, token) => void (await client.register(name, token, key)),
    unregister: (name) => client.unregister(name, key).catch((error: TokiosError) => {
      if (error.code !== 'NOT_FOUND') throw error;
    }),
    mintToken: async () => (await gateway.admin.createToken(IMPLICIT_ACCOUNT_ID, { label: 'Tokios Desktop' })).token!,
    close: () => gateway.close(),
  };
}

/** A gateway somewhere else. Without an API key the app can register but not mint tokens. */
export async function openRemoteGateway(url: string, apiKey: string | null, secrets: SecretStore): Promise<GatewayConnection> {
  const client = new GatewayClient(url);
  let status: GatewayInfo['status'] = 'running';
  let error: string | null = null;
  try {
    await client.health();
  } catch (e) {
    status = 'unreachable';
    error = (e as Error).message;
  }
  if (apiKey) secrets.set(REMOTE_KEY, apiKey);
  const key = apiKey ?? secrets.get(REMOTE_KEY);
  return {
    mode: 'remote',
    url,
    apiKey: key,
    info: () => ({ mode: 'remote', url, status, error, apiKey: key ? maskSecret(key) : null, canMintTokens: key !== null }),
    knowsToken: () => null,
    rotateApiKey: async () => {
      throw new TokiosError('INVALID_ARGUMENT', `the app cannot rotate the API key of ${url}; its owner can mint a new one (tokios key create, or on its dashboard) and you paste it in Gateway settings`);
    },
    // With a key (an admin key, or the device credential from signing in) the app can also
    // move a name it registered before (the swap); with the token alone it can claim free names.
    register: async (name, token) => {
      if (!key) return void (await client.register(name, token));
      try {
        await client.register(name, token, key);
      } catch (e) {
        // A client-scoped key may not register: the token alone still claims a free name.
        if ((e as TokiosError).code !== 'FORBIDDEN') throw e;
        await client.register(name, token);
      }
    },
    unregister: async (name) => {
      if (!key) return; // without a key the binding stays; the gateway owner can remove it
      await client.unregister(name, key).catch((e: TokiosError) => {
        if (e.code !== 'NOT_FOUND') throw e;
      });
    },
    mintToken: async () => {
      if (!key) throw new TokiosError('INVALID_ARGUMENT', 'paste the tunnel token your gateway gave you (the app has no API key for this gateway, so it cannot mint one)');
      return (await client.createTunnelToken(key)).token;
    },
    close: async () => undefined,
  };
}

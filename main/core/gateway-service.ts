import { join } from 'node:path';
import type { GatewayCheck, GatewayInfo, HostedSignInStart } from '../../shared/api.js';
import { TokiosError } from '../../shared/errors.js';
import type { DeploymentMember } from '../../shared/hosted-api.js';
import { normalizeGatewayUrl } from '../../shared/tokios-config.js';
import { GatewayClient } from '../gateway/gateway-client.js';
import type { DeploymentRecord } from '../deployments/deployment-store.js';
import type { SecretStore } from '../deployments/secret-store.js';
import { parseCorsOrigins } from '../gateway/dialects/cors-policy.js';
import type { RequestObserver } from '../gateway/request-observer.js';
import { registerSecret, type Logger } from '../logging/logger.js';
import type { ApiEventBus } from './api-events.js';
import type { AppSettings, SettingsFile } from './app-settings.js';
import type { GatewayMove } from './deployment-service.js';
import { checkGateway } from './gateway-check.js';
import { DEFAULT_EMBEDDED_PORT, openEmbeddedGateway, openRemoteGateway, type GatewayConnection } from './gateway-connection.js';
import { HostedSignIn } from './hosted-sign-in.js';

/**
 * Which gateway the app uses: the one saved in the settings is opened at start; the user
 * may switch to a hosted one (checked first, main/core/gateway-check.ts; with its URL and
 * key, or by signing in to it) or back to the embedded one. A switch opens the new gateway, registers the deployments there, moves
 * their workers, and closes the old gateway only once they are connected to the new one.
 */

export interface GatewayServiceOptions {
  dataDir: string;
  secrets: SecretStore;
  settings: SettingsFile;
  events: ApiEventBus;
  log: Logger;
  /** Embedded gateway port (default: the saved one, else 8787). 0 picks a free one. */
  port?: number;
  heartbeatMs?: number;
  /** Registers every deployment on the newly chosen gateway; throws when it takes none. */
  carryOver: (connection: GatewayConnection) => Promise<GatewayMove>;
  /** The deployments, for what a switch would mean to them. */
  deployments: () => ReadonlyArray<DeploymentRecord>;
  /** Metadata of every request through the embedded gateway (the request inspector). */
  onRequest?: RequestObserver;
}

export class GatewayService {
  private connection: GatewayConnection | null = null;
  /** Why the saved gateway could not be opened, when it could not. */
  private error: string | null = null;
  /** A previous gateway waiting for the moved workers before it closes. */
  private retiring: Promise<unknown> = Promise.resolve();
  private readonly hostedSignIn: HostedSignIn;

  constructor(private readonly options: GatewayServiceOptions) {
    this.hostedSignIn = new HostedSignIn({
      log: options.log,
      protect: registerSecret,
      emit: (event) => options.events.emit('gateway.signIn', event),
      // The same checked switch as with a pasted key: nothing changes unless the gateway answers.
      complete: async (url, credential) => void (await this.useRemote({ url, apiKey: credential })),
    });
  }

  get current(): GatewayConnection | null {
    return this.connection;
  }

  /** Opens the gateway the settings name; a failure is kept and shown, not thrown. */
  async start(): Promise<void> {
    const chosen = this.options.settings.get().gateway;
    try {
      if (chosen.mode === 'remote') {
        this.use(await openRemoteGateway(chosen.url, null, this.options.secrets));
      } else {
        const port = this.options.port ?? chosen.port ?? DEFAULT_EMBEDDED_PORT;
        this.use(await this.openEmbedded(port));
        // The first run remembers its port, so clients configured once keep working.
        if (this.options.port === undefined && chosen.port === null) this.options.settings.update({ gateway: { mode: 'embedded', port } });
      }
      this.error = null;
    } catch (error) {
      this.error = (error as Error).message;
      this.options.log.error(`gateway: ${this.error}`);
    }
  }

  /** Tells the UI which gateway is in use. */
  announce(): GatewayInfo {
    const info = this.info();
    this.options.events.emit('gateway.changed', info);
    return info;
  }

  info(): GatewayInfo {
    if (this.connection) return this.connection.info();
    const chosen = this.options.settings.get().gateway;
    return { mode: chosen.mode, url: chosen.mode === 'remote' ? chosen.url : '', status: 'error', error: this.error, apiKey: null, canMintTokens: false };
  }

  require(): GatewayConnection {
    if (!this.connection) throw new TokiosError('GATEWAY_UNREACHABLE', `the gateway is not available: ${this.error ?? 'not started'}`);
    return this.connection;
  }

  /** The connectors serving `name` as the gateway in use lists them; null when it does not say. */
  async members(name: string): Promise<DeploymentMember[] | null> {
    const connection = this.connection;
    if (!connection?.apiKey) return null;
    try {
      const listed = await new GatewayClient(connection.url, 3000).list(connection.apiKey);
      return listed.find((d) => d.name === name)?.members ?? null;
    } catch {
      return null;
    }
  }

  /** The API key itself, for the UI to copy (it does not keep it). */
  revealApiKey(): { apiKey: string } {
    const key = this.connection?.apiKey;
    if (!key) throw new TokiosError('NOT_FOUND', 'no API key is configured for this gateway');
    return { apiKey: key };
  }

  /** What switching to this gateway would mean; nothing changes. */
  verify({ url, apiKey }: { url: string; apiKey: string | null }): Promise<GatewayCheck> {
    const current = this.connection ? { mode: this.connection.mode, url: this.connection.url } : { mode: 'embedded' as const, url: '' };
    return checkGateway(url, apiKey, current, this.options.deployments());
  }

  async useRemote({ url, apiKey }: { url: string; apiKey: string | null }): Promise<GatewayInfo> {
    // Checked again here: a wrong URL must never take the working gateway down.
    const check = await this.verify({ url, apiKey });
    if (check.problem) throw new TokiosError(check.reachable ? 'GATEWAY_ERROR' : 'GATEWAY_UNREACHABLE', check.problem);
    return this.switchTo(() => openRemoteGateway(check.url, apiKey, this.options.secrets), { gateway: { mode: 'remote', url: check.url } });
  }

  /** Signs in to the hosted gateway at `url` (the device grant); the outcome comes as an event. */
  signIn({ url }: { url: string }): Promise<HostedSignInStart> {
    return this.hostedSignIn.start(normalizeGatewayUrl(url, (problem) => new TokiosError('INVALID_ARGUMENT', `Gateway URL ${problem}.`)));
  }

  cancelSignIn(): void {
    this.hostedSignIn.cancel();
  }

  useEmbedded(): Promise<GatewayInfo> {
    if (this.connection?.mode === 'embedded') return Promise.resolve(this.info());
    const port = this.options.port ?? DEFAULT_EMBEDDED_PORT;
    return this.switchTo(() => this.openEmbedded(port), { gateway: { mode: 'embedded', port } });
  }

  /** The built-in gateway's key: a new one replaces it, and the old one stops working at once. */
  async rotateApiKey(): Promise<GatewayInfo> {
    const connection = this.require();
    await connection.rotateApiKey();
    if (connection.apiKey) registerSecret(connection.apiKey);
    return this.announce();
  }

  async close(): Promise<void> {
    this.hostedSignIn.cancel();
    await this.retiring;
    const connection = this.connection;
    this.connection = null;
    await connection?.close();
  }

  private async switchTo(open: () => Promise<GatewayConnection>, settings: Partial<AppSettings>): Promise<GatewayInfo> {
    const connection = await open();
    let move: GatewayMove;
    try {
      move = await this.options.carryOver(connection);
    } catch (error) {
      await connection.close();
      throw error;
    }
    const old = this.connection;
    this.use(connection);
    this.error = null;
    this.options.settings.update(settings);
    // The old gateway keeps serving each deployment until its worker is up on the new one.
    const moved = move.apply();
    this.retiring = moved.then(() => old?.close(), (error: unknown) => {
      this.options.log.warn(`moving the deployments: ${(error as Error).message}`);
      return old?.close();
    });
    return this.announce();
  }

  private use(connection: GatewayConnection): void {
    this.connection = connection;
    if (connection.apiKey) registerSecret(connection.apiKey);
  }

  private openEmbedded(port: number): Promise<GatewayConnection> {
    const { dataDir, secrets, log, heartbeatMs, settings, onRequest } = this.options;
    // A bad entry stops the embedded gateway with a message naming the file and the setting.
    const corsOrigins = parseCorsOrigins(settings.get().corsOrigins, `${join(dataDir, 'settings.json')}: corsOrigins`);
    return openEmbeddedGateway({ dataDir, port, secrets, log, corsOrigins, ...(heartbeatMs ? { heartbeatMs } : {}), ...(onRequest ? { onRequest } : {}) });
  }
}

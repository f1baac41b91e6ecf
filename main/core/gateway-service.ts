import { join } from 'node:path';
import type { GatewayInfo } from '../../shared/api.js';
import { TokiosError } from '../../shared/errors.js';
import { normalizeGatewayUrl } from '../../shared/tokios-config.js';
import type { SecretStore } from '../deployments/secret-store.js';
import { parseCorsOrigins } from '../gateway/dialects/cors-policy.js';
import { registerSecret, type Logger } from '../logging/logger.js';
import type { ApiEventBus } from './api-events.js';
import type { AppSettings, SettingsFile } from './app-settings.js';
import { DEFAULT_EMBEDDED_PORT, openEmbeddedGateway, openRemoteGateway, type GatewayConnection } from './gateway-connection.js';

/**
 * Which gateway the app uses: the one saved in the settings is opened at start; the user
 * may switch to a hosted one or back to the embedded one. A switch opens the new gateway
 * first, lets the deployments move over, and only then closes the old one.
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
  /** Moves every deployment to the newly chosen gateway, before the old one closes. */
  carryOver: (connection: GatewayConnection) => Promise<void>;
}

export class GatewayService {
  private connection: GatewayConnection | null = null;
  /** Why the saved gateway could not be opened, when it could not. */
  private error: string | null = null;

  constructor(private readonly options: GatewayServiceOptions) {}

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

  /** The API key itself, for the UI to copy (it does not keep it). */
  revealApiKey(): { apiKey: string } {
    const key = this.connection?.apiKey;
    if (!key) throw new TokiosError('NOT_FOUND', 'no API key is configured for this gateway');
    return { apiKey: key };
  }

  useRemote({ url, apiKey }: { url: string; apiKey: string | null }): Promise<GatewayInfo> {
    const normalized = normalizeGatewayUrl(url, (problem) => new TokiosError('INVALID_ARGUMENT', `Gateway URL ${problem}.`));
    return this.switchTo(() => openRemoteGateway(normalized, apiKey, this.options.secrets), { gateway: { mode: 'remote', url: normalized } });
  }

  useEmbedded(): Promise<GatewayInfo> {
    const port = this.options.port ?? DEFAULT_EMBEDDED_PORT;
    return this.switchTo(() => this.openEmbedded(port), { gateway: { mode: 'embedded', port } });
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = null;
    await connection?.close();
  }

  private async switchTo(open: () => Promise<GatewayConnection>, settings: Partial<AppSettings>): Promise<GatewayInfo> {
    const connection = await open();
    const old = this.connection;
    this.use(connection);
    this.options.settings.update(settings);
    await this.options.carryOver(connection);
    await old?.close();
    return this.announce();
  }

  private use(connection: GatewayConnection): void {
    this.connection = connection;
    if (connection.apiKey) registerSecret(connection.apiKey);
  }

  private openEmbedded(port: number): Promise<GatewayConnection> {
    const { dataDir, secrets, log, heartbeatMs, settings } = this.options;
    // A bad entry stops the embedded gateway with a message naming the file and the setting.
    const corsOrigins = parseCorsOrigins(settings.get().corsOrigins, `${join(dataDir, 'settings.json')}: corsOrigins`);
    return openEmbeddedGateway({ dataDir, port, secrets, log, corsOrigins, ...(heartbeatMs ? { heartbeatMs } : {}) });
  }
}

import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type {
  ApiEvent,
  ApiEvents,
  ApiHandlers,
  AppInfo,
  DeploymentInput,
  DeploymentView,
  DetectedUpstream,
  GatewayInfo,
  NameCheck,
} from '../../shared/api.js';
import { TokiosError } from '../../shared/errors.js';
import type { TunnelState } from '../../shared/health.js';
import { deploymentNameProblem, maskSecret, tunnelTokenProblem } from '../../shared/names.js';
import { normalizeGatewayUrl, normalizeUpstreamUrl, parseTokiosConfig, serializeTokiosConfig, type TokiosConfig } from '../../shared/tokios-config.js';
import { ConfigFolder, nameFromFile } from '../deployments/config-folder.js';
import { DeploymentStore, type DeploymentFields, type DeploymentRecord } from '../deployments/deployment-store.js';
import type { SecretStore } from '../deployments/secret-store.js';
import { proposeDeployment, UpstreamDetector, type DetectChange, type DetectorOptions } from '../detect/upstream-detector.js';
import type { UpstreamInfo } from '../detect/upstream-probe.js';
import { Logger, redact, registerSecret } from '../logging/logger.js';
import { ensurePrivateDir, writeFileAtomic } from '../storage/atomic-file.js';
import { ConnectorSupervisor, type RestartPolicy, type SupervisedHealth } from '../supervisor/connector-supervisor.js';
import { HealthTracker } from '../supervisor/health-tracker.js';
import type { WorkerSpawner } from '../supervisor/worker-protocol.js';
import { VERSION } from '../version.js';
import { DEFAULT_EMBEDDED_PORT, openEmbeddedGateway, openRemoteGateway, type GatewayConnection } from './gateway-connection.js';
import { SettingsFile } from './app-settings.js';
import { runTestChat } from './test-chat.js';

/**
 * The app, without Electron: deployments, their workers, health, detection, the config
 * folder and the gateway, behind the typed API of shared/api.ts. The Electron shell and the
 * headless host are two hosts of this one object.
 */

export interface AppCoreOptions {
  dataDir: string;
  /** Watched folder of tokios-*.json files (default `<dataDir>/connectors`). */
  configDir?: string;
  host: 'electron' | 'headless';
  secrets: SecretStore;
  spawner: WorkerSpawner;
  /** Embedded gateway port (default: the saved one, else 8787). 0 picks a free one. */
  gatewayPort?: number;
  detect?: DetectorOptions;
  restart?: RestartPolicy;
  /** Tunnel heartbeat for the embedded gateway and the workers. */
  heartbeatMs?: number;
  configStabilityMs?: number;
  /** How often each deployment's health is sampled for the history charts. */
  sampleIntervalMs?: number;
  stopTimeoutMs?: number;
  log?: Logger;
  /** Where workers' log lines go (default: this process's stderr). */
  workerOutput?: (line: string) => void;
}

type Listener<E extends ApiEvent> = (payload: ApiEvents[E]) => void;

export class AppCore {
  readonly handlers: ApiHandlers;
  readonly log: Logger;
  private readonly events = new EventEmitter();
  private readonly settings: SettingsFile;
  private readonly store: DeploymentStore;
  private readonly supervisor: ConnectorSupervisor;
  private readonly tracker = new HealthTracker();
  private readonly detector: UpstreamDetector;
  private readonly folder: ConfigFolder;
  private readonly configDir: string;
  private gateway: GatewayConnection | null = null;
  private gatewayError: string | null = null;
  /** Problems with deployments' files or registration, shown until the next good change. */
  private readonly configErrors = new Map<string, string>();
  /** Config-folder files that never had a valid version: shown as errors, not run. */
  private readonly invalidFiles = new Map<string, string>();
  private sampleTimer: NodeJS.Timeout | null = null;
  /** Detection's first pass; `detect.list` waits for it rather than answer "nothing" at start-up. */
  private firstScan: Promise<unknown> = Promise.resolve();
  private started = false;

  constructor(private readonly options: AppCoreOptions) {
    this.log = options.log ?? new Logger('core');
    this.events.setMaxListeners(0);
    ensurePrivateDir(options.dataDir);
    this.configDir = options.configDir ?? join(options.dataDir, 'connectors');
    ensurePrivateDir(this.configDir);
    this.settings = new SettingsFile(options.dataDir);
    if (this.settings.setAside) this.log.warn(`settings.json could not be read; it was kept as ${this.settings.setAside} and defaults are used`);
    this.store = new DeploymentStore(options.dataDir, options.secrets);
    for (const record of this.store.list()) this.protect(this.store.token(record.id));
    this.supervisor = new ConnectorSupervisor({
      spawner: options.spawner,
      log: this.log.child('supervisor'),
      ...(options.restart ? { restart: options.restart } : {}),
      ...(options.stopTimeoutMs ? { stopTimeoutMs: options.stopTimeoutMs } : {}),
    });
    this.supervisor.on('state', (id: string, state: TunnelState, previous: TunnelState) => {
      const record = this.store.find(id);
      if (record) this.emit('deployment.state', { id, name: record.name, state, previous });
    });
    this.supervisor.on('health', (id: string) => this.publish(id));
    this.supervisor.on('request', (id: string, record) => {
      this.tracker.record(id, record);
      this.emit('deployment.request', { id, record });
    });
    const output = options.workerOutput ?? ((line: string) => process.stderr.write(`${line}\n`));
    this.supervisor.on('output', (_id: string, line: string) => output(redact(line)));
    this.detector = new UpstreamDetector({ ...options.detect, extraUrls: [...(options.detect?.extraUrls ?? []), ...this.settings.get().detectUrls] });
    this.detector.on('change', (change: DetectChange) => this.emit('detect.changed', { upstreams: this.detected(), change }));
    this.folder = new ConfigFolder(this.configDir, options.configStabilityMs ? { stabilityMs: options.configStabilityMs } : {});
    this.folder.on('upsert', (file: string, config: TokiosConfig) => void this.onFolderUpsert(file, config));
    this.folder.on('invalid', (file: string, message: string) => this.onFolderInvalid(file, message));
    this.folder.on('remove', (file: string) => void this.onFolderRemove(file));
    this.handlers = this.createHandlers();
  }

  /** Opens the gateway, starts enabled deployments, the config folder and detection. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.connectGateway();
    for (const record of this.store.list()) if (record.enabled) this.run(record);
    await this.folder.start();
    this.firstScan = this.detector.start().catch(() => []);
    this.sampleTimer = setInterval(() => {
      for (const record of this.store.list()) this.tracker.sample(record.id, this.tracker.view(record.id, this.supervisor.health(record.id)));
    }, this.options.sampleIntervalMs ?? 5000);
    this.sampleTimer.unref();
  }

  /** Drains every worker, then closes the gateway. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.sampleTimer) clearInterval(this.sampleTimer);
    this.detector.stop();
    await this.folder.close();
    await this.supervisor.stopAll();
    await this.gateway?.close();
    this.gateway = null;
    this.started = false;
  }

  on<E extends ApiEvent>(event: E, listener: Listener<E>): () => void {
    this.events.on(event, listener as (payload: unknown) => void);
    return () => this.events.off(event, listener as (payload: unknown) => void);
  }

  /** Every live worker's pid (tests read their command lines). */
  workerPids(): number[] {
    return this.supervisor.pids();
  }

  /** The deployments in tray order, with their states (the Electron tray reads this). */
  deployments(): DeploymentView[] {
    return [...this.store.list().map((r) => this.view(r)), ...this.invalidViews()];
  }

  private emit<E extends ApiEvent>(event: E, payload: ApiEvents[E]): void {
    this.events.emit(event, payload);
  }

  private publish(id: string): void {
    const record = this.store.find(id);
    if (record) this.emit('deployment.updated', this.view(record));
  }

  // ---- gateway ------------------------------------------------------------------------

  private async connectGateway(): Promise<void> {
    const chosen = this.settings.get().gateway;
    try {
      if (chosen.mode === 'remote') {
        this.gateway = await openRemoteGateway(chosen.url, null, this.options.secrets);
      } else {
        const port = this.options.gatewayPort ?? chosen.port ?? DEFAULT_EMBEDDED_PORT;
        this.gateway = await openEmbeddedGateway({
          dataDir: this.options.dataDir, port, secrets: this.options.secrets, log: this.log,
          ...(this.options.heartbeatMs ? { heartbeatMs: this.options.heartbeatMs } : {}),
        });
        if (this.options.gatewayPort === undefined && chosen.port === null) this.settings.update({ gateway: { mode: 'embedded', port } });
      }
      this.protect(this.gateway.apiKey);
      this.gatewayError = null;
    } catch (error) {
      this.gatewayError = (error as Error).message;
      this.log.error(`gateway: ${this.gatewayError}`);
    }
    for (const record of this.store.list()) await this.registerQuietly(record);
    this.emit('gateway.changed', this.gatewayInfo());
  }

  private gatewayInfo(): GatewayInfo {
    if (this.gateway) return this.gateway.info();
    const chosen = this.settings.get().gateway;
    return { mode: chosen.mode, url: chosen.mode === 'remote' ? chosen.url : '', status: 'error', error: this.gatewayError, apiKey: null, canMintTokens: false };
  }

  private requireGateway(): GatewayConnection {
    if (!this.gateway) throw new TokiosError('GATEWAY_UNREACHABLE', `the gateway is not available: ${this.gatewayError ?? 'not started'}`);
    return this.gateway;
  }

  private async switchGateway(next: () => Promise<GatewayConnection>, settings: Parameters<SettingsFile['update']>[0]): Promise<GatewayInfo> {
    const connection = await next();
    const old = this.gateway;
    this.gateway = connection;
    this.protect(connection.apiKey);
    this.settings.update(settings);
    for (const listed of this.store.list()) {
      let record = listed;
      // Tokens belong to the gateway that issued them. One the app minted elsewhere is
      // replaced by one from this gateway; one the user pasted is theirs to replace.
      if (record.mintedFor && record.mintedFor !== connection.url && connection.info().canMintTokens) {
        const token = await connection.mintToken();
        this.protect(token);
        record = this.store.update(record.id, { mintedFor: connection.url }, token);
      }
      await this.registerQuietly(record);
      if (record.enabled) this.run(record);
    }
    await old?.close();
    const info = this.gatewayInfo();
    this.emit('gateway.changed', info);
    return info;
  }

  // ---- deployments --------------------------------------------------------------------

  private view(record: DeploymentRecord): DeploymentView {
    const token = this.store.token(record.id);
    return {
      id: record.id, name: record.name, upstream: record.upstream, model: record.model, enabled: record.enabled,
      token: token ? maskSecret(token) : '', source: record.source, file: record.file,
      configError: this.configErrors.get(record.id) ?? null, created: record.created, updated: record.updated,
      health: this.tracker.view(record.id, this.supervisor.health(record.id) ?? stoppedHealth()),
    };
  }

  private invalidViews(): DeploymentView[] {
    return [...this.invalidFiles].map(([file, message]) => ({
      id: `file:${file}`, name: nameFromFile(file), upstream: '', model: null, enabled: false, token: '', source: 'folder', file,
      configError: message, created: '', updated: '', health: this.tracker.view('', stoppedHealth()),
    }));
  }

  private checkName(name: string, excludeId?: string): NameCheck {
    const problem = deploymentNameProblem(name);
    const other = this.store.list().find((d) => d.name === name && d.id !== excludeId);
    return { problem: problem ? `The name ${problem}.` : null, swapsWith: other ? { id: other.id, upstream: other.upstream } : null };
  }

  /** Validated fields and token for a new or changed deployment. */
  private async prepare(input: DeploymentInput, current?: DeploymentRecord): Promise<{ fields: DeploymentFields; token: string | null; replaces: DeploymentRecord | null }> {
    const name = input.name;
    const check = this.checkName(name, current?.id);
    if (check.problem) throw new TokiosError('NAME_INVALID', check.problem);
    const replaces = check.swapsWith ? this.store.get(check.swapsWith.id) : null;
    if (replaces && !input.replace) {
      throw new TokiosError('CONFLICT', `'${name}' is already the name of the deployment for ${replaces.upstream}. Saving again swaps its backend to this one: clients keep using '${name}' and its traffic moves here.`);
    }
    if (replaces?.source === 'folder') throw new TokiosError('CONFLICT', `'${name}' belongs to ${replaces.file}; rename or remove that file first`);
    const upstream = normalizeUpstreamUrl(input.upstream, (problem) => new TokiosError('INVALID_ARGUMENT', `Upstream URL ${problem}.`));
    const model = input.model?.trim() ? input.model.trim() : null;
    let token: string | null = null;
    if (input.token) {
      const problem = tunnelTokenProblem(input.token.trim());
      if (problem) throw new TokiosError('TOKEN_INVALID', `The tunnel token ${problem}.`);
      token = input.token.trim();
    }
    return { fields: { name, upstream, model, enabled: input.enabled ?? current?.enabled ?? true }, token, replaces };
  }

  private async create(input: DeploymentInput): Promise<DeploymentView> {
    const { fields, token: pasted, replaces } = await this.prepare(input);
    const gateway = this.requireGateway();
    const token = pasted ?? (gateway.info().canMintTokens ? await gateway.mintToken() : null);
    if (!token) throw new TokiosError('TOKEN_INVALID', 'Paste the tunnel token (tt-…) your gateway gave you for this deployment.');
    this.protect(token);
    await gateway.register(fields.name, token);
    const record = this.store.create({ ...fields, mintedFor: pasted ? null : gateway.url }, token);
    this.log.info(`deployment '${record.name}' created${replaces ? ` (swapping out the one for ${replaces.upstream})` : ''}`);
    if (record.enabled) this.run(record);
    this.publish(record.id);
    if (replaces) void this.retireAfterSwap(replaces, record);
    return this.view(record);
  }

  /** Once the new deployment serves the name, the one it replaced is stopped and removed. */
  private async retireAfterSwap(old: DeploymentRecord, next: DeploymentRecord): Promise<void> {
    await this.waitForState(next.id, ['online', 'upstream-down', 'token-rejected', 'crash-looping', 'stopped'], 30_000);
    await this.supervisor.remove(old.id);
    this.tracker.forget(old.id);
    this.configErrors.delete(old.id);
    this.store.remove(old.id);
    this.emit('deployment.removed', { id: old.id });
  }

  private waitForState(id: string, states: TunnelState[], timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        off();
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      const off = this.on('deployment.state', (event) => {
        if (event.id === id && states.includes(event.state)) done();
      });
      if (states.includes(this.supervisor.health(id)?.state ?? 'stopped')) done();
    });
  }

  private async update(id: string, changes: Partial<DeploymentInput>): Promise<DeploymentView> {
    const current = this.store.get(id);
    if (current.source === 'folder') throw new TokiosError('INVALID_ARGUMENT', `'${current.name}' comes from ${current.file}; edit that file (the app never rewrites it)`);
    const merged: DeploymentInput = { name: current.name, upstream: current.upstream, model: current.model, enabled: current.enabled, ...changes };
    const { fields, token, replaces } = await this.prepare(merged, current);
    const gateway = this.requireGateway();
    const oldToken = this.store.token(id);
    if (token) this.protect(token);
    const nextToken = token ?? oldToken;
    if (!nextToken) throw new TokiosError('TOKEN_INVALID', 'This deployment has no tunnel token; paste one.');
    if (fields.name !== current.name || token) await gateway.register(fields.name, nextToken);
    const record = this.store.update(id, fields, token ?? undefined);
    const restart = fields.upstream !== current.upstream || fields.model !== current.model || token !== null || fields.name !== current.name;
    if (!record.enabled) await this.supervisor.stop(id);
    else if (restart || !current.enabled) this.run(record);
    this.configErrors.delete(id);
    this.publish(id);
    if (replaces) void this.retireAfterSwap(replaces, record);
    return this.view(record);
  }

  private async remove(id: string): Promise<void> {
    if (id.startsWith('file:')) throw new TokiosError('INVALID_ARGUMENT', `delete ${id.slice(5)} to remove it`);
    const record = this.store.get(id);
    if (record.source === 'folder') throw new TokiosError('INVALID_ARGUMENT', `'${record.name}' comes from ${record.file}; delete that file to remove it`);
    await this.supervisor.remove(id);
    await this.unregisterIfOwned(record);
    this.tracker.forget(id);
    this.configErrors.delete(id);
    this.store.remove(id);
    this.emit('deployment.removed', { id });
  }

  private async unregisterIfOwned(record: DeploymentRecord): Promise<void> {
    if (this.store.list().some((d) => d.id !== record.id && d.name === record.name)) return;
    try {
      await this.gateway?.unregister(record.name);
    } catch (error) {
      this.log.warn(`could not unregister '${record.name}': ${(error as Error).message}`);
    }
  }

  private async setEnabled(id: string, enabled: boolean): Promise<DeploymentView> {
    const record = this.store.get(id);
    const next = record.enabled === enabled ? record : this.store.update(id, { enabled });
    if (enabled) {
      if (this.supervisor.health(id)?.state === 'stopped' || !this.supervisor.health(id)) this.run(next);
    } else {
      await this.supervisor.stop(id);
    }
    this.publish(id);
    return this.view(next);
  }

  /** Starts (or restarts with new settings) the deployment's worker. */
  private run(record: DeploymentRecord): void {
    const token = this.store.token(record.id);
    if (!token || !this.gateway) return;
    const config: TokiosConfig = { tunnel_token: token, upstream: record.upstream, name: record.name, ...(record.model ? { model: record.model } : {}) };
    this.supervisor.start(record.id, { config, gatewayUrl: this.gateway.url, ...(this.options.heartbeatMs ? { heartbeatMs: this.options.heartbeatMs } : {}) });
  }

  private async registerQuietly(record: DeploymentRecord): Promise<void> {
    const token = this.store.token(record.id);
    if (!token || !this.gateway) return;
    try {
      await this.gateway.register(record.name, token);
      this.configErrors.delete(record.id);
    } catch (error) {
      this.configErrors.set(record.id, `Could not register '${record.name}' with the gateway: ${(error as Error).message}`);
    }
  }

  /** Secrets the app holds are redacted from every log line, whatever their shape. */
  private protect(secret: string | null): void {
    if (secret) registerSecret(secret);
  }

  // ---- config folder ------------------------------------------------------------------

  private async onFolderUpsert(file: string, config: TokiosConfig): Promise<void> {
    this.invalidFiles.delete(file);
    this.protect(config.tunnel_token);
    const name = config.name ?? nameFromFile(file);
    const fields: DeploymentFields = { name, upstream: config.upstream, model: config.model ?? null, enabled: true };
    const existing = this.store.byFile(file);
    const clash = this.store.list().find((d) => d.name === name && d.file !== file);
    if (clash) {
      const message = `${file}: field \`name\`: '${name}' is already used by ${clash.file ?? `the deployment for ${clash.upstream}`}; give this file another name`;
      if (existing) this.configErrors.set(existing.id, message);
      else this.invalidFiles.set(file, message);
      this.log.warn(message);
      if (existing) this.publish(existing.id);
      else this.emit('deployment.updated', this.invalidViews().find((v) => v.file === file)!);
      return;
    }
    const record = existing ? this.store.update(existing.id, fields, config.tunnel_token) : this.store.create(fields, config.tunnel_token, 'folder', file);
    this.configErrors.delete(record.id);
    this.log.info(`${file}: ${existing ? 'changed; restarting its connector' : `new deployment '${name}'`}`);
    await this.registerQuietly(record);
    this.run(record);
    this.publish(record.id);
  }

  private onFolderInvalid(file: string, message: string): void {
    const existing = this.store.byFile(file);
    this.log.warn(`${message}${existing ? ' (the last good settings keep running)' : ''}`);
    if (existing) {
      this.configErrors.set(existing.id, message);
      this.publish(existing.id);
    } else {
      this.invalidFiles.set(file, message);
      this.emit('deployment.updated', this.invalidViews().find((v) => v.file === file)!);
    }
  }

  private async onFolderRemove(file: string): Promise<void> {
    if (this.invalidFiles.delete(file)) {
      this.emit('deployment.removed', { id: `file:${file}` });
      return;
    }
    const record = this.store.byFile(file);
    if (!record) return;
    this.log.info(`${file} was deleted; stopping '${record.name}'`);
    await this.supervisor.remove(record.id);
    await this.unregisterIfOwned(record);
    this.tracker.forget(record.id);
    this.configErrors.delete(record.id);
    this.store.remove(record.id);
    this.emit('deployment.removed', { id: record.id });
  }

  // ---- detection ----------------------------------------------------------------------

  private detected(): DetectedUpstream[] {
    const names = new Set(this.store.list().map((d) => d.name));
    return this.detector.list().map((info: UpstreamInfo) => ({
      url: info.url, kind: info.kind, version: info.version, models: info.models, reachable: info.reachable, loading: info.loading, problem: info.problem,
      proposal: proposeDeployment(info, (name) => names.has(name)),
      deploymentIds: this.store.list().filter((d) => d.upstream === info.url).map((d) => d.id),
    }));
  }

  // ---- export / import ----------------------------------------------------------------

  private exportTo(id: string, path: string | undefined): { path: string; containsSecret: true; warning: string } {
    const record = this.store.get(id);
    const token = this.store.token(id);
    if (!token) throw new TokiosError('NOT_FOUND', `deployment '${record.name}' has no token to export`);
    const gatewayUrl = this.gateway?.url;
    const loopback = !gatewayUrl || /^https?:\/\/(127\.|localhost|\[::1\])/.test(gatewayUrl);
    const config: TokiosConfig = {
      tunnel_token: token, upstream: record.upstream, name: record.name,
      ...(record.model ? { model: record.model } : {}), ...(loopback ? {} : { gateway: gatewayUrl }),
    };
    const target = path ?? freePath(join(existsSync(join(homedir(), 'Downloads')) ? join(homedir(), 'Downloads') : homedir(), `tokios-${record.name.replace(/[^A-Za-z0-9._-]/g, '-')}.json`));
    if (existsSync(target)) throw new TokiosError('CONFLICT', `${target} already exists; choose another file name (nothing was overwritten)`);
    writeFileAtomic(target, serializeTokiosConfig(config), 0o600);
    this.log.info(`exported '${record.name}' to ${target} (mode 0600)`);
    return {
      path: target,
      containsSecret: true,
      warning: `${target} contains the tunnel token: anyone with this file can serve '${record.name}'. It is readable only by you; share it like a password.`,
    };
  }

  private async importText(text: string, fileName: string, replace: boolean): Promise<DeploymentView> {
    const config = parseTokiosConfig(text, fileName);
    const name = config.name ?? nameFromFile(fileName);
    return this.create({ name, upstream: config.upstream, model: config.model ?? null, token: config.tunnel_token, enabled: true, replace });
  }

  // ---- the API ------------------------------------------------------------------------

  private createHandlers(): ApiHandlers {
    const info = (): AppInfo => ({
      version: VERSION, host: this.options.host, dataDir: this.options.dataDir, configDir: this.configDir,
      secretStorage: { kind: this.options.secrets.kind, warning: this.options.secrets.warning },
    });
    const byId = (id: string): DeploymentView => this.view(this.store.get(id));
    return {
      'app.info': async () => info(),
      'gateway.info': async () => this.gatewayInfo(),
      'gateway.revealApiKey': async () => {
        const key = this.gateway?.apiKey;
        if (!key) throw new TokiosError('NOT_FOUND', 'no API key is configured for this gateway');
        return { apiKey: key };
      },
      'gateway.useRemote': async ({ url, apiKey }) => {
        const normalized = normalizeGatewayUrl(url, (problem) => new TokiosError('INVALID_ARGUMENT', `Gateway URL ${problem}.`));
        return this.switchGateway(() => openRemoteGateway(normalized, apiKey, this.options.secrets), { gateway: { mode: 'remote', url: normalized } });
      },
      'gateway.useEmbedded': async () =>
        this.switchGateway(
          () => openEmbeddedGateway({ dataDir: this.options.dataDir, port: this.options.gatewayPort ?? DEFAULT_EMBEDDED_PORT, secrets: this.options.secrets, log: this.log }),
          { gateway: { mode: 'embedded', port: this.options.gatewayPort ?? DEFAULT_EMBEDDED_PORT } },
        ),
      'deployments.list': async () => this.deployments(),
      'deployments.checkName': async ({ name, excludeId }) => this.checkName(name, excludeId),
      'deployments.create': (input) => this.create(input),
      'deployments.update': ({ id, changes }) => this.update(id, changes),
      'deployments.remove': ({ id }) => this.remove(id),
      'deployments.start': ({ id }) => this.setEnabled(id, true),
      'deployments.stop': ({ id }) => this.setEnabled(id, false),
      'deployments.retry': async ({ id }) => {
        const record = this.store.get(id);
        if (!record.enabled) this.store.update(id, { enabled: true });
        if (this.supervisor.health(id)) this.supervisor.retry(id);
        else this.run(this.store.get(id));
        return byId(id);
      },
      'deployments.startAll': async () => {
        for (const record of this.store.list()) if (!record.enabled || this.supervisor.health(record.id)?.state === 'stopped') await this.setEnabled(record.id, true);
      },
      'deployments.stopAll': async () => {
        await Promise.all(this.store.list().filter((r) => r.enabled).map((r) => this.setEnabled(r.id, false)));
      },
      'deployments.requests': async ({ id }) => (this.store.get(id), this.tracker.requests(id)),
      'deployments.history': async ({ id }) => (this.store.get(id), this.tracker.history(id)),
      'deployments.export': async ({ id, path }) => this.exportTo(id, path),
      'deployments.import': ({ text, fileName, replace }) => this.importText(text, fileName, replace ?? false),
      'detect.list': async () => {
        await this.firstScan;
        return this.detected();
      },
      'detect.rescan': async () => {
        await this.detector.scan();
        return this.detected();
      },
      'detect.addEndpoint': async ({ url }) => {
        const normalized = normalizeUpstreamUrl(url, (problem) => new TokiosError('INVALID_ARGUMENT', `Server URL ${problem}.`));
        const urls = [...new Set([...this.settings.get().detectUrls, normalized])].slice(-32);
        await this.detector.setExtraUrls([...(this.options.detect?.extraUrls ?? []), ...urls]);
        this.settings.update({ detectUrls: urls });
        return this.detected();
      },
      'detect.createDeployment': async ({ url, name, model, token, replace }) => {
        const info = this.detected().find((u) => u.url === url) ?? (await this.detector.scan(), this.detected().find((u) => u.url === url));
        if (!info) throw new TokiosError('NOT_FOUND', `nothing was detected at ${url}; is the model server running?`);
        const proposal = info.proposal;
        const chosenName = name ?? proposal?.name;
        if (!chosenName) throw new TokiosError('INVALID_ARGUMENT', `${url} serves no models yet; load or pull one first`);
        return this.create({ name: chosenName, upstream: url, model: model === undefined ? (proposal?.model ?? null) : model, token: token ?? null, enabled: true, replace: replace ?? false });
      },
      'test.chat': async ({ deployment, prompt }) => {
        const gateway = this.requireGateway();
        if (!gateway.apiKey) throw new TokiosError('INVALID_ARGUMENT', 'the app has no API key for this gateway; add one in Gateway settings');
        return runTestChat(gateway.url, gateway.apiKey, deployment, prompt, (event) => this.emit('test.chat', event));
      },
    };
  }
}

function stoppedHealth(): SupervisedHealth {
  return { state: 'stopped', worker: null, restarts: 0, lastError: null, restartAt: null };
}

function freePath(path: string): string {
  if (!existsSync(path)) return path;
  const stem = path.replace(/\.json$/, '');
  for (let i = 2; ; i++) if (!existsSync(`${stem}-${i}.json`)) return `${stem}-${i}.json`;
}

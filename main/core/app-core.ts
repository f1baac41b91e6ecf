import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { ApiEvent, ApiEvents, ApiHandlers, AppInfo, DeploymentView } from '../../shared/api.js';
import { DeploymentStore } from '../deployments/deployment-store.js';
import type { SecretStore } from '../deployments/secret-store.js';
import type { DetectorOptions } from '../detect/upstream-detector.js';
import { Logger } from '../logging/logger.js';
import { ensurePrivateDir } from '../storage/atomic-file.js';
import { ConnectorSupervisor, type RestartPolicy } from '../supervisor/connector-supervisor.js';
import type { WorkerSpawner } from '../supervisor/worker-spawner.js';
import { VERSION } from '../version.js';
import { ApiEventBus } from './api-events.js';
import { SettingsFile } from './app-settings.js';
import { ConfigFolderSync } from './config-folder-sync.js';
import { DeploymentFiles } from './deployment-files.js';
import { DeploymentService } from './deployment-service.js';
import { DetectionService } from './detection-service.js';
import { NO_EXPORT_TARGET, type ExportTarget } from './export-target.js';
import { GatewayService } from './gateway-service.js';
import { LogBuffer } from './log-buffer.js';
import { RequestLog } from './request-log.js';
import { TaskGroup } from './task-group.js';
import { TestChats } from './test-chat.js';

/**
 * The app without Electron: the composition root. It builds the services (deployments and
 * their workers, the gateway in use, the config folder, detection, files, test chats),
 * starts and stops them in order, and maps each method of shared/api.ts to one of them.
 * It holds no logic of its own. The Electron shell and the headless host are two hosts of
 * this one object.
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
  /** How often each deployment's figures are published and sampled for the charts (default 1 s). */
  sampleIntervalMs?: number;
  /** Where exports go: the host's save dialog or download (default: none, exporting fails). */
  exportTarget?: ExportTarget;
  stopTimeoutMs?: number;
  log?: Logger;
  /** Where workers' log lines go (default: this process's stderr). */
  workerOutput?: (line: string) => void;
}

export class AppCore {
  readonly handlers: ApiHandlers;
  readonly log: Logger;
  private readonly events = new ApiEventBus();
  private readonly configDir: string;
  private readonly gateway: GatewayService;
  private readonly deploymentService: DeploymentService;
  private readonly folder: ConfigFolderSync;
  private readonly detection: DetectionService;
  private readonly files: DeploymentFiles;
  private readonly testChats: TestChats;
  /** Every request through the gateway and the connectors: the inspector, totals and rates. */
  private readonly requestLog: RequestLog;
  /** The recent lines of the app, its gateway and each worker: the Logs view. */
  private readonly logBuffer = new LogBuffer();
  /** Random per run: a page that sees another one knows the app restarted. */
  private readonly runId = randomUUID();
  /** The core's own timers (health sampling). */
  private readonly tasks: TaskGroup;
  private started = false;

  constructor(private readonly options: AppCoreOptions) {
    const log = (this.log = options.log ?? new Logger('core'));
    const events = this.events;
    ensurePrivateDir(options.dataDir);
    this.configDir = options.configDir ?? join(options.dataDir, 'connectors');
    ensurePrivateDir(this.configDir);
    const settings = new SettingsFile(options.dataDir);
    if (settings.setAside) log.warn(`${settings.setAside.reason}: the file was kept as ${settings.setAside.path}`);
    this.tasks = new TaskGroup(log);
    this.requestLog = new RequestLog((name) => this.deploymentService.idOfName(name));
    this.requestLog.on('logged', (request) => events.emit('request.logged', request));
    this.logBuffer.on('appended', (lines) => events.emit('logs.appended', { lines }));

    this.gateway = new GatewayService({
      dataDir: options.dataDir, secrets: options.secrets, settings, events, log,
      ...(options.gatewayPort !== undefined ? { port: options.gatewayPort } : {}),
      ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
      carryOver: (connection) => this.deploymentService.planMove(connection),
      deployments: () => this.deploymentService.records(),
      onRequest: (record) => this.requestLog.fromGateway(record),
    });
    const supervisor = new ConnectorSupervisor({
      spawner: options.spawner,
      log: log.child('supervisor'),
      ...(options.restart ? { restart: options.restart } : {}),
      ...(options.stopTimeoutMs ? { stopTimeoutMs: options.stopTimeoutMs } : {}),
    });
    this.deploymentService = new DeploymentService({
      store: new DeploymentStore(options.dataDir, options.secrets), supervisor, gateway: this.gateway, events, log,
      ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
      workerOutput: options.workerOutput ?? ((line) => process.stderr.write(`${line}\n`)),
      requestLog: this.requestLog, logBuffer: this.logBuffer, kindOf: (url) => this.detection.kindOf(url),
    });
    this.folder = new ConfigFolderSync({
      dir: this.configDir, deployments: this.deploymentService, events, log,
      ...(options.configStabilityMs ? { stabilityMs: options.configStabilityMs } : {}),
      onStatus: () => events.emit('app.changed', this.info()),
    });
    this.detection = new DetectionService({ ...(options.detect ? { detect: options.detect } : {}), settings, deployments: this.deploymentService, events, log });
    this.files = new DeploymentFiles({ deployments: this.deploymentService, gateway: this.gateway, log, target: options.exportTarget ?? NO_EXPORT_TARGET });
    this.testChats = new TestChats({ gateway: this.gateway, events, log });
    this.handlers = this.createHandlers();
  }

  /** Opens the gateway, starts enabled deployments, the config folder and detection. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.gateway.start();
    await this.deploymentService.registerAll();
    this.gateway.announce();
    this.deploymentService.startEnabled();
    await this.folder.start();
    this.detection.start();
    this.tasks.every('sampling health', this.options.sampleIntervalMs ?? 1000, () => this.deploymentService.sampleHealth());
  }

  /** Cancels and awaits everything the core started, drains every worker, then closes the gateway. Safe to call twice. */
  async stop(): Promise<void> {
    await this.tasks.stop();
    await this.testChats.stop();
    await this.detection.stop();
    await this.folder.stop();
    await this.deploymentService.stop();
    await this.gateway.close();
    this.logBuffer.close();
    this.started = false;
  }

  on<E extends ApiEvent>(event: E, listener: (payload: ApiEvents[E]) => void): () => void {
    return this.events.on(event, listener);
  }

  /** Every live worker's pid (tests read their command lines). */
  workerPids(): number[] {
    return this.deploymentService.workerPids();
  }

  /** The deployments in tray order, with their states (the Electron tray reads this). */
  deployments(): DeploymentView[] {
    return [...this.deploymentService.views(), ...this.folder.views()];
  }

  private info(): AppInfo {
    const { host, dataDir, secrets } = this.options;
    return { version: VERSION, runId: this.runId, host, dataDir, configDir: this.configDir, configDirError: this.folder.error, secretStorage: { kind: secrets.kind, warning: secrets.warning } };
  }

  private createHandlers(): ApiHandlers {
    const { gateway, deploymentService: deployments, files, detection, testChats } = this;
    return {
      'app.info': async () => this.info(),
      'gateway.info': async () => gateway.info(),
      'gateway.revealApiKey': async () => gateway.revealApiKey(),
      'gateway.useRemote': (args) => gateway.useRemote(args),
      'gateway.useEmbedded': () => gateway.useEmbedded(),
      'gateway.verify': (args) => gateway.verify(args),
      'gateway.rotateApiKey': () => gateway.rotateApiKey(),
      'gateway.signIn': (args) => gateway.signIn(args),
      'gateway.cancelSignIn': async () => gateway.cancelSignIn(),
      'deployments.list': async () => this.deployments(),
      'deployments.checkName': async ({ name, excludeId }) => deployments.checkName(name, excludeId),
      'deployments.checkToken': async ({ token }) => deployments.checkToken(token),
      'deployments.create': (input) => deployments.create(input),
      'deployments.update': ({ id, changes }) => deployments.update(id, changes),
      'deployments.remove': ({ id }) => deployments.remove(id),
      'deployments.start': ({ id }) => deployments.setEnabled(id, true),
      'deployments.stop': ({ id }) => deployments.setEnabled(id, false),
      'deployments.retry': async ({ id }) => deployments.retry(id),
      'deployments.startAll': () => deployments.startAll(),
      'deployments.stopAll': () => deployments.stopAll(),
      'deployments.history': async ({ id }) => deployments.history(id),
      'deployments.members': async ({ id }) => gateway.members(deployments.get(id).name),
      'deployments.export': (args) => files.export(args),
      'requests.list': async ({ deploymentId, limit }) => this.requestLog.list(deploymentId, limit),
      'logs.list': async () => ({
        sources: [{ id: 'app', label: 'App' }, { id: 'gateway', label: 'Gateway' }, ...deployments.records().map((d) => ({ id: d.id, label: d.name }))],
        lines: this.logBuffer.list(),
      }),
      'deployments.import': (args) => files.import(args),
      'detect.list': () => detection.list(),
      'detect.rescan': () => detection.rescan(),
      'detect.probe': (args) => detection.probe(args),
      'detect.addEndpoint': (args) => detection.addEndpoint(args),
      'detect.createDeployment': (args) => detection.createDeployment(args),
      'test.chat': async (args) => testChats.run(args),
    };
  }
}

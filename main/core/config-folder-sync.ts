import type { DeploymentView } from '../../shared/api.js';
import type { TokiosConfig } from '../../shared/tokios-config.js';
import { ConfigFolder, nameFromFile } from '../deployments/config-folder.js';
import { registerSecret, type Logger } from '../logging/logger.js';
import type { ApiEventBus } from './api-events.js';
import type { DeploymentService } from './deployment-service.js';
import { idleHealth } from './health-tracker.js';
import { TaskGroup } from './task-group.js';

/**
 * Mirrors the watched config folder into deployments: a valid `tokios-*.json` becomes (or
 * changes) a running deployment; an invalid edit keeps the last good settings running and
 * shows why; a file that never was valid shows as an error entry; a deleted file stops its
 * deployment. Changes are applied one at a time, in the order the folder reported them.
 */

export interface ConfigFolderSyncOptions {
  dir: string;
  /** How long a file must stay unchanged before it is read. */
  stabilityMs?: number;
  deployments: DeploymentService;
  events: ApiEventBus;
  log: Logger;
  /** The folder's status changed (see `error`). */
  onStatus: () => void;
}

export class ConfigFolderSync {
  private readonly folder: ConfigFolder;
  private readonly tasks: TaskGroup;
  /** Files that never had a valid version: shown as errors, not run. */
  private readonly invalidFiles = new Map<string, string>();
  private watchError: string | null = null;

  constructor(private readonly options: ConfigFolderSyncOptions) {
    this.tasks = new TaskGroup(options.log);
    this.folder = new ConfigFolder(options.dir, options.stabilityMs ? { stabilityMs: options.stabilityMs } : {});
    this.folder.on('upsert', (file, config) => this.tasks.queue(`applying ${file}`, () => this.onUpsert(file, config)));
    this.folder.on('invalid', (file, message) => this.tasks.queue(`reporting ${file}`, async () => this.onInvalid(file, message)));
    this.folder.on('remove', (file) => this.tasks.queue(`removing ${file}`, () => this.onRemove(file)));
    this.folder.on('watch-error', (error) => this.onWatchError(error));
  }

  /** Resolves once the files already there have been reported. */
  start(): Promise<void> {
    return this.folder.start();
  }

  /** Stops watching, then waits for the changes already reported to be applied. */
  async stop(): Promise<void> {
    await this.folder.close();
    await this.tasks.stop();
  }

  /** Why the folder is not being watched, or null while it is. */
  get error(): string | null {
    return this.watchError;
  }

  /** The error entries of files that never had a valid version. */
  views(): DeploymentView[] {
    return [...this.invalidFiles].map(([file, message]) => invalidView(file, message));
  }

  private async onUpsert(file: string, config: TokiosConfig): Promise<void> {
    const { deployments } = this.options;
    registerSecret(config.tunnel_token);
    this.invalidFiles.delete(file);
    const name = config.name ?? nameFromFile(file);
    const clash = deployments.records().find((d) => d.name === name && d.file !== file);
    if (clash) {
      this.onInvalid(file, `${file}: field \`name\`: '${name}' is already used by ${clash.file ?? `the deployment for ${clash.upstream}`}; give this file another name`, false);
      return;
    }
    await deployments.applyFile(file, { name, upstream: config.upstream, model: config.model ?? null, enabled: true }, config.tunnel_token);
  }

  private onInvalid(file: string, message: string, saysKept = true): void {
    const existing = this.options.deployments.byFile(file);
    this.options.log.warn(`${message}${existing && saysKept ? ' (the last good settings keep running)' : ''}`);
    if (existing) {
      this.options.deployments.setProblem(existing.id, message);
    } else {
      this.invalidFiles.set(file, message);
      this.options.events.emit('deployment.updated', invalidView(file, message));
    }
  }

  private async onRemove(file: string): Promise<void> {
    if (this.invalidFiles.delete(file)) {
      this.options.events.emit('deployment.removed', { id: `file:${file}` });
      return;
    }
    const record = this.options.deployments.byFile(file);
    if (record) await this.options.deployments.removeFile(record);
  }

  /** chokidar could not watch the folder: say so in the log and where the UI shows the folder. */
  private onWatchError(error: Error): void {
    const message = `${this.options.dir} cannot be watched for tokios-*.json files: ${error.message}; changes to files there are not applied until Tokios restarts`;
    if (message === this.watchError) return;
    this.watchError = message;
    this.options.log.error(message);
    this.options.onStatus();
  }
}

function invalidView(file: string, message: string): DeploymentView {
  return {
    id: `file:${file}`, name: nameFromFile(file), upstream: '', model: null, enabled: false, token: '', source: 'folder', file,
    configError: message, created: '', updated: '', health: idleHealth(),
  };
}

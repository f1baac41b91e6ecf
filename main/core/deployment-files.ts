import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { DeploymentView, ExportResult } from '../../shared/api.js';
import { TokiosError } from '../../shared/errors.js';
import { parseTokiosConfig, serializeTokiosConfig, type TokiosConfig } from '../../shared/tokios-config.js';
import { nameFromFile } from '../deployments/config-folder.js';
import type { Logger } from '../logging/logger.js';
import { writeFileAtomic } from '../storage/atomic-file.js';
import type { DeploymentService, GatewayAccess } from './deployment-service.js';

/**
 * `tokios.json` files out of and into the app: an export runs the same connector headless
 * elsewhere (it holds the tunnel token, so it is written owner-only and never over another
 * file); an import turns one into a deployment.
 */

export interface DeploymentFilesOptions {
  deployments: DeploymentService;
  gateway: GatewayAccess;
  log: Logger;
}

export class DeploymentFiles {
  constructor(private readonly options: DeploymentFilesOptions) {}

  export({ id, path }: { id: string; path?: string }): ExportResult {
    const { deployments, gateway, log } = this.options;
    const record = deployments.get(id);
    const token = deployments.token(id);
    if (!token) throw new TokiosError('NOT_FOUND', `deployment '${record.name}' has no token to export`);
    const gatewayUrl = gateway.current?.url;
    // A loopback gateway means nothing on another machine: the file then names none.
    const loopback = !gatewayUrl || /^https?:\/\/(127\.|localhost|\[::1\])/.test(gatewayUrl);
    const config: TokiosConfig = {
      tunnel_token: token, upstream: record.upstream, name: record.name,
      ...(record.model ? { model: record.model } : {}), ...(loopback ? {} : { gateway: gatewayUrl }),
    };
    const target = path ?? freePath(join(existsSync(join(homedir(), 'Downloads')) ? join(homedir(), 'Downloads') : homedir(), `tokios-${record.name.replace(/[^A-Za-z0-9._-]/g, '-')}.json`));
    if (existsSync(target)) throw new TokiosError('CONFLICT', `${target} already exists; choose another file name (nothing was overwritten)`);
    writeFileAtomic(target, serializeTokiosConfig(config), 0o600);
    log.info(`exported '${record.name}' to ${target} (mode 0600)`);
    return {
      path: target,
      containsSecret: true,
      warning: `${target} contains the tunnel token: anyone with this file can serve '${record.name}'. It is readable only by you; share it like a password.`,
    };
  }

  import({ text, fileName, replace }: { text: string; fileName: string; replace?: boolean }): Promise<DeploymentView> {
    const config = parseTokiosConfig(text, fileName);
    const name = config.name ?? nameFromFile(fileName);
    return this.options.deployments.create({ name, upstream: config.upstream, model: config.model ?? null, token: config.tunnel_token, enabled: true, replace: replace ?? false });
  }
}

/** `path`, or `path-2.json`, `path-3.json`… whichever does not exist yet. */
function freePath(path: string): string {
  if (!existsSync(path)) return path;
  const stem = path.replace(/\.json$/, '');
  for (let i = 2; ; i++) if (!existsSync(`${stem}-${i}.json`)) return `${stem}-${i}.json`;
}

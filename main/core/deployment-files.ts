import type { DeploymentView, ExportResult } from '../../shared/api.js';
import { TokiosError } from '../../shared/errors.js';
import { parseTokiosConfig, serializeTokiosConfig, type TokiosConfig } from '../../shared/tokios-config.js';
import { nameFromFile } from '../deployments/config-folder.js';
import type { Logger } from '../logging/logger.js';
import type { DeploymentService, GatewayAccess } from './deployment-service.js';
import type { ExportTarget } from './export-target.js';

/**
 * `tokios.json` files out of and into the app: an export runs the same connector headless
 * elsewhere (it holds the tunnel token; the host's target chooses where it goes with the
 * user, main/core/export-target.ts); an import turns one into a deployment.
 */

export interface DeploymentFilesOptions {
  deployments: DeploymentService;
  gateway: GatewayAccess;
  log: Logger;
  /** Where exports go: the host's save dialog or download. */
  target: ExportTarget;
}

export class DeploymentFiles {
  constructor(private readonly options: DeploymentFilesOptions) {}

  /** The tokios.json goes where the host lets the user choose; the result says what it holds and how to run it. */
  async export({ id }: { id: string }): Promise<ExportResult> {
    const { deployments, gateway, log, target } = this.options;
    const record = deployments.get(id);
    const token = deployments.token(id);
    if (!token) throw new TokiosError('NOT_FOUND', `deployment '${record.name}' has no token to export`);
    const gatewayUrl = gateway.current?.url ?? null;
    // A loopback gateway means nothing on another machine: the file then names none.
    const loopback = !gatewayUrl || /^(https?|wss?):\/\/(127\.|localhost|\[::1\])/.test(gatewayUrl);
    const config: TokiosConfig = {
      tunnel_token: token, upstream: record.upstream, name: record.name,
      ...(record.model ? { model: record.model } : {}), ...(loopback || !gatewayUrl ? {} : { gateway: gatewayUrl }),
    };
    const fileName = `tokios-${record.name.replace(/[^A-Za-z0-9._-]/g, '-')}.json`;
    const delivery = await target.deliver(fileName, serializeTokiosConfig(config));
    if (!delivery) return { outcome: 'cancelled' };
    log.info(`exported '${record.name}' ${delivery.outcome === 'saved' ? `to ${delivery.path} (mode 0600)` : 'as a browser download'}`);
    const runHint = loopback
      ? `On another machine: tokios connect --config ${fileName} --gateway URL, with the URL of a gateway that machine can reach. This app's gateway (${gatewayUrl ?? 'not running'}) listens on this computer only; to serve from elsewhere, switch to a hosted gateway first (Gateway page) and export again.`
      : `On a server: tokios connect --config ${fileName} (the file names the gateway, ${gatewayUrl}).`;
    const holder = delivery.outcome === 'saved' ? delivery.path : fileName;
    const warning = delivery.outcome === 'saved'
      ? `${holder} contains the tunnel token: anyone with this file can serve '${record.name}'. It is readable only by you; share it like a password.`
      : `${holder} contains the tunnel token: anyone with this file can serve '${record.name}'. Your browser saved it with its usual permissions: make it owner-only (chmod 600) and share it like a password.`;
    return delivery.outcome === 'saved'
      ? { outcome: 'saved', path: delivery.path, fileName, warning, runHint }
      : { outcome: 'download', url: delivery.url, fileName, warning, runHint };
  }

  import({ text, fileName, replace }: { text: string; fileName: string; replace?: boolean }): Promise<DeploymentView> {
    const config = parseTokiosConfig(text, fileName);
    const name = config.name ?? nameFromFile(fileName);
    return this.options.deployments.create({ name, upstream: config.upstream, model: config.model ?? null, token: config.tunnel_token, enabled: true, replace: replace ?? false });
  }
}

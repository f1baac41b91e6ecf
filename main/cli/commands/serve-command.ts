import { AppCore } from '../../core/app-core.js';
import { createFileSecretStore } from '../../deployments/secret-store.js';
import { DEFAULT_DETECT_URLS } from '../../detect/upstream-detector.js';
import { DownloadSlots } from '../../headless/download-slots.js';
import { startHeadlessHost } from '../../headless/headless-host.js';
import { installLastResortHandler } from '../../logging/last-resort-handler.js';
import { Logger } from '../../logging/logger.js';
import { defaultHeadlessDataDir, RENDERER_DIR } from '../../paths.js';
import { ChildProcessSpawner } from '../../supervisor/child-process-spawner.js';
import { type Command, ExitCode, inDataDir, parsePort, waitForShutdownSignal } from '../cli-support.js';

export const serveCommand: Command = {
  name: 'serve',
  help: `Usage: tokios serve [--data DIR] [--port P] [--gateway-port P] [--config-dir DIR] [--detect URL]...

Runs Tokios Desktop without a desktop: the embedded gateway, one connector worker per
deployment, detection and the config folder, with the same UI served on 127.0.0.1.

Prints the UI's URL as the first line of stdout. The URL carries a secret made for this
run (after '#', so it never travels in a request); the UI's API refuses anyone without
it, and refuses pages of other sites. Stops cleanly on SIGTERM or Ctrl-C.

Options:
  --data DIR          the app's data folder (default ${defaultHeadlessDataDir()})
  --port P            port for the UI (default: a free one)
  --gateway-port P    port of the embedded gateway (default: the saved one, first 8787)
  --config-dir DIR    folder of tokios-*.json files to mirror (default DIR/connectors)
  --detect URL        look for a model server here instead of the defaults
                      (${DEFAULT_DETECT_URLS.join(', ')}); repeatable
  -h, --help          show this help`,
  options: {
    data: { type: 'string' },
    port: { type: 'string' },
    'gateway-port': { type: 'string' },
    'config-dir': { type: 'string' },
    detect: { type: 'string', multiple: true },
  },
  async run(values) {
    const log = new Logger('app');
    // What a burst of escaped errors stops before the process exits; grows as the app starts.
    let stopApp = async (): Promise<void> => {};
    // One bug is logged and the app serves on; a burst of them says it is broken: it stops its workers and exits (code 70).
    installLastResortHandler({ log, beforeExit: () => stopApp() });
    const dataDir = (values.data as string | undefined) ?? defaultHeadlessDataDir();
    const detectUrls = values.detect as unknown as string[] | undefined;
    const downloads = new DownloadSlots();
    const core = new AppCore({
      exportTarget: downloads,
      dataDir,
      host: 'headless',
      secrets: inDataDir('--data', dataDir, () => createFileSecretStore(dataDir)),
      spawner: new ChildProcessSpawner(),
      log,
      ...(values['config-dir'] ? { configDir: values['config-dir'] as string } : {}),
      ...(values['gateway-port'] !== undefined ? { gatewayPort: parsePort(values['gateway-port'] as string, '--gateway-port') } : {}),
      ...(detectUrls ? { detect: { urls: detectUrls } } : {}),
    });
    stopApp = () => core.stop();
    await core.start();
    const { runId } = await core.handlers['app.info']();
    const headless = await startHeadlessHost({ core, rendererDir: RENDERER_DIR, port: parsePort((values.port as string | undefined) ?? '0'), log, downloads, runId });
    stopApp = async () => {
      await headless.close();
      await core.stop();
    };
    process.stdout.write(`${headless.url}\n`);
    const gateway = await core.handlers['gateway.info']();
    log.info(`UI at ${headless.origin} (open the URL printed above: it carries this run's secret); the gateway for your clients is ${gateway.url} (data in ${dataDir})`);
    const signal = await waitForShutdownSignal();
    log.info(`${signal}: stopping connectors`);
    await headless.close();
    await core.stop();
    return ExitCode.Ok;
  },
};

import { TokiosError } from '../../../shared/errors.js';
import { normalizeGatewayUrl } from '../../../shared/tokios-config.js';
import { readTokiosConfig } from '../../storage/config-file.js';
import { Connector } from '../../connector/connector.js';
import { installLastResortHandler } from '../../logging/last-resort-handler.js';
import { Logger } from '../../logging/logger.js';
import { type Command, ExitCode, positiveInt, waitForShutdownSignal } from '../cli-support.js';

export const connectCommand: Command = {
  name: 'connect',
  help: `Usage: tokios connect --config FILE [--gateway URL] [--max-held-bodies N]

Runs a connector headless: keeps a tunnel to the gateway open with the file's
tunnel_token and forwards the gateway's requests to the file's upstream.

FILE is a tokios.json:
  {"tunnel_token": "tt-…", "upstream": "http://localhost:11434"}
with optional "name" (deployment name, informational), "model" (the upstream model
requests are rewritten to; needed when the upstream serves several) and "gateway".

The gateway URL comes from --gateway, else the file's "gateway", else TOKIOS_GATEWAY.

Reconnects by itself with backoff, and says on stderr why it cannot get through
(each reason once, repeats counted). --gateway is the gateway's base URL, not the
API's .../v1 URL clients use. On SIGTERM or Ctrl-C it drains: finishes requests
in flight, then exits 0.

Exit codes: 0 drained and stopped · 1 another failure · 2 bad command line or
            invalid FILE · 3 the gateway rejected the tunnel token (retrying will not help)

Options:
  --config FILE    the tokios.json to run (required)
  --gateway URL    the gateway's base URL
  --max-held-bodies N
                   request body bytes held at once across all requests (default
                   134217728); past it a request is refused (the gateway answers 503)
  -h, --help       show this help`,
  options: { config: { type: 'string', short: 'c' }, gateway: { type: 'string' }, 'max-held-bodies': { type: 'string' } },
  async run(values) {
    const file = values.config as string | undefined;
    if (!file) throw new TokiosError('USAGE', "tokios connect: --config FILE is required. Run 'tokios connect --help' for usage.");
    const config = readTokiosConfig(file);
    const source = typeof values.gateway === 'string' ? '--gateway' : config.gateway ? `${file}: field \`gateway\`` : 'TOKIOS_GATEWAY';
    const raw = (values.gateway as string | undefined) ?? config.gateway ?? process.env.TOKIOS_GATEWAY;
    if (!raw) throw new TokiosError('USAGE', `tokios connect: no gateway URL: pass --gateway URL, set "gateway" in ${file}, or set TOKIOS_GATEWAY`);
    const gatewayUrl = normalizeGatewayUrl(raw, (problem) => new TokiosError('USAGE', `${source} ${problem}`));

    const log = new Logger(config.name ? `connector:${config.name}` : 'connector');
    installLastResortHandler({ log });
    const maxHeldBodyBytes = positiveInt(values, 'max-held-bodies');
    const connector = new Connector({ config, gatewayUrl, log, ...(maxHeldBodyBytes ? { maxHeldBodyBytes } : {}) });
    let lastState = '';
    connector.on('health', (health) => {
      if (health.state === lastState) return;
      lastState = health.state;
      log.info(`state: ${health.state}${health.deployment ? ` (deployment '${health.deployment}')` : ''}`);
    });
    // A connector that cannot get through says why, once per reason (repeats are counted), instead of only "connecting".
    connector.on('gateway-problem', (error) => log.warnRepeated(`gateway-problem ${error.message}`, `${error.message}; retrying`));
    const fatal = new Promise<TokiosError>((resolve) => connector.once('fatal', resolve));
    await connector.start();
    log.info(`forwarding ${config.upstream} through ${gatewayUrl}`);
    const outcome = await Promise.race([fatal, waitForShutdownSignal()]);
    if (outcome instanceof TokiosError) {
      connector.destroy();
      throw outcome;
    }
    log.info(`${outcome}: draining`);
    await connector.close();
    return ExitCode.Ok;
  },
};

import { TokiosError } from '../../../shared/errors.js';
import { GatewayClient } from '../../gateway/gateway-client.js';
import { type Command, ExitCode, printTable } from '../cli-support.js';
import { apiKeyFromArgs } from './register-command.js';

export const deploymentsCommand: Command = {
  name: 'deployments',
  help: `Usage: tokios deployments [--gateway URL] [--api-key-file F] [--json]

Lists the deployments registered on a gateway, with their live status. Needs an admin
API key (tokios key create --scope admin): TOKIOS_API_KEY, or --api-key-file.

Options:
  --gateway URL      the gateway's base URL (default: TOKIOS_GATEWAY)
  --api-key-file F   authenticate with the admin API key in F (as TOKIOS_API_KEY does)
  --json             print JSON instead of a table
  -h, --help         show this help`,
  options: { gateway: { type: 'string' }, 'api-key-file': { type: 'string' }, json: { type: 'boolean' } },
  async run(values) {
    const gateway = (values.gateway as string | undefined) ?? process.env.TOKIOS_GATEWAY;
    if (!gateway) throw new TokiosError('USAGE', 'tokios deployments: --gateway URL is required (or set TOKIOS_GATEWAY)');
    const apiKey = apiKeyFromArgs(values);
    if (!apiKey) throw new TokiosError('USAGE', 'tokios deployments: an admin API key of this gateway is required: --api-key-file F or TOKIOS_API_KEY (tokios key create --scope admin)');
    const deployments = await new GatewayClient(gateway).list(apiKey);
    if (values.json) {
      process.stdout.write(`${JSON.stringify(deployments, null, 2)}\n`);
      return ExitCode.Ok;
    }
    if (deployments.length === 0) {
      process.stdout.write('No deployments. Register one with: tokios register --gateway URL --name NAME --token TOKEN\n');
      return ExitCode.Ok;
    }
    const rows = deployments.map((d) => [d.name, d.status, String(d.tunnels), String(d.inFlight), d.upstreamKind ?? '-', d.upstreamModel ?? '-']);
    printTable(['NAME', 'STATUS', 'TUNNELS', 'IN FLIGHT', 'UPSTREAM', 'MODEL'], rows);
    return ExitCode.Ok;
  },
};

import { readFileSync } from 'node:fs';
import { TokiosError } from '../../../shared/errors.js';
import { apiKeyProblem, deploymentNameProblem, tunnelTokenProblem } from '../../../shared/names.js';
import { GatewayClient } from '../../gateway/gateway-client.js';
import { type Command, ExitCode, requireString } from '../cli-support.js';

/** The tunnel token from --token, --token-file or TOKIOS_TUNNEL_TOKEN, checked for shape. */
export function tokenFromArgs(values: Record<string, string | boolean | string[] | undefined>, command: string): string {
  let token: string | undefined;
  let source = '--token';
  if (typeof values.token === 'string') token = values.token;
  else if (typeof values['token-file'] === 'string') {
    source = values['token-file'];
    try {
      token = readFileSync(values['token-file'], 'utf8').trim();
    } catch (error) {
      throw new TokiosError('USAGE', `${source}: cannot read the token file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  } else if (process.env.TOKIOS_TUNNEL_TOKEN) {
    source = 'TOKIOS_TUNNEL_TOKEN';
    token = process.env.TOKIOS_TUNNEL_TOKEN.trim();
  }
  if (!token) throw new TokiosError('USAGE', `tokios ${command}: a tunnel token is required (--token, --token-file or TOKIOS_TUNNEL_TOKEN)`);
  const problem = tunnelTokenProblem(token);
  if (problem) throw new TokiosError('USAGE', `${source}: the tunnel token ${problem}`);
  return token;
}

/** The API key from --api-key-file or TOKIOS_API_KEY, if any. */
export function apiKeyFromArgs(values: Parameters<Command['run']>[0]): string | undefined {
  const file = values['api-key-file'];
  if (typeof file !== 'string') return process.env.TOKIOS_API_KEY?.trim() || undefined;
  let key: string;
  try {
    key = readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new TokiosError('USAGE', `${file}: cannot read the API key file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const problem = apiKeyProblem(key);
  if (problem) throw new TokiosError('USAGE', `${file}: the API key ${problem}`);
  return key;
}

export const registerCommand: Command = {
  name: 'register',
  help: `Usage: tokios register --gateway URL --name NAME --token TOKEN [--pool]

Binds the deployment NAME (what clients put in "model") to the tunnel token TOKEN.
Registering a NAME that exists with another token is the swap: the old connector keeps
serving until one with the new token is online, then new requests go to the new one
and the old one finishes what it has in flight. No client changes, no request lost.
A token serves one name: registering it under another NAME moves it there (a rename;
the old name goes).

The token authenticates the call itself, so nothing else is needed to bind a name
nobody holds or to renew this token's own. Moving a name bound to another token (the
swap) needs an admin API key: TOKIOS_API_KEY, or --api-key-file.

With --pool, TOKEN joins the name's pool instead: the tokens already bound keep serving
and requests are balanced over every connector of every token in the pool (by least
outstanding requests; one whose upstream is down gets none while another can take them).
This also needs an admin API key. Connectors of one token already form a pool: the same
tokios.json run on two machines needs no registration.

Options:
  --gateway URL       the gateway's base URL (default: TOKIOS_GATEWAY)
  --name NAME         deployment name: letters, digits, '.', '_', ':', '-' (max 64)
  --token TOKEN       the tunnel token (tt-…); note that command lines are visible to
                      other local users: --token-file or TOKIOS_TUNNEL_TOKEN avoid that
  --token-file FILE   read the token from FILE
  --api-key-file F    authenticate with the admin API key in F (as TOKIOS_API_KEY does)
  --pool              add TOKEN to NAME's pool rather than moving NAME to it (admin)
  -h, --help          show this help

With an API key, the call authenticates with it instead of the token.`,
  options: { gateway: { type: 'string' }, name: { type: 'string' }, token: { type: 'string' }, 'token-file': { type: 'string' }, 'api-key-file': { type: 'string' }, pool: { type: 'boolean' } },
  async run(values) {
    const gateway = (values.gateway as string | undefined) ?? process.env.TOKIOS_GATEWAY;
    if (!gateway) throw new TokiosError('USAGE', 'tokios register: --gateway URL is required (or set TOKIOS_GATEWAY)');
    const name = requireString(values, 'name', 'register');
    const nameProblem = deploymentNameProblem(name);
    if (nameProblem) throw new TokiosError('USAGE', `--name ${nameProblem}`);
    const token = tokenFromArgs(values, 'register');
    const result = await new GatewayClient(gateway).register(name, token, apiKeyFromArgs(values), { pool: values.pool === true });
    const status = result.deployment.status;
    const what = result.created ? 'registered' : result.swapped ? 'moved to the new token' : result.pooled ? 'has this token in its pool now' : 'already bound to this token';
    const state = status === 'online' ? 'online' : status === 'swapping' ? 'old backend serving until the new connector is online' : 'offline until its connector connects';
    process.stdout.write(`Deployment '${name}' ${what}${result.renamedFrom ? ` (renamed from '${result.renamedFrom}')` : ''}: ${state}.\n`);
    return ExitCode.Ok;
  },
};

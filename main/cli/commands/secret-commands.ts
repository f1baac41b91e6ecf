import { GatewayStore } from '../../gateway/gateway-store.js';
import { TokiosError } from '../../../shared/errors.js';
import { type Command, ExitCode, defaultGatewayDataDir } from '../cli-support.js';

function secretCommand(kind: 'key' | 'token'): Command {
  const what = kind === 'key' ? 'API key' : 'tunnel token';
  const example = kind === 'key' ? 'sk-tokios-…' : 'tt-…';
  return {
    name: kind,
    help: `Usage: tokios ${kind} create [--data DIR] [--label TEXT]

Creates a new ${what} (${example}) in the gateway's data folder and prints it as the
last line of stdout. A gateway running on the same folder accepts it at once. Only a
hash is stored: this is the one time the ${what} is shown.

Options:
  --data DIR      the gateway's data folder (default ${defaultGatewayDataDir()})
  --label TEXT    a note kept with it (e.g. who it is for)
  -h, --help      show this help`,
    options: { data: { type: 'string' }, label: { type: 'string' } },
    allowPositionals: true,
    async run(values, positionals) {
      if (positionals.length !== 1 || positionals[0] !== 'create') {
        throw new TokiosError('USAGE', `usage: tokios ${kind} create [--data DIR]; run 'tokios ${kind} --help'`);
      }
      const store = new GatewayStore((values.data as string | undefined) ?? defaultGatewayDataDir());
      const label = values.label as string | undefined;
      const secret = kind === 'key' ? (await store.createApiKey(label)).key : (await store.createTunnelToken(label)).token;
      process.stderr.write(`Created ${kind === 'key' ? 'an' : 'a'} ${what} in ${store.file}. It is shown only now; keep it somewhere safe.\n`);
      process.stdout.write(`${secret}\n`);
      return ExitCode.Ok;
    },
  };
}

export const keyCommand = secretCommand('key');
export const tokenCommand = secretCommand('token');

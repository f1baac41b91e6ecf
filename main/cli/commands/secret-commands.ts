import { readFileSync } from 'node:fs';
import { TokiosError } from '../../../shared/errors.js';
import type { CreateKeyInput, CredentialView, KeyScope } from '../../../shared/hosted-api.js';
import { AccountAdmin, type ListableKind } from '../../gateway/account-admin.js';
import type { GatewayStore } from '../../gateway/gateway-store.js';
import { type Command, ExitCode, defaultGatewayDataDir, positiveInt, printTable, withAdminStore } from '../cli-support.js';

/**
 * `tokios key …` and `tokios token …`: create, list and revoke an account's API keys and
 * tunnel tokens in a gateway's data folder. Gateways running on the same folder see a new
 * credential at once and a revocation within a second.
 */

type Values = Parameters<Command['run']>[0];

/** REF from the command line, or from stdin when it is `-` (a secret stays off the command line). */
function refArgument(positionals: string[], kind: string): string {
  const ref = positionals[1];
  if (!ref || positionals.length > 2) throw new TokiosError('USAGE', `usage: tokios ${kind} revoke REF (an id, a label, the secret itself, or - to read it from stdin)`);
  if (ref !== '-') return ref;
  const text = readFileSync(0, 'utf8').trim();
  if (!text) throw new TokiosError('USAGE', `tokios ${kind} revoke -: nothing on stdin`);
  return text;
}

function printList(views: CredentialView[], kind: ListableKind): void {
  if (views.length === 0) {
    process.stdout.write(`No ${kind === 'api-key' ? 'API keys' : 'tunnel tokens'} in this account.\n`);
    return;
  }
  const when = (iso: string | null): string => (iso ? iso.replace(/\.\d+Z$/, 'Z') : '-');
  if (kind === 'api-key') {
    printTable(
      ['ID', 'LABEL', 'SCOPE', 'STATUS', 'MODELS', 'LIMITS', 'LAST USED', 'EXPIRES'],
      views.map((v) => [
        v.id, v.label ?? '-', `${v.scope}${v.device ? ' (device)' : ''}`, v.status, v.models?.join(',') ?? 'all',
        Object.entries(v.limits ?? {}).map(([k, n]) => `${k}=${n}`).join(' ') || '-', when(v.lastUsed), when(v.expires),
      ]),
    );
  } else {
    printTable(['ID', 'LABEL', 'DEPLOYMENT', 'STATUS', 'LAST USED', 'EXPIRES'], views.map((v) => [v.id, v.label ?? '-', v.deployment ?? '-', v.status, when(v.lastUsed), when(v.expires)]));
  }
}

const COMMON_HELP = `  --data DIR        the gateway's data folder (default ${defaultGatewayDataDir()})
  --store URL       a replicated gateway's PostgreSQL instead (postgres://user@host/db;
                    or TOKIOS_STORE; the password in PGPASSWORD or ~/.pgpass)
  --account E       the account (email or id; default: the implicit one, which every
                    command uses when no accounts were created)`;

function credentialCommand(kind: ListableKind): Command {
  const name = kind === 'api-key' ? 'key' : 'token';
  const what = kind === 'api-key' ? 'API key' : 'tunnel token';
  const keyHelp = `
Options for create:
  --scope S         client (default): the data plane only; admin: also this account's
                    control plane (keys, tokens, deployments, usage), e.g. for the swap
  --models a,b      only these deployments (client keys; default: all of the account's)
  --rpm N           requests per minute          --tpm N   tokens per minute
  --parallel N      requests in flight at once
  --expires D       e.g. 30d, 12h (default: never)
  --label TEXT      a note kept with it (who it is for)`;
  const tokenHelp = `
Options for create:
  --expires D       e.g. 30d, 12h (default: never)
  --label TEXT      a note kept with it (which machine runs it)`;
  return {
    name,
    help: `Usage: tokios ${name} create [options]
       tokios ${name} list [--json]
       tokios ${name} revoke REF        (REF: id, label, the ${what} itself, or - to read it from stdin)

create prints a new ${what} (${kind === 'api-key' ? 'sk-tokios-…' : 'tt-…'}) as the last line of stdout. Only a hash
is stored: this is the one time it is shown. revoke takes effect on every gateway using
the folder within a second${kind === 'tunnel-token' ? ': tunnels open with the token close, and their connectors stop\nwith exit code 3' : ''}.

Options:
${COMMON_HELP}
  --json            list: print JSON
${kind === 'api-key' ? keyHelp : tokenHelp}
  -h, --help        show this help`,
    options: {
      data: { type: 'string' }, store: { type: 'string' }, account: { type: 'string' }, label: { type: 'string' }, expires: { type: 'string' }, json: { type: 'boolean' },
      ...(kind === 'api-key' ? { scope: { type: 'string' }, models: { type: 'string' }, rpm: { type: 'string' }, tpm: { type: 'string' }, parallel: { type: 'string' } } : {}),
    },
    allowPositionals: true,
    async run(values, positionals) {
      const action = positionals[0];
      if (action !== 'create' && action !== 'list' && action !== 'revoke') {
        throw new TokiosError('USAGE', `tokios ${name}: ${action ? `unknown subcommand '${action}'` : 'a subcommand is required'}: create, list or revoke; run 'tokios ${name} --help'`);
      }
      if (action !== 'revoke' && positionals.length > 1) throw new TokiosError('USAGE', `tokios ${name} ${action} takes no arguments besides options`);
      return withAdminStore(values, (store) => run(store, new AccountAdmin(store), values, positionals, action));
    },
  };

  async function run(store: GatewayStore, admin: AccountAdmin, values: Values, positionals: string[], action: 'create' | 'list' | 'revoke'): Promise<number> {
    const account = await admin.account(values.account as string | undefined);
    if (action === 'list') {
      const views = await admin.list(account.id, kind);
      if (values.json) process.stdout.write(`${JSON.stringify(views, null, 2)}\n`);
      else printList(views, kind);
      return ExitCode.Ok;
    }
    if (action === 'revoke') {
      const revoked = await admin.revoke(account.id, kind, refArgument(positionals, name));
      process.stdout.write(`Revoked ${what} ${revoked.id}${revoked.label ? ` (${revoked.label})` : ''}.\n`);
      return ExitCode.Ok;
    }
    const label = values.label as string | undefined;
    const expires = values.expires as string | undefined;
    let secret: string;
    if (kind === 'api-key') {
      const scope = (values.scope as string | undefined) ?? 'client';
      if (scope !== 'client' && scope !== 'admin') throw new TokiosError('USAGE', `--scope must be client or admin, got '${scope}'`);
      const models = typeof values.models === 'string' ? values.models.split(',').map((m) => m.trim()).filter(Boolean) : undefined;
      const input: CreateKeyInput = { scope: scope as KeyScope };
      if (label) input.label = label;
      if (expires) input.expires = expires;
      if (models) input.models = models;
      for (const flag of ['rpm', 'tpm', 'parallel'] as const) {
        const n = positiveInt(values, flag);
        if (n !== undefined) input[flag] = n;
      }
      secret = (await admin.createKey(account.id, input)).key!;
    } else {
      secret = (await admin.createToken(account.id, { ...(label ? { label } : {}), ...(expires ? { expires } : {}) })).token!;
    }
    process.stderr.write(`Created ${kind === 'api-key' ? 'an' : 'a'} ${what} in ${store.location}${account.email ? ` for ${account.email}` : ''}. It is shown only now; keep it somewhere safe.\n`);
    process.stdout.write(`${secret}\n`);
    return ExitCode.Ok;
  }
}

export const keyCommand = credentialCommand('api-key');
export const tokenCommand = credentialCommand('tunnel-token');

import { readFileSync } from 'node:fs';
import { TokiosError } from '../../../shared/errors.js';
import { IMPLICIT_ACCOUNT_ID, type GatewayStore } from '../../gateway/gateway-store.js';
import { hashPassword, passwordProblem } from '../../gateway/passwords.js';
import { type Command, ExitCode, defaultGatewayDataDir, printTable, withAdminStore } from '../cli-support.js';

/** `tokios account create|list`: the accounts of a gateway that many people share. */

const EMAIL = /^[^\s@]+@[^\s@]+$/;

function readPassword(file: string): string {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    throw new TokiosError('USAGE', `${file}: cannot read the password file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const password = text.replace(/\r?\n$/, '');
  const problem = passwordProblem(password);
  if (problem) throw new TokiosError('USAGE', `${file === '-' ? 'stdin' : file}: the password ${problem}`);
  return password;
}

export const accountCommand: Command = {
  name: 'account',
  help: `Usage: tokios account create --email E [--password-file F] [--claim-default] [--data DIR]
       tokios account list [--json] [--data DIR]

Everything on a gateway (deployments, tunnel tokens, API keys, usage) belongs to one
account; each account sees only its own. A gateway where nobody created an account has
one implicit account, which every command uses by default. create prints the new
account's id as the last line of stdout; other commands pick it with --account E.

Options:
  --data DIR          the gateway's data folder (default ${defaultGatewayDataDir()})
  --store URL         a replicated gateway's PostgreSQL instead (or TOKIOS_STORE)
  --email E           the account's sign-in for the dashboard
  --password-file F   its dashboard password (first line of F; - reads stdin). Without
                      it the account has no dashboard sign-in until one is set.
  --claim-default     give the implicit account (the one the single-user commands use)
                      this sign-in, instead of creating a new account
  --json              list: print JSON
  -h, --help          show this help`,
  options: { data: { type: 'string' }, store: { type: 'string' }, email: { type: 'string' }, 'password-file': { type: 'string' }, 'claim-default': { type: 'boolean' }, json: { type: 'boolean' } },
  allowPositionals: true,
  async run(values, positionals) {
    const action = positionals[0];
    if (action !== 'create' && action !== 'list') throw new TokiosError('USAGE', `tokios account: ${action ? `unknown subcommand '${action}'` : 'a subcommand is required'}: create or list; run 'tokios account --help'`);
    if (positionals.length > 1) throw new TokiosError('USAGE', `tokios account ${action} takes no arguments besides options`);
    return withAdminStore(values, (store) => run(store, values, action));
  },
};

async function run(store: GatewayStore, values: Parameters<Command['run']>[0], action: 'create' | 'list'): Promise<number> {
  if (action === 'list') {
    const accounts = (await store.accounts()).map((a) => ({ id: a.id, email: a.email, signIn: a.passwordHash !== null, created: a.created, implicit: a.id === IMPLICIT_ACCOUNT_ID }));
    if (values.json) process.stdout.write(`${JSON.stringify(accounts, null, 2)}\n`);
    else printTable(['ID', 'EMAIL', 'DASHBOARD SIGN-IN', 'CREATED'], accounts.map((a) => [a.id, a.email ?? (a.implicit ? '(implicit)' : '-'), a.signIn ? 'yes' : 'no', a.created]));
    return ExitCode.Ok;
  }
  const email = values.email;
  if (typeof email !== 'string' || !EMAIL.test(email)) throw new TokiosError('USAGE', `tokios account create: --email must be an email address${typeof email === 'string' ? `, got '${email}'` : ''}`);
  const passwordHash = typeof values['password-file'] === 'string' ? await hashPassword(readPassword(values['password-file'])) : null;
  const account = values['claim-default'] ? await store.setAccountLogin(IMPLICIT_ACCOUNT_ID, { email, passwordHash }) : await store.createAccount({ email, passwordHash });
  process.stderr.write(`${values['claim-default'] ? 'The implicit account now signs in as' : 'Created the account'} ${email}${passwordHash ? '' : ' (no dashboard password yet)'}.\n`);
  process.stdout.write(`${account.id}\n`);
  return ExitCode.Ok;
}

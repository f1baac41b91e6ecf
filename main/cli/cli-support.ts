import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InvalidFieldError, TokiosError, isTokiosError } from '../../shared/errors.js';
import { FileGatewayStore } from '../gateway/file-store.js';
import type { GatewayStore } from '../gateway/gateway-store.js';
import type { Logger } from '../logging/logger.js';
import { describeSystemError, systemErrorCode } from '../system-errors.js';

/** One `tokios` subcommand: its help text, its options, and what it does. */
export interface Command {
  name: string;
  /** Full `--help` text. */
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  allowPositionals?: boolean;
  /** Returns the process exit code. */
  run(values: Record<string, string | boolean | string[] | undefined>, positionals: string[]): Promise<number>;
}

/** Exit codes scripts can rely on. */
export const ExitCode = {
  Ok: 0,
  Failure: 1,
  /** Bad command line or invalid config file. */
  Usage: 2,
  /** The gateway rejected the tunnel token; retrying will not help. */
  TokenRejected: 3,
} as const;

export function parseCommandArgs(command: Command, argv: string[]): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  try {
    const parsed = parseArgs({ args: argv, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: command.allowPositionals ?? false, strict: true });
    return { values: parsed.values as Record<string, string | boolean | string[] | undefined>, positionals: parsed.positionals };
  } catch (error) {
    throw new TokiosError('USAGE', `${(error as Error).message.replace(/\. To specify a positional argument.*$/s, '')}\nRun 'tokios ${command.name} --help' for usage.`);
  }
}

export function requireString(values: Record<string, string | boolean | string[] | undefined>, name: string, command: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new TokiosError('USAGE', `tokios ${command}: --${name} is required. Run 'tokios ${command} --help' for usage.`);
  return value;
}

export function parsePort(text: string, flag = '--port'): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TokiosError('USAGE', `${flag} must be a port number from 0 to 65535, got '${text}'`);
  return port;
}

/** `--name N` as a positive whole number, or undefined when not given. */
export function positiveInt(values: Record<string, string | boolean | string[] | undefined>, name: string): number | undefined {
  const text = values[name];
  if (typeof text !== 'string') return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0) throw new TokiosError('USAGE', `--${name} must be a positive whole number, got '${text}'`);
  return value;
}

/** Where the gateway keeps its data when `--data` is not given. */
export function defaultGatewayDataDir(): string {
  const base = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(base, 'tokios', 'gateway');
}

/** The database URL of `--store` (or TOKIOS_STORE), or undefined for the folder store. */
export function storeUrl(values: Record<string, string | boolean | string[] | undefined>): string | undefined {
  const url = typeof values.store === 'string' ? values.store : process.env.TOKIOS_STORE || undefined;
  if (url === undefined) return undefined;
  if (!/^postgres(ql)?:\/\//.test(url)) throw new TokiosError('USAGE', `--store takes a PostgreSQL URL (postgres://user@host:5432/db), got '${url.slice(0, 40)}'; a folder is --data DIR`);
  if (typeof values.store === 'string' && /^postgres(ql)?:\/\/[^/@]*:[^/@]*@/.test(url)) {
    process.stderr.write('tokios: warning: the --store URL holds a password, which other local users can read on the command line; put it in PGPASSWORD or ~/.pgpass, or pass the URL in TOKIOS_STORE\n');
  }
  return url;
}

/**
 * The store the admin commands and the gateway work on: PostgreSQL with `--store URL` (or
 * TOKIOS_STORE), else the folder of `--data DIR`. The database driver loads only when used.
 */
export async function openStore(values: Record<string, string | boolean | string[] | undefined>, log?: Logger): Promise<GatewayStore> {
  const url = storeUrl(values);
  if (url === undefined) {
    const dir = (values.data as string | undefined) ?? defaultGatewayDataDir();
    return inDataDir('--data', dir, () => new FileGatewayStore(dir));
  }
  const { PostgresGatewayStore } = await import('../gateway/postgres-store.js');
  return PostgresGatewayStore.open(url, log ? { log } : {});
}

/**
 * Opens the store of an admin command (key, token, account), runs `work` on it and closes
 * it. A folder store with no gateway.json before is said out loud: it is most often a typo
 * in --data, and a gateway running on the intended folder would never see what was made.
 */
export async function withAdminStore<T>(values: Record<string, string | boolean | string[] | undefined>, work: (store: GatewayStore) => Promise<T>): Promise<T> {
  const dir = storeUrl(values) === undefined ? ((values.data as string | undefined) ?? defaultGatewayDataDir()) : undefined;
  const isNew = dir !== undefined && !existsSync(join(dir, 'gateway.json'));
  const store = await openStore(values);
  try {
    return await work(store);
  } finally {
    await store.close();
    if (isNew && existsSync(join(dir, 'gateway.json'))) {
      process.stderr.write(`tokios: created a new gateway store in ${dir}: no gateway.json was there; a gateway running on another folder will not know what this command made\n`);
    } else if (isNew) {
      process.stderr.write(`tokios: no gateway store in ${dir} (no gateway.json there); is --data right?\n`);
    }
  }
}

/**
 * Runs `open` on the folder `flag` names; a path that cannot be that folder (a file is
 * there, no permission) becomes one line naming the flag and the fix, not a stack trace.
 */
export function inDataDir<T>(flag: string, dir: string, open: () => T): T {
  try {
    return open();
  } catch (error) {
    const code = systemErrorCode(error);
    if (isTokiosError(error) || !code || !/^E[A-Z]+$/.test(code)) throw error;
    throw new TokiosError('USAGE', `${flag} ${dir}: cannot keep data there: ${describeSystemError(error)}; give ${flag} a folder you can write to (or a path that does not exist yet)`);
  }
}

/** Prints rows as aligned columns under `header`. */
export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  for (const row of [header, ...rows]) process.stdout.write(`${row.map((cell, i) => (cell ?? '').padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
}

/** Prints an error the way every command does, and picks the exit code for it. */
export function reportError(error: unknown): number {
  // The admin code names a field (`expires`); on the command line it is the flag `--expires`.
  if (error instanceof InvalidFieldError) return reportError(new TokiosError('USAGE', `--${error.field} ${error.problem}`));
  if (isTokiosError(error)) {
    // Messages that already say which command ("tokios connect: …") get no second prefix.
    process.stderr.write(`${error.message.startsWith('tokios ') ? '' : 'tokios: '}${error.message}\n`);
    if (error.code === 'TUNNEL_TOKEN_REJECTED') return ExitCode.TokenRejected;
    if (error.code === 'USAGE' || error.code === 'CONFIG_INVALID' || error.code === 'CONFIG_UNREADABLE' || error.code === 'PORT_IN_USE') return ExitCode.Usage;
    return ExitCode.Failure;
  }
  // A system error nobody described (a file, a socket): one line saying what and why, no stack.
  const { syscall, path } = (error ?? {}) as NodeJS.ErrnoException;
  if (syscall && systemErrorCode(error)) {
    process.stderr.write(`tokios: cannot ${syscall}${path ? ` ${path}` : ''}: ${describeSystemError(error)}\n`);
    return ExitCode.Failure;
  }
  process.stderr.write(`tokios: ${(error as Error)?.stack ?? String(error)}\n`);
  return ExitCode.Failure;
}

/** Resolves on the first SIGTERM or SIGINT; a second one exits at once. */
export function waitForShutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      process.once('SIGTERM', () => process.exit(ExitCode.Failure));
      process.once('SIGINT', () => process.exit(ExitCode.Failure));
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

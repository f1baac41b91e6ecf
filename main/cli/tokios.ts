#!/usr/bin/env node
import { systemErrorCode } from '../system-errors.js';
import { VERSION } from '../version.js';
import { type Command, ExitCode, parseCommandArgs, reportError } from './cli-support.js';

/**
 * `tokios`: the connector, the gateway and their admin, from one command. Each command's
 * code is loaded only when it runs, so `tokios connect` does not carry the app, the
 * gateway or the file watcher in its memory.
 */

interface Entry {
  name: string;
  usage: string;
  summary: string;
  load: () => Promise<Command>;
}

const COMMANDS: Entry[] = [
  { name: 'serve', usage: 'serve', summary: 'run the app headless: its UI and API on loopback', load: async () => (await import('./commands/serve-command.js')).serveCommand },
  { name: 'connect', usage: 'connect', summary: 'run a connector from a tokios.json', load: async () => (await import('./commands/connect-command.js')).connectCommand },
  { name: 'gateway', usage: 'gateway', summary: 'run the routing gateway', load: async () => (await import('./commands/gateway-command.js')).gatewayCommand },
  { name: 'account', usage: 'account create|list', summary: 'accounts of a gateway many people share', load: async () => (await import('./commands/account-command.js')).accountCommand },
  { name: 'key', usage: 'key create|list|revoke', summary: 'API keys for clients (scopes, limits, expiry)', load: async () => (await import('./commands/secret-commands.js')).keyCommand },
  { name: 'token', usage: 'token create|list|revoke', summary: 'tunnel tokens for connectors', load: async () => (await import('./commands/secret-commands.js')).tokenCommand },
  { name: 'register', usage: 'register', summary: 'bind a deployment name to a tunnel token (again: swap its backend)', load: async () => (await import('./commands/register-command.js')).registerCommand },
  { name: 'deployments', usage: 'deployments', summary: "list a gateway's deployments with live status", load: async () => (await import('./commands/deployments-command.js')).deploymentsCommand },
  { name: 'detect', usage: 'detect', summary: 'look for local model servers (Ollama, llama.cpp, OpenAI-compatible)', load: async () => (await import('./commands/detect-command.js')).detectCommand },
];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.usage.length));
  const lines = COMMANDS.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`);
  return `Usage: tokios <command> [options]

Put your own LLMs (Ollama, llama.cpp, any OpenAI-compatible server) behind one
endpoint and one API key.

Commands:
${lines.join('\n')}

Run 'tokios <command> --help' for a command's options.
Version ${VERSION} ('tokios version' prints it alone).`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name ? ExitCode.Ok : ExitCode.Usage;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(`${VERSION}\n`);
    return ExitCode.Ok;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    process.stderr.write(`tokios: unknown command '${name}'.\n\n${usage()}\n`);
    return ExitCode.Usage;
  }
  const command = await entry.load();
  const { values, positionals } = parseCommandArgs(command, rest);
  if (values.help) {
    process.stdout.write(`${command.help}\n`);
    return ExitCode.Ok;
  }
  return command.run(values, positionals);
}

function exit(code: number): void {
  process.exitCode = code;
  // Idle keep-alive sockets (fetch's pool, say) must not hold a finished command open.
  setTimeout(() => process.exit(code), 200).unref();
}

// `tokios key list | head -1`: the reader has gone, so there is nobody left to tell; stop quietly, as Unix tools do.
process.stdout.on('error', (error) => {
  if (systemErrorCode(error) === 'EPIPE') process.exit(ExitCode.Ok);
  process.exit(reportError(error));
});

main(process.argv.slice(2)).then(exit, (error: unknown) => exit(reportError(error)));

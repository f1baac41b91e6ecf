#!/usr/bin/env node
import { VERSION } from '../version.js';
import { type Command, ExitCode, parseCommandArgs, reportError } from './cli-support.js';
import { connectCommand } from './commands/connect-command.js';
import { detectCommand } from './commands/detect-command.js';
import { deploymentsCommand } from './commands/deployments-command.js';
import { gatewayCommand } from './commands/gateway-command.js';
import { registerCommand } from './commands/register-command.js';
import { keyCommand, tokenCommand } from './commands/secret-commands.js';
import { serveCommand } from './commands/serve-command.js';

/** `tokios`: the connector, the gateway and their admin, from one command. */

const COMMANDS: Command[] = [serveCommand, connectCommand, gatewayCommand, keyCommand, tokenCommand, registerCommand, deploymentsCommand, detectCommand];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length + (c === keyCommand || c === tokenCommand ? 7 : 0)));
  const lines = COMMANDS.map((c) => `  ${(c === keyCommand || c === tokenCommand ? `${c.name} create` : c.name).padEnd(width)}  ${c.summary}`);
  return `Usage: tokios <command> [options]

Put your own LLMs (Ollama, llama.cpp, any OpenAI-compatible server) behind one
endpoint and one API key.

Commands:
${lines.join('\n')}

Run 'tokios <command> --help' for a command's options.
Version ${VERSION}.`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name ? ExitCode.Ok : ExitCode.Usage;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return ExitCode.Ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`tokios: unknown command '${name}'.\n\n${usage()}\n`);
    return ExitCode.Usage;
  }
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

main(process.argv.slice(2)).then(exit, (error: unknown) => exit(reportError(error)));

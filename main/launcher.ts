import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { findElectronBinary } from './electron-binary.js';

/**
 * `npm start`: the Electron app where its binary is installed; otherwise the headless host
 * (`tokios serve`), saying why. Never triggers Electron's binary download.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const electron = process.env.TOKIOS_HEADLESS ? { path: null, reason: 'TOKIOS_HEADLESS is set' } : findElectronBinary();

if (electron.path) {
  const child = spawn(electron.path, [root, ...process.argv.slice(2)], { stdio: 'inherit' });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
} else {
  process.stderr.write(`Starting Tokios headless, because ${electron.reason}.\nIt is the same app: open the URL below in a browser.\n`);
  process.argv = [process.argv[0]!, process.argv[1]!, 'serve', ...process.argv.slice(2)];
  await import('./cli/tokios.js');
}

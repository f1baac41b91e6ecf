import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `npm start`: the Electron app where its binary is installed; otherwise the headless host
 * (`tokios serve`), saying why. Never triggers Electron's binary download.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));

function electronBinary(): string | null {
  try {
    const pkgDir = dirname(createRequire(import.meta.url).resolve('electron/package.json'));
    const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
    const pathFile = join(pkgDir, 'path.txt');
    const relative = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : null;
    const binary = override ? join(override, relative ?? 'electron') : relative ? join(pkgDir, 'dist', relative) : null;
    return binary && existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

const binary = process.env.TOKIOS_HEADLESS ? null : electronBinary();
if (binary) {
  const child = spawn(binary, [root, ...process.argv.slice(2)], { stdio: 'inherit' });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
} else {
  process.stderr.write(
    process.env.TOKIOS_HEADLESS
      ? 'TOKIOS_HEADLESS is set: starting the headless app (tokios serve).\n'
      : 'The Electron binary is not installed here (its download did not happen or is not possible), so Tokios starts headless: the same app, with its UI at the URL below. Open it in a browser.\n',
  );
  process.argv = [process.argv[0]!, process.argv[1]!, 'serve', ...process.argv.slice(2)];
  await import('./cli/tokios.js');
}

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * Where the Electron binary is, without triggering its download (the `electron` package
 * fetches it on first require). Null, with the reason, when there is none.
 */
export function findElectronBinary(): { path: string | null; reason: string } {
  let pkgDir: string;
  try {
    pkgDir = dirname(createRequire(import.meta.url).resolve('electron/package.json'));
  } catch {
    return { path: null, reason: 'the electron package is not installed (run npm ci)' };
  }
  const pathFile = join(pkgDir, 'path.txt');
  const relative = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : null;
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  const binary = override ? join(override, relative ?? 'electron') : relative ? join(pkgDir, 'dist', relative) : null;
  if (binary && existsSync(binary)) return { path: binary, reason: '' };
  return { path: null, reason: `no Electron binary in ${override ?? join(pkgDir, 'dist')} (it is downloaded on first use, which this machine cannot do; run 'npx install-electron' where it can)` };
}

import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where built pieces are, relative to this file once compiled (dist/main/paths.js). */
export const RENDERER_DIR = fileURLToPath(new URL('../renderer/', import.meta.url));
export const ASSETS_DIR = fileURLToPath(new URL('../../assets/', import.meta.url));

/** The headless host's data folder (the Electron app uses its own userData folder). */
export function defaultHeadlessDataDir(): string {
  const base = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(base, 'tokios', 'app');
}

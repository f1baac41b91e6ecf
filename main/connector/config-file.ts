import { readFileSync } from 'node:fs';
import { ConfigError, TokiosError } from '../../shared/errors.js';
import { parseTokiosConfig, type TokiosConfig } from '../../shared/tokios-config.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads and validates a `tokios.json`. Only reads: the file is never rewritten. */
export function readTokiosConfig(path: string): TokiosConfig {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a folder' : (error as Error).message;
    throw new TokiosError('CONFIG_UNREADABLE', `${path}: cannot read the config file (${why})`);
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new ConfigError(path, null, 'is not valid UTF-8 text; save it as UTF-8 JSON');
  }
  return parseTokiosConfig(text, path);
}

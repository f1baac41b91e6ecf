import { readFileSync } from 'node:fs';
import { ConfigError, TokiosError } from '../../shared/errors.js';
import { parseTokiosConfig, type TokiosConfig } from '../../shared/tokios-config.js';
import { describeSystemError } from '../system-errors.js';

/** Reading a `tokios.json` from disk: the connector CLI and the watched config folder share it. */

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads and validates a `tokios.json`. Only reads: the file is never rewritten. */
export function readTokiosConfig(path: string): TokiosConfig {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new TokiosError('CONFIG_UNREADABLE', `${path}: cannot read the config file (${describeSystemError(error)})`);
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new ConfigError(path, null, 'is not valid UTF-8 text; save it as UTF-8 JSON');
  }
  return parseTokiosConfig(text, path);
}

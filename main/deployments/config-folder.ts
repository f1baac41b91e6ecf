import { lstatSync } from 'node:fs';
import { basename } from 'node:path';
import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'chokidar';
import { isTokiosError } from '../../shared/errors.js';
import { serializeTokiosConfig, type TokiosConfig } from '../../shared/tokios-config.js';
import { readTokiosConfig } from '../storage/config-file.js';

/**
 * Watches a folder of `tokios-*.json` files. Waits for writes to settle
 * (`awaitWriteFinish`), reads each file without ever writing it, and reports what it
 * found (see ConfigFolderEvents). Symbolic links are not followed.
 */

export const CONFIG_FILE_PATTERN = /^tokios-.+\.json$/;
const MAX_FILE_BYTES = 64 * 1024;

export interface ConfigFolderOptions {
  /** How long a file must stay unchanged before it is read. */
  stabilityMs?: number;
}

export type ConfigFolderEvents = {
  /** A new or changed file that is valid. */
  upsert: [file: string, config: TokiosConfig];
  /** A file that cannot be used, and why (the caller keeps its last good settings running). */
  invalid: [file: string, message: string];
  /** The file is gone. */
  remove: [file: string];
  /** The watcher failed (the folder went away, too many files to watch…). */
  'watch-error': [error: Error];
};

export class ConfigFolder extends EventEmitter<ConfigFolderEvents> {
  private watcher: FSWatcher | null = null;
  /** Last applied config per file, to skip writes that change nothing. */
  private readonly applied = new Map<string, string>();

  constructor(readonly dir: string, private readonly options: ConfigFolderOptions = {}) {
    super();
  }

  /** Resolves once the files already there have been reported. */
  start(): Promise<void> {
    const stability = this.options.stabilityMs ?? 300;
    const watcher = watch(this.dir, {
      depth: 0,
      followSymlinks: false,
      ignoreInitial: false,
      awaitWriteFinish: { stabilityThreshold: stability, pollInterval: Math.max(20, Math.floor(stability / 4)) },
      ignored: (path, stats) => path !== this.dir && (stats?.isDirectory() === true || !CONFIG_FILE_PATTERN.test(basename(path))),
    });
    this.watcher = watcher;
    watcher.on('add', (file) => this.read(file));
    watcher.on('change', (file) => this.read(file));
    watcher.on('unlink', (file) => {
      this.applied.delete(file);
      this.emit('remove', file);
    });
    watcher.on('error', (error) => this.emit('watch-error', error instanceof Error ? error : new Error(String(error))));
    return new Promise((resolve) => watcher.once('ready', () => resolve()));
  }

  async close(): Promise<void> {
    await this.watcher?.close();
    this.watcher = null;
  }

  private read(file: string): void {
    let config: TokiosConfig;
    try {
      const stats = lstatSync(file);
      if (stats.isSymbolicLink()) throw new Error(`${file}: is a symbolic link; put the file itself in the config folder (links are not followed)`);
      if (stats.size > MAX_FILE_BYTES) throw new Error(`${file}: is ${stats.size} bytes; a tokios.json is at most ${MAX_FILE_BYTES}`);
      config = readTokiosConfig(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // removed while settling; 'unlink' follows
      this.applied.delete(file);
      this.emit('invalid', file, isTokiosError(error) || error instanceof Error ? error.message : String(error));
      return;
    }
    const text = serializeTokiosConfig(config);
    if (this.applied.get(file) === text) return;
    this.applied.set(file, text);
    this.emit('upsert', file, config);
  }
}

/** `tokios-gemma.json` → `gemma`: the deployment name when the file names none. */
export function nameFromFile(file: string): string {
  return basename(file).replace(/^tokios-/, '').replace(/\.json$/, '');
}

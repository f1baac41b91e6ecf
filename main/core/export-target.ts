import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TokiosError } from '../../shared/errors.js';
import { ensurePrivateDir, writeFileAtomic } from '../storage/atomic-file.js';

/**
 * Where an exported tokios.json goes is the host's choice, made with the user, never the
 * page's: Electron asks with the operating system's save dialog (main/electron), the
 * headless host hands the browser a one-time download (main/headless). The core only
 * produces the text and reports the outcome.
 */

export type ExportDelivery = { outcome: 'saved'; path: string } | { outcome: 'download'; url: string };

export interface ExportTarget {
  /** Lets the user choose where `fileName` goes and puts `text` there; null when they cancelled. */
  deliver(fileName: string, text: string): Promise<ExportDelivery | null>;
}

/**
 * Writes an export owner-only (it holds a tunnel token); over an existing file only when the
 * user said so (the OS dialog's overwrite question).
 */
export function writeExportFile(path: string, text: string, overwrite = false): void {
  if (!overwrite && existsSync(path)) throw new TokiosError('CONFLICT', `${path} already exists; choose another file name (nothing was overwritten)`);
  writeFileAtomic(path, text, 0o600);
}

/** Saves into one folder under a free name: the stand-in for a save dialog in tests and tools. */
export function folderExportTarget(dir: string): ExportTarget {
  return {
    async deliver(fileName, text) {
      ensurePrivateDir(dir);
      const stem = fileName.replace(/\.json$/, '');
      let path = join(dir, fileName);
      for (let i = 2; existsSync(path); i++) path = join(dir, `${stem}-${i}.json`);
      writeExportFile(path, text);
      return { outcome: 'saved', path };
    },
  };
}

/** For hosts that cannot save files for the user. */
export const NO_EXPORT_TARGET: ExportTarget = {
  deliver: () => Promise.reject(new TokiosError('INVALID_ARGUMENT', 'this host cannot save files; use the Tokios app or `tokios serve`')),
};

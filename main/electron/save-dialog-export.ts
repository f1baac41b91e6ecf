import type { BrowserWindow, Dialog } from 'electron';
import { join } from 'node:path';
import { writeExportFile, type ExportTarget } from '../core/export-target.js';

/**
 * Electron's export target: the operating system's save dialog chooses where the
 * tokios.json goes (the page never names a path), and the file is written owner-only.
 */

export interface SaveDialogDeps {
  dialog: Pick<Dialog, 'showSaveDialog'>;
  /** The window the dialog belongs to, when one is open. */
  window: () => BrowserWindow | null;
  /** Where the dialog starts (the user's Downloads folder). */
  defaultDir: string;
}

export function saveDialogExportTarget(deps: SaveDialogDeps): ExportTarget {
  return {
    async deliver(fileName, text) {
      const options = {
        title: 'Export tokios.json',
        defaultPath: join(deps.defaultDir, fileName),
        buttonLabel: 'Export',
        filters: [{ name: 'tokios.json', extensions: ['json'] }],
        properties: ['showOverwriteConfirmation' as const, 'createDirectory' as const],
      };
      const window = deps.window();
      const choice = window ? await deps.dialog.showSaveDialog(window, options) : await deps.dialog.showSaveDialog(options);
      if (choice.canceled || !choice.filePath) return null;
      // The dialog already asked before replacing a file, so its answer stands.
      writeExportFile(choice.filePath, text, true);
      return { outcome: 'saved', path: choice.filePath };
    },
  };
}

import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { readFileIfExists, writeFileAtomic } from '../storage/atomic-file.js';

/** The app's non-secret settings, in `<dataDir>/settings.json`. */
export interface AppSettings {
  gateway: { mode: 'embedded'; port: number | null } | { mode: 'remote'; url: string };
  /** Extra OpenAI-compatible endpoints the detector probes. */
  detectUrls: string[];
}

const DEFAULTS: AppSettings = { gateway: { mode: 'embedded', port: null }, detectUrls: [] };

export class SettingsFile {
  private readonly file: string;
  private value: AppSettings;
  /** Where an unreadable settings file was moved, if one was. */
  setAside: string | null = null;

  constructor(dataDir: string) {
    this.file = join(dataDir, 'settings.json');
    const text = readFileIfExists(this.file);
    let parsed: Partial<AppSettings> = {};
    try {
      parsed = text ? (JSON.parse(text) as Partial<AppSettings>) : {};
    } catch {
      // Unreadable: keep the user's file aside (never overwrite it) and start from defaults.
      this.setAside = `${this.file}.invalid-${Date.now()}`;
      renameSync(this.file, this.setAside);
    }
    this.value = { ...DEFAULTS, ...parsed };
  }

  get(): AppSettings {
    return this.value;
  }

  update(changes: Partial<AppSettings>): AppSettings {
    this.value = { ...this.value, ...changes };
    writeFileAtomic(this.file, `${JSON.stringify(this.value, null, 2)}\n`);
    return this.value;
  }
}

import { renameSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { isTokiosError } from '../../shared/errors.js';
import { readFileIfExists, writeFileAtomic } from '../storage/atomic-file.js';
import { parseJsonFile } from '../storage/json-file.js';

/** The app's non-secret settings, in `<dataDir>/settings.json`. */

const Port = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65_535));

const Settings = v.object({
  /** The gateway the app uses: the embedded one (on a remembered port) or a hosted one. */
  gateway: v.optional(
    v.variant('mode', [
      v.object({ mode: v.literal('embedded'), port: v.nullable(Port) }),
      v.object({ mode: v.literal('remote'), url: v.string() }),
    ]),
    () => ({ mode: 'embedded' as const, port: null }),
  ),
  /** Extra OpenAI-compatible endpoints the detector probes. */
  detectUrls: v.optional(v.array(v.string()), () => []),
  /**
   * Origins browser apps may call the embedded gateway from (`*` for any), like
   * `tokios gateway --cors-origin`; empty keeps CORS off. Checked when the gateway opens.
   */
  corsOrigins: v.optional(v.array(v.string()), () => []),
});

export type AppSettings = v.InferOutput<typeof Settings>;

export class SettingsFile {
  private readonly file: string;
  private value: AppSettings;
  /** Where an unreadable settings file was moved, and why, if one was. */
  setAside: { path: string; reason: string } | null = null;

  constructor(dataDir: string) {
    this.file = join(dataDir, 'settings.json');
    const text = readFileIfExists(this.file);
    try {
      this.value = parseJsonFile(this.file, text ?? '{}', Settings, 'defaults are used');
    } catch (error) {
      if (!isTokiosError(error)) throw error;
      // Unreadable: keep the user's file aside (never overwrite it) and start from defaults.
      this.setAside = { path: `${this.file}.invalid-${Date.now()}`, reason: error.message };
      renameSync(this.file, this.setAside.path);
      this.value = v.parse(Settings, {});
    }
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

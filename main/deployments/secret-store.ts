import { join } from 'node:path';
import * as v from 'valibot';
import { TokiosError } from '../../shared/errors.js';
import { ensurePrivateDir, readFileIfExists, writeFileAtomic } from '../storage/atomic-file.js';
import { parseJsonFile } from '../storage/json-file.js';

/**
 * Where tunnel tokens and the app's API key live at rest. One interface, two backends:
 * Electron's safeStorage (OS keychain / DPAPI / libsecret) inside the app, an owner-only
 * file in headless mode. Nothing else in the app writes a secret to disk.
 */
export interface SecretStore {
  readonly kind: 'safe-storage' | 'file';
  /** Set when the storage is weaker than the user would expect (Linux without a keyring). */
  readonly warning: string | null;
  get(key: string): string | null;
  set(key: string, value: string): void;
  delete(key: string): void;
}

/** The part of Electron's `safeStorage` the encrypted store uses. */
export interface StringCipher {
  isEncryptionAvailable(): boolean;
  encryptString(plain: string): Buffer;
  decryptString(encrypted: Buffer): string;
  /** Linux only: 'basic_text' means no keyring, so encryption uses a fixed key. */
  getSelectedStorageBackend?(): string;
}

interface Codec {
  encode(plain: string): string;
  decode(stored: string): string;
}

const PLAIN: Codec = { encode: (s) => s, decode: (s) => s };

class JsonSecretStore implements SecretStore {
  private values: Record<string, string>;

  constructor(
    readonly kind: 'safe-storage' | 'file',
    readonly warning: string | null,
    private readonly file: string,
    private readonly codec: Codec,
  ) {
    const text = readFileIfExists(file);
    this.values = text ? parseJsonFile(file, text, v.record(v.string(), v.string()), 'the saved tokens cannot be read (the file was left as it is)') : {};
  }

  get(key: string): string | null {
    const stored = this.values[key];
    return stored === undefined ? null : this.codec.decode(stored);
  }

  set(key: string, value: string): void {
    this.values = { ...this.values, [key]: this.codec.encode(value) };
    this.save();
  }

  delete(key: string): void {
    if (!(key in this.values)) return;
    const { [key]: _removed, ...rest } = this.values;
    this.values = rest;
    this.save();
  }

  private save(): void {
    writeFileAtomic(this.file, `${JSON.stringify(this.values, null, 2)}\n`);
  }
}

/** Headless mode: an owner-only (0600) file in a 0700 folder. */
export function createFileSecretStore(dataDir: string): SecretStore {
  ensurePrivateDir(dataDir);
  return new JsonSecretStore('file', null, join(dataDir, 'secrets.json'), PLAIN);
}

/** Inside Electron: values encrypted with safeStorage before they touch the disk. */
export function createEncryptedSecretStore(dataDir: string, cipher: StringCipher): SecretStore {
  ensurePrivateDir(dataDir);
  if (!cipher.isEncryptionAvailable()) {
    throw new TokiosError('INTERNAL', 'OS-level encryption is not available (safeStorage); cannot store tunnel tokens safely');
  }
  const backend = cipher.getSelectedStorageBackend?.();
  const warning =
    backend === 'basic_text'
      ? 'No system keyring was found (gnome-keyring or KWallet), so tunnel tokens are encrypted with a fixed key: anyone who can read your files can recover them.'
      : null;
  return new JsonSecretStore('safe-storage', warning, join(dataDir, 'secrets.enc.json'), {
    encode: (plain) => cipher.encryptString(plain).toString('base64'),
    decode: (stored) => cipher.decryptString(Buffer.from(stored, 'base64')),
  });
}

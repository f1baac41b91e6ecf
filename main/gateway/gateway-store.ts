import { EventEmitter } from 'node:events';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { TokiosError } from '../../shared/errors.js';
import { deploymentNameProblem } from '../../shared/names.js';
import * as v from 'valibot';
import { ensurePrivateDir, readFileIfExists, writeFileAtomic } from '../storage/atomic-file.js';
import { withFileLock } from '../storage/file-lock.js';
import { parseJsonFile, versionSchema } from '../storage/json-file.js';
import { hashSecret, mintSecret, newId } from './secrets.js';

/**
 * The gateway's state in `--data DIR/gateway.json`: API keys and tunnel tokens (as
 * SHA-256 digests only) and deployment bindings. Every change re-reads the file under a
 * lock, so `tokios key create` and a running gateway can share DIR; the gateway notices
 * such outside changes on its next lookup miss.
 */

const SecretRecord = v.object({ id: v.string(), hash: v.string(), created: v.string(), label: v.optional(v.string()) });
const DeploymentRecord = v.object({ name: v.string(), tokenId: v.string(), created: v.string(), updated: v.string() });

/** An API key or tunnel token, as its SHA-256 digest. */
export type SecretRecord = v.InferOutput<typeof SecretRecord>;
export type DeploymentRecord = v.InferOutput<typeof DeploymentRecord>;
type StoreFile = { version: 1; apiKeys: SecretRecord[]; tunnelTokens: SecretRecord[]; deployments: DeploymentRecord[] };

export interface RegisterResult {
  deployment: DeploymentRecord;
  /** Token id the name was bound to before, when this registration moved it. */
  previousTokenId: string | null;
  /** Name this token was bound to before, when this registration renamed it. */
  renamedFrom: string | null;
  created: boolean;
}

const EMPTY: StoreFile = { version: 1, apiKeys: [], tunnelTokens: [], deployments: [] };

export type GatewayStoreEvents = {
  /** It picked up a change another process made to the file. */
  reloaded: [];
  /** The file changed but cannot be read; the last good contents stay in use. */
  'error-reading': [error: Error];
};

export class GatewayStore extends EventEmitter<GatewayStoreEvents> {
  readonly file: string;
  private data: StoreFile = EMPTY;
  private keysByHash = new Map<string, SecretRecord>();
  private readonly recentKeys = new Map<string, SecretRecord>();
  private tokensByHash = new Map<string, SecretRecord>();
  private fileStamp = '';
  private lastRefresh = 0;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(readonly dir: string) {
    super();
    this.file = join(dir, 'gateway.json');
    ensurePrivateDir(dir);
    this.load();
  }

  get deployments(): readonly DeploymentRecord[] {
    return this.data.deployments;
  }

  deploymentByName(name: string): DeploymentRecord | undefined {
    return this.data.deployments.find((d) => d.name === name);
  }

  deploymentByToken(tokenId: string): DeploymentRecord | undefined {
    return this.data.deployments.find((d) => d.tokenId === tokenId);
  }

  /** The key's record, or null. A miss re-reads the file if someone else changed it. */
  verifyApiKey(key: string): SecretRecord | null {
    // Clients send the same few keys thousands of times a second: remember the recent hits
    // (cleared whenever the store is re-read, so a key removed from the file stops working).
    const known = this.recentKeys.get(key);
    if (known) return known;
    const hash = hashSecret(key);
    const record = this.keysByHash.get(hash) ?? (this.refreshIfChanged() ? (this.keysByHash.get(hash) ?? null) : null);
    if (record) {
      if (this.recentKeys.size >= 64) this.recentKeys.clear();
      this.recentKeys.set(key, record);
    }
    return record;
  }

  verifyTunnelToken(token: string): SecretRecord | null {
    const hash = hashSecret(token);
    return this.tokensByHash.get(hash) ?? (this.refreshIfChanged() ? (this.tokensByHash.get(hash) ?? null) : null);
  }

  /** Mints an API key; the plain key is returned once and never stored. */
  async createApiKey(label?: string): Promise<{ id: string; key: string }> {
    const { id, secret } = await this.mint('api-key', label);
    return { id, key: secret };
  }

  /** Removes an API key; clients presenting it get 401 from now on. */
  async revokeApiKey(id: string): Promise<boolean> {
    return this.mutate((data) => {
      const before = data.apiKeys.length;
      data.apiKeys = data.apiKeys.filter((k) => k.id !== id);
      return data.apiKeys.length !== before;
    });
  }

  async createTunnelToken(label?: string): Promise<{ id: string; token: string }> {
    const { id, secret } = await this.mint('tunnel-token', label);
    return { id, token: secret };
  }

  private async mint(kind: 'api-key' | 'tunnel-token', label?: string): Promise<{ id: string; secret: string }> {
    const secret = mintSecret(kind);
    const record: SecretRecord = { id: newId(kind === 'api-key' ? 'key' : 'tok'), hash: hashSecret(secret), created: new Date().toISOString(), ...(label ? { label } : {}) };
    await this.mutate((data) => {
      (kind === 'api-key' ? data.apiKeys : data.tunnelTokens).push(record);
    });
    return { id: record.id, secret };
  }

  /**
   * Binds `name` to the token `tokenId`. A name bound to another token moves (the swap);
   * a token bound to another name is renamed (a token serves one name at a time).
   */
  async register(name: string, tokenId: string): Promise<RegisterResult> {
    const problem = deploymentNameProblem(name);
    if (problem) throw new TokiosError('NAME_INVALID', `deployment name ${problem}`);
    return this.mutate((data) => {
      if (!data.tunnelTokens.some((t) => t.id === tokenId)) throw new TokiosError('TOKEN_INVALID', 'tunnel token is not known to this gateway');
      const now = new Date().toISOString();
      let renamedFrom: string | null = null;
      const other = data.deployments.find((d) => d.tokenId === tokenId && d.name !== name);
      if (other) {
        renamedFrom = other.name;
        data.deployments = data.deployments.filter((d) => d !== other);
      }
      const existing = data.deployments.find((d) => d.name === name);
      if (existing) {
        const previousTokenId = existing.tokenId === tokenId ? null : existing.tokenId;
        existing.tokenId = tokenId;
        existing.updated = now;
        return { deployment: { ...existing }, previousTokenId, renamedFrom, created: false };
      }
      const record: DeploymentRecord = { name, tokenId, created: now, updated: now };
      data.deployments.push(record);
      return { deployment: { ...record }, previousTokenId: null, renamedFrom, created: true };
    });
  }

  async unregister(name: string): Promise<DeploymentRecord | null> {
    return this.mutate((data) => {
      const existing = data.deployments.find((d) => d.name === name);
      if (!existing) return null;
      data.deployments = data.deployments.filter((d) => d !== existing);
      return existing;
    });
  }

  /** Re-reads the file when another process changed it; true if it did. Rate-limited. */
  refreshIfChanged(): boolean {
    const now = Date.now();
    if (now - this.lastRefresh < 50) return false;
    this.lastRefresh = now;
    const stamp = this.stamp();
    if (stamp === this.fileStamp) return false;
    try {
      this.load();
    } catch (error) {
      // Keep serving with the last good contents; say why once per change of the file.
      this.fileStamp = stamp;
      this.emit('error-reading', error instanceof Error ? error : new Error(String(error)));
      return false;
    }
    this.emit('reloaded');
    return true;
  }

  private stamp(): string {
    try {
      const st = statSync(this.file);
      return `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      return 'missing';
    }
  }

  private load(): void {
    const stamp = this.stamp();
    const text = readFileIfExists(this.file);
    this.data = text === null ? structuredClone(EMPTY) : parseStore(text, this.file);
    this.fileStamp = stamp;
    this.index();
  }

  private index(): void {
    this.recentKeys.clear();
    this.keysByHash = new Map(this.data.apiKeys.map((k) => [k.hash, k]));
    this.tokensByHash = new Map(this.data.tunnelTokens.map((t) => [t.hash, t]));
  }

  /** Read-modify-write under the file lock, serialized within this process too. */
  private mutate<T>(change: (data: StoreFile) => T): Promise<T> {
    const run = async (): Promise<T> =>
      withFileLock(this.file, () => {
        this.load();
        const data = structuredClone(this.data);
        const result = change(data);
        writeFileAtomic(this.file, `${JSON.stringify(data, null, 2)}\n`);
        this.data = data;
        this.fileStamp = this.stamp();
        this.index();
        return result;
      });
    const next = this.chain.then(run, run);
    this.chain = next.catch(() => undefined);
    return next;
  }
}

function parseStore(text: string, file: string): StoreFile {
  const schema = v.object({ version: versionSchema(1, file), apiKeys: v.array(SecretRecord), tunnelTokens: v.array(SecretRecord), deployments: v.array(DeploymentRecord) });
  return parseJsonFile(file, text, schema, 'restore it from a backup or move it away to start empty (it was left untouched)');
}

import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import * as v from 'valibot';
import { TokiosError } from '../../shared/errors.js';
import { ensurePrivateDir, readFileIfExists, writeFileAtomic } from '../storage/atomic-file.js';
import { parseJsonFile, versionSchema } from '../storage/json-file.js';
import type { SecretStore } from './secret-store.js';

/**
 * The app's deployments. Settings live in `<dataDir>/deployments.json`; each tunnel token
 * goes through the SecretStore. Deployments mirrored from the config folder are held in
 * memory only: their file is the source of truth, and the app never writes to it.
 */

/** A deployment as `deployments.json` keeps it. */
const PersistedDeployment = v.object({
  id: v.string(),
  name: v.string(),
  upstream: v.string(),
  model: v.nullable(v.string()),
  enabled: v.boolean(),
  /** The gateway that minted this deployment's token for the app (null: the user pasted it). */
  mintedFor: v.optional(v.nullable(v.string())),
  created: v.string(),
  updated: v.string(),
});

const FILE_VERSION = 1;

export interface DeploymentRecord extends v.InferOutput<typeof PersistedDeployment> {
  source: 'app' | 'folder';
  file: string | null;
}

export type DeploymentFields = Pick<DeploymentRecord, 'name' | 'upstream' | 'model' | 'enabled'> & { mintedFor?: string | null };

const secretKey = (id: string): string => `deployment:${id}`;

export class DeploymentStore {
  private readonly file: string;
  private records: DeploymentRecord[] = [];
  /** Folder deployments' tokens, read from their files. */
  private readonly folderTokens = new Map<string, string>();

  constructor(dataDir: string, private readonly secrets: SecretStore) {
    ensurePrivateDir(dataDir);
    this.file = join(dataDir, 'deployments.json');
    const text = readFileIfExists(this.file);
    if (text) {
      const schema = v.object({ version: versionSchema(FILE_VERSION, this.file), deployments: v.array(PersistedDeployment) });
      const saved = parseJsonFile(this.file, text, schema, 'fix or move it away (it was left as it is)');
      this.records = saved.deployments.map((d) => ({ ...d, source: 'app', file: null }));
    }
  }

  list(): DeploymentRecord[] {
    return [...this.records];
  }

  get(id: string): DeploymentRecord {
    const record = this.records.find((d) => d.id === id);
    if (!record) throw new TokiosError('NOT_FOUND', `no deployment with id ${id}`);
    return record;
  }

  find(id: string): DeploymentRecord | undefined {
    return this.records.find((d) => d.id === id);
  }

  byName(name: string): DeploymentRecord | undefined {
    return this.records.find((d) => d.name === name);
  }

  byFile(file: string): DeploymentRecord | undefined {
    return this.records.find((d) => d.file === file);
  }

  token(id: string): string | null {
    const record = this.get(id);
    return record.source === 'folder' ? (this.folderTokens.get(id) ?? null) : this.secrets.get(secretKey(id));
  }

  create(fields: DeploymentFields, token: string, source: 'app' | 'folder' = 'app', file: string | null = null): DeploymentRecord {
    const now = new Date().toISOString();
    const record: DeploymentRecord = { id: randomUUID(), ...fields, source, file, created: now, updated: now };
    this.storeToken(record, token);
    this.records = [...this.records, record];
    this.save();
    return record;
  }

  update(id: string, changes: Partial<DeploymentFields>, token?: string): DeploymentRecord {
    const current = this.get(id);
    const next: DeploymentRecord = { ...current, ...changes, updated: new Date().toISOString() };
    if (token !== undefined) this.storeToken(next, token);
    this.records = this.records.map((d) => (d.id === id ? next : d));
    this.save();
    return next;
  }

  remove(id: string): void {
    const record = this.find(id);
    if (!record) return;
    this.records = this.records.filter((d) => d.id !== id);
    if (record.source === 'app') this.secrets.delete(secretKey(id));
    this.folderTokens.delete(id);
    this.save();
  }

  private storeToken(record: DeploymentRecord, token: string): void {
    if (record.source === 'folder') this.folderTokens.set(record.id, token);
    else this.secrets.set(secretKey(record.id), token);
  }

  private save(): void {
    const persisted = this.records.filter((d) => d.source === 'app').map(({ source: _s, file: _f, ...rest }) => rest);
    writeFileAtomic(this.file, `${JSON.stringify({ version: FILE_VERSION, deployments: persisted }, null, 2)}\n`);
  }
}

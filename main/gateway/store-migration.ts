import { existsSync } from 'node:fs';
import * as v from 'valibot';
import { KEY_SCOPES } from '../../shared/hosted-api.js';
import { writeFileAtomic } from '../storage/atomic-file.js';
import { parseJsonFile, versionSchema } from '../storage/json-file.js';
import { IMPLICIT_ACCOUNT_ID, type AccountRecord, type CredentialRecord, type DeploymentRecord } from './gateway-store.js';

/**
 * `gateway.json` by version. Version 1 (before accounts) had API keys that could do
 * everything, tunnel tokens, and deployments; version 2 puts each under an account and
 * adds scopes, limits, expiry, revocation and dashboard sessions. A version-1 file loads
 * as version 2 in memory — its keys keep the power they had (scope `admin`), everything
 * lands in the implicit account — and the original is copied aside before the first write.
 */

export const STORE_VERSION = 2;

type Stored<T> = Omit<T, 'kind'>;

/** The file's shape: records grouped by kind (the kind is the array they sit in). */
export interface StoreFile {
  version: 2;
  accounts: AccountRecord[];
  apiKeys: Array<Stored<CredentialRecord>>;
  tunnelTokens: Array<Stored<CredentialRecord>>;
  sessions: Array<Stored<CredentialRecord>>;
  deployments: DeploymentRecord[];
}

export interface ParsedStore {
  data: StoreFile;
  /** The version the file was written in, when it was older than this one. */
  migratedFrom: number | null;
}

export function emptyStore(now = new Date().toISOString()): StoreFile {
  return { version: 2, accounts: [implicitAccount(now)], apiKeys: [], tunnelTokens: [], sessions: [], deployments: [] };
}

export function implicitAccount(created: string): AccountRecord {
  return { id: IMPLICIT_ACCOUNT_ID, email: null, passwordHash: null, created };
}

const WHAT_TO_DO = 'restore it from a backup or move it away to start empty (it was left untouched)';

const Secret = v.object({ id: v.string(), hash: v.string(), created: v.string(), label: v.optional(v.string()) });
const Limits = v.object({ rpm: v.optional(v.number()), tpm: v.optional(v.number()), parallel: v.optional(v.number()) });
const Credential = v.object({
  ...Secret.entries,
  accountId: v.string(),
  scope: v.optional(v.picklist(KEY_SCOPES)),
  models: v.optional(v.array(v.string())),
  limits: v.optional(Limits),
  device: v.optional(v.boolean()),
  expires: v.optional(v.string()),
  revoked: v.optional(v.string()),
  lastUsed: v.optional(v.string()),
});
const Account = v.object({ id: v.string(), email: v.nullable(v.string()), passwordHash: v.nullable(v.string()), created: v.string() });
const Deployment = v.object({ accountId: v.string(), name: v.string(), tokenId: v.string(), pool: v.optional(v.array(v.string())), created: v.string(), updated: v.string() });
const V1Deployment = v.object({ name: v.string(), tokenId: v.string(), created: v.string(), updated: v.string() });

/** Parses any version this code knows; never changes the file. */
export function parseStoreFile(text: string, file: string): ParsedStore {
  const declared = parseJsonFile(file, text, v.object({ version: v.number('must be a number') }), WHAT_TO_DO).version;
  if (declared === 1) {
    const v1 = parseJsonFile(file, text, v.object({ version: versionSchema(1, file), apiKeys: v.array(Secret), tunnelTokens: v.array(Secret), deployments: v.array(V1Deployment) }), WHAT_TO_DO);
    return { data: fromV1(v1), migratedFrom: 1 };
  }
  const schema = v.strictObject({
    version: versionSchema(STORE_VERSION, file),
    accounts: v.array(Account),
    apiKeys: v.array(Credential),
    tunnelTokens: v.array(Credential),
    sessions: v.array(Credential),
    deployments: v.array(Deployment),
  });
  const data: StoreFile = parseJsonFile(file, text, schema, WHAT_TO_DO);
  if (!data.accounts.some((a) => a.id === IMPLICIT_ACCOUNT_ID)) data.accounts.unshift(implicitAccount(new Date().toISOString()));
  return { data, migratedFrom: null };
}

/**
 * Copies the file as it was before the first write in the new format: `gateway.json.v1.bak`
 * (or `…v1.bak.2`, … when one exists), so nothing the user saved is lost.
 */
export function backupBeforeMigration(file: string, originalText: string, fromVersion: number): string {
  let backup = `${file}.v${fromVersion}.bak`;
  for (let i = 2; existsSync(backup); i++) backup = `${file}.v${fromVersion}.bak.${i}`;
  writeFileAtomic(backup, originalText);
  return backup;
}

type V1File = { apiKeys: Array<v.InferOutput<typeof Secret>>; tunnelTokens: Array<v.InferOutput<typeof Secret>>; deployments: Array<v.InferOutput<typeof V1Deployment>> };

function fromV1(v1: V1File): StoreFile {
  const oldest = [...v1.apiKeys, ...v1.tunnelTokens].map((r) => r.created).sort()[0] ?? new Date().toISOString();
  const secret = (r: v.InferOutput<typeof Secret>): Stored<CredentialRecord> => ({ id: r.id, accountId: IMPLICIT_ACCOUNT_ID, hash: r.hash, created: r.created, ...(r.label ? { label: r.label } : {}) });
  return {
    version: 2,
    accounts: [implicitAccount(oldest)],
    apiKeys: v1.apiKeys.map((k) => ({ ...secret(k), scope: 'admin' })),
    tunnelTokens: v1.tunnelTokens.map(secret),
    sessions: [],
    deployments: v1.deployments.map((d) => ({ accountId: IMPLICIT_ACCOUNT_ID, name: d.name, tokenId: d.tokenId, created: d.created, updated: d.updated })),
  };
}

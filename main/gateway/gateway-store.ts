import type { KeyLimits, KeyScope } from '../../shared/hosted-api.js';
import type { Invalidation } from './invalidation-bus.js';

/**
 * What a gateway keeps that must last: accounts, credentials (as SHA-256 digests, or scrypt
 * for passwords), deployment bindings and usage rollups. One interface, so the embedded
 * file store (`file-store.ts`, the default) and a database store can be swapped and held
 * to one conformance suite (`gateway-store.conformance.ts`).
 *
 * Every call that changes something is atomic against other callers, in this process and
 * in others sharing the store. Reads of credentials are the hot path: implementations keep
 * them in memory, and the gateway caches verified secrets in front (credential-verifier.ts).
 */

/** The account every record belongs to when nobody created accounts (single-user mode). */
export const IMPLICIT_ACCOUNT_ID = 'default';

export interface AccountRecord {
  id: string;
  /** Sign-in name for the dashboard; null for the implicit account until someone claims it. */
  email: string | null;
  /** `scrypt$…` (passwords.ts); null: no dashboard sign-in. */
  passwordHash: string | null;
  created: string;
}

export type CredentialKind = 'api-key' | 'tunnel-token' | 'session';

export interface CredentialRecord {
  id: string;
  kind: CredentialKind;
  accountId: string;
  /** SHA-256 of the secret (256 random bits, so no stretching is needed). */
  hash: string;
  created: string;
  label?: string;
  /** API keys. Keys from before accounts existed could do everything: they migrate as admin. */
  scope?: KeyScope;
  /** API keys: deployments it may call; absent means all of its account's. */
  models?: string[];
  limits?: KeyLimits;
  /** An API key handed to the desktop app by the device grant. */
  device?: boolean;
  expires?: string;
  revoked?: string;
  lastUsed?: string;
}

export interface DeploymentRecord {
  accountId: string;
  name: string;
  /** The token the name was registered (or last swapped) to. */
  tokenId: string;
  /** More tokens serving the same name (`tokios register --pool`): a pool of connectors. */
  pool?: string[];
  created: string;
  updated: string;
}

/** Every token whose connectors serve the deployment. */
export function deploymentTokens(record: Pick<DeploymentRecord, 'tokenId' | 'pool'>): string[] {
  return record.pool?.length ? [record.tokenId, ...record.pool] : [record.tokenId];
}

export interface RegisterResult {
  deployment: DeploymentRecord;
  /** Token id the name was bound to before, when this registration moved it. */
  previousTokenId: string | null;
  /** Name this token was bound to before, when this registration renamed it. */
  renamedFrom: string | null;
  created: boolean;
  /** The token joined the name's pool (its other tokens keep serving). */
  pooled: boolean;
}

export interface RegisterOptions {
  /** May change who serves a name bound to other tokens (the swap, or joining its pool): admin only. */
  allowMove: boolean;
  /** Join the name's pool instead of replacing its tokens. */
  pool?: boolean;
}

/** One account × key × deployment × minute of traffic. */
export interface UsageRow {
  /** Bucket start, epoch ms (a minute; an hour once old rows are compacted). */
  minute: number;
  accountId: string;
  keyId: string;
  /** The deployment the request asked for ('' when it named none). */
  deployment: string;
  requests: number;
  rateLimited: number;
  clientErrors: number;
  serverErrors: number;
  inputTokens: number;
  outputTokens: number;
  ttftMsSum: number;
  ttftCount: number;
  durationMsSum: number;
}

export interface GatewayStore {
  /** Where the data lives, for messages (a file path, a database URL without password). */
  readonly location: string;

  accounts(): Promise<AccountRecord[]>;
  /** By id, or by email (case-insensitive). */
  findAccount(ref: string): Promise<AccountRecord | null>;
  /** Fails with CONFLICT when the email is taken. */
  createAccount(input: { email: string; passwordHash: string | null }): Promise<AccountRecord>;
  /** Gives an account (the implicit one, typically) a dashboard sign-in. */
  setAccountLogin(accountId: string, input: { email: string; passwordHash: string | null }): Promise<AccountRecord>;

  addCredential(record: CredentialRecord): Promise<void>;
  /** The credential with this digest, revoked and expired ones included (the caller decides). */
  credentialByHash(hash: string): Promise<CredentialRecord | null>;
  credentials(accountId: string, kind: CredentialKind): Promise<CredentialRecord[]>;
  /** Marks it revoked (idempotent); null when the account has no such credential. */
  revokeCredential(accountId: string, id: string, when: string): Promise<CredentialRecord | null>;
  /** Records `lastUsed` for many credentials in one write. */
  touchCredentials(lastUsed: ReadonlyMap<string, string>): Promise<void>;

  /** Every account's deployments, or one account's. */
  deployments(accountId?: string): Promise<DeploymentRecord[]>;
  /**
   * Binds `name` (in `accountId`) to `tokenId`. A name bound to other tokens moves (the
   * swap: they are replaced) or, with `pool`, gains this token beside them — either only
   * with `allowMove` (admin), else FORBIDDEN; a token bound to another name leaves it (a
   * token serves one name at a time). The token must be the account's and live.
   */
  register(accountId: string, name: string, tokenId: string, options: RegisterOptions): Promise<RegisterResult>;
  unregister(accountId: string, name: string): Promise<DeploymentRecord | null>;

  /**
   * Adds counted traffic (merged with rows already kept for the same bucket). A store that can
   * remembers `batchId`, so a batch retried after its answer was lost is not counted twice.
   */
  appendUsage(rows: readonly UsageRow[], batchId?: string): Promise<void>;
  /** Rows of `accountId` with `from <= minute < to`. */
  usage(accountId: string, from: number, to: number): Promise<UsageRow[]>;

  /**
   * Tells `listener` of changes made by any process sharing the store (the CLI, other
   * gateways), so caches drop and bindings reload. Returns the way to stop.
   */
  watchChanges(listener: (change: Invalidation) => void): () => void;

  close(): Promise<void>;
}

/** A credential is usable when it is neither revoked nor past its expiry. */
export function credentialProblem(record: CredentialRecord, now: number): 'revoked' | 'expired' | null {
  if (record.revoked) return 'revoked';
  if (record.expires && Date.parse(record.expires) <= now) return 'expired';
  return null;
}

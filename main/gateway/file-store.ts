import { statSync } from 'node:fs';
import { join } from 'node:path';
import { TokiosError } from '../../shared/errors.js';
import { deploymentNameProblem } from '../../shared/names.js';
import { ensurePrivateDir, readFileIfExists, writeFileAtomic } from '../storage/atomic-file.js';
import { withFileLock } from '../storage/file-lock.js';
import {
  credentialProblem,
  type AccountRecord,
  type CredentialKind,
  type CredentialRecord,
  type DeploymentRecord,
  type GatewayStore,
  type RegisterOptions,
  type RegisterResult,
  type UsageRow,
} from './gateway-store.js';
import type { Invalidation } from './invalidation-bus.js';
import { applyRegistration } from './registration-rules.js';
import { newId } from './secrets.js';
import { backupBeforeMigration, emptyStore, parseStoreFile, type StoreFile } from './store-migration.js';
import { UsageFile } from './usage-file.js';

/**
 * The embedded store: `--data DIR/gateway.json` (mode 0600, atomic writes, a lock file
 * between processes) plus `DIR/usage.jsonl`. Every change re-reads the file under the lock,
 * so `tokios key create` and running gateways can share DIR. A gateway also watches the
 * file (`watchForeignChanges`), so a revocation made by another process is in force here
 * within a fraction of a second.
 */

/** What changed in the file since this process last read it. */
export interface ForeignChange {
  /** Credentials that were live and are now revoked (or gone). */
  revoked: Array<{ id: string; kind: CredentialKind; accountId: string }>;
  deploymentsChanged: boolean;
}

const ARRAY_OF: Record<CredentialKind, 'apiKeys' | 'tunnelTokens' | 'sessions'> = { 'api-key': 'apiKeys', 'tunnel-token': 'tunnelTokens', session: 'sessions' };
const KINDS: CredentialKind[] = ['api-key', 'tunnel-token', 'session'];

export class FileGatewayStore implements GatewayStore {
  readonly file: string;
  readonly location: string;
  private readonly usageFile: UsageFile;
  private data: StoreFile = emptyStore();
  private byHash = new Map<string, CredentialRecord>();
  private fileStamp = '';
  private lastRefresh = 0;
  private chain: Promise<unknown> = Promise.resolve();
  /** Set while the file on disk is still in an older format (and its text, for the backup). */
  private migration: { from: number; text: string } | null = null;
  private watchers = new Set<(change: ForeignChange) => void>();
  private watchTimer: NodeJS.Timeout | null = null;
  /** Called when the file could not be re-read or was migrated; the gateway logs it. */
  onNotice: (message: string) => void = () => undefined;

  constructor(readonly dir: string) {
    this.file = join(dir, 'gateway.json');
    this.location = this.file;
    ensurePrivateDir(dir);
    this.usageFile = new UsageFile(join(dir, 'usage.jsonl'));
    this.load();
  }

  // ---- accounts -------------------------------------------------------------------------

  async accounts(): Promise<AccountRecord[]> {
    return this.data.accounts.map((a) => ({ ...a }));
  }

  async findAccount(ref: string): Promise<AccountRecord | null> {
    const found = this.accountSync(ref) ?? (this.refreshIfChanged() ? this.accountSync(ref) : null);
    return found ? { ...found } : null;
  }

  async createAccount(input: { email: string; passwordHash: string | null }): Promise<AccountRecord> {
    return this.mutate((data) => {
      if (data.accounts.some((a) => sameEmail(a.email, input.email))) throw new TokiosError('CONFLICT', `an account with the email ${input.email} exists already`);
      const record: AccountRecord = { id: newId('acct'), email: input.email, passwordHash: input.passwordHash, created: new Date().toISOString() };
      data.accounts.push(record);
      return { ...record };
    });
  }

  async setAccountLogin(accountId: string, input: { email: string; passwordHash: string | null }): Promise<AccountRecord> {
    return this.mutate((data) => {
      const account = data.accounts.find((a) => a.id === accountId);
      if (!account) throw new TokiosError('NOT_FOUND', `no account ${accountId}`);
      if (data.accounts.some((a) => a !== account && sameEmail(a.email, input.email))) throw new TokiosError('CONFLICT', `an account with the email ${input.email} exists already`);
      account.email = input.email;
      account.passwordHash = input.passwordHash;
      return { ...account };
    });
  }

  // ---- credentials ----------------------------------------------------------------------

  async addCredential(record: CredentialRecord): Promise<void> {
    await this.mutate((data) => {
      if (!data.accounts.some((a) => a.id === record.accountId)) throw new TokiosError('NOT_FOUND', `no account ${record.accountId}`);
      const { kind, ...stored } = record;
      data[ARRAY_OF[kind]].push(stored);
    });
  }

  async credentialByHash(hash: string): Promise<CredentialRecord | null> {
    return this.credentialByHashSync(hash);
  }

  /** The same, without a promise: the file store has every credential in memory. */
  credentialByHashSync(hash: string): CredentialRecord | null {
    return this.byHash.get(hash) ?? (this.refreshIfChanged() ? (this.byHash.get(hash) ?? null) : null);
  }

  async credentials(accountId: string, kind: CredentialKind): Promise<CredentialRecord[]> {
    return this.data[ARRAY_OF[kind]].filter((c) => c.accountId === accountId).map((c) => ({ ...c, kind }));
  }

  async revokeCredential(accountId: string, id: string, when: string): Promise<CredentialRecord | null> {
    return this.mutate((data) => {
      for (const kind of KINDS) {
        const record = data[ARRAY_OF[kind]].find((c) => c.id === id && c.accountId === accountId);
        if (record) {
          record.revoked ??= when;
          return { ...record, kind };
        }
      }
      return null;
    });
  }

  async touchCredentials(lastUsed: ReadonlyMap<string, string>): Promise<void> {
    if (lastUsed.size === 0) return;
    await this.mutate((data) => {
      for (const kind of KINDS) {
        for (const record of data[ARRAY_OF[kind]]) {
          const when = lastUsed.get(record.id);
          if (when && (!record.lastUsed || record.lastUsed < when)) record.lastUsed = when;
        }
      }
    });
  }

  // ---- deployments ----------------------------------------------------------------------

  async deployments(accountId?: string): Promise<DeploymentRecord[]> {
    return this.deploymentsSync(accountId);
  }

  deploymentsSync(accountId?: string): DeploymentRecord[] {
    return this.data.deployments.filter((d) => accountId === undefined || d.accountId === accountId).map((d) => ({ ...d }));
  }

  async register(accountId: string, name: string, tokenId: string, options: RegisterOptions): Promise<RegisterResult> {
    const problem = deploymentNameProblem(name);
    if (problem) throw new TokiosError('NAME_INVALID', `deployment name ${problem}`);
    return this.mutate((data) => {
      const token = data.tunnelTokens.find((t) => t.id === tokenId && t.accountId === accountId);
      if (!token || credentialProblem({ ...token, kind: 'tunnel-token' }, Date.now())) throw new TokiosError('TOKEN_INVALID', 'tunnel token is not a live token of this account');
      const mine = data.deployments.filter((d) => d.accountId === accountId);
      const { next, result } = applyRegistration(mine, accountId, name, tokenId, options, new Date().toISOString());
      data.deployments = [...data.deployments.filter((d) => d.accountId !== accountId), ...next];
      return result;
    });
  }

  async unregister(accountId: string, name: string): Promise<DeploymentRecord | null> {
    return this.mutate((data) => {
      const existing = data.deployments.find((d) => d.accountId === accountId && d.name === name);
      if (!existing) return null;
      data.deployments = data.deployments.filter((d) => d !== existing);
      return { ...existing };
    });
  }

  // ---- usage ----------------------------------------------------------------------------

  /** One process writes a file's batches: a retry cannot follow a lost answer, so batch ids are not kept. */
  appendUsage(rows: readonly UsageRow[], _batchId?: string): Promise<void> {
    return this.usageFile.append(rows);
  }

  async usage(accountId: string, from: number, to: number): Promise<UsageRow[]> {
    return this.usageFile.read(accountId, from, to);
  }

  /** Merges old usage rows into hourly ones (the gateway calls this now and then). */
  compactUsage(now = Date.now()): Promise<number> {
    return this.usageFile.compact(now);
  }

  // ---- change detection -----------------------------------------------------------------

  /**
   * Polls the file every `intervalMs` and reports what another process changed. Returns
   * the way to stop. Polling a stat is cheaper and more predictable than fs.watch across
   * platforms and network mounts, and bounds how late a revocation can be noticed.
   */
  watchForeignChanges(listener: (change: ForeignChange) => void, intervalMs = 200): () => void {
    this.watchers.add(listener);
    if (!this.watchTimer) {
      this.watchTimer = setInterval(() => this.refreshIfChanged(true), intervalMs);
      this.watchTimer.unref();
    }
    return () => {
      this.watchers.delete(listener);
      if (this.watchers.size === 0 && this.watchTimer) {
        clearInterval(this.watchTimer);
        this.watchTimer = null;
      }
    };
  }

  watchChanges(listener: (change: Invalidation) => void): () => void {
    return this.watchForeignChanges((change) => {
      for (const revoked of change.revoked) listener({ type: 'credential-revoked', ...revoked });
      if (change.deploymentsChanged) listener({ type: 'deployments-changed', accountId: null });
    });
  }

  /** Re-reads the file when another process changed it; true if it did. Rate-limited. */
  refreshIfChanged(force = false): boolean {
    // Misses are rate-limited (a flood of unknown keys costs at most a stat every 50 ms); the
    // watcher's polls are not counted, so they never make a miss wait for the next window.
    if (!force) {
      const now = Date.now();
      if (now - this.lastRefresh < 50) return false;
      this.lastRefresh = now;
    }
    const stamp = this.stamp();
    if (stamp === this.fileStamp) return false;
    const before = this.data;
    try {
      this.load();
    } catch (error) {
      // Keep serving with the last good contents; say why once per change of the file.
      this.fileStamp = stamp;
      this.onNotice(`${this.file} changed but cannot be read; keeping the last good contents: ${(error as Error).message}`);
      return false;
    }
    const change = diff(before, this.data);
    if (change.revoked.length > 0 || change.deploymentsChanged) for (const watcher of this.watchers) watcher(change);
    return true;
  }

  async close(): Promise<void> {
    this.watchers.clear();
    if (this.watchTimer) clearInterval(this.watchTimer);
    this.watchTimer = null;
    await this.chain;
  }

  // ---- internals ------------------------------------------------------------------------

  private accountSync(ref: string): AccountRecord | undefined {
    return this.data.accounts.find((a) => a.id === ref) ?? this.data.accounts.find((a) => sameEmail(a.email, ref));
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
    if (text === null) {
      this.data = emptyStore();
      this.migration = null;
    } else {
      const parsed = parseStoreFile(text, this.file);
      this.data = parsed.data;
      this.migration = parsed.migratedFrom === null ? null : { from: parsed.migratedFrom, text };
    }
    this.fileStamp = stamp;
    this.index();
  }

  private index(): void {
    this.byHash = new Map();
    for (const kind of KINDS) {
      for (const stored of this.data[ARRAY_OF[kind]]) {
        const record: CredentialRecord = { ...stored, kind };
        this.byHash.set(record.hash, record);
      }
    }
  }

  /** Read-modify-write under the file lock, serialized within this process too. */
  private mutate<T>(change: (data: StoreFile) => T): Promise<T> {
    const run = async (): Promise<T> =>
      withFileLock(this.file, () => {
        this.load();
        const data = structuredClone(this.data);
        const result = change(data);
        const now = Date.now();
        // Sessions end; their records need not outlive them.
        data.sessions = data.sessions.filter((s) => !credentialProblem({ ...s, kind: 'session' }, now));
        if (this.migration) {
          const backup = backupBeforeMigration(this.file, this.migration.text, this.migration.from);
          this.onNotice(`${this.file} was in the format of store version ${this.migration.from}; it is now version 2 (accounts). The original is kept as ${backup}.`);
        }
        writeFileAtomic(this.file, `${JSON.stringify(data, null, 2)}\n`);
        this.migration = null;
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

function sameEmail(a: string | null, b: string): boolean {
  return a !== null && a.toLowerCase() === b.toLowerCase();
}

function diff(before: StoreFile, after: StoreFile): ForeignChange {
  const live = new Map<string, CredentialRecord>();
  const now = Date.now();
  for (const kind of KINDS) for (const c of before[ARRAY_OF[kind]]) if (!credentialProblem({ ...c, kind }, now)) live.set(c.id, { ...c, kind });
  const still = new Set<string>();
  for (const kind of KINDS) for (const c of after[ARRAY_OF[kind]]) if (!c.revoked) still.add(c.id);
  const revoked = [...live.values()].filter((c) => !still.has(c.id)).map((c) => ({ id: c.id, kind: c.kind, accountId: c.accountId }));
  return { revoked, deploymentsChanged: JSON.stringify(before.deployments) !== JSON.stringify(after.deployments) };
}

import { createHmac } from 'node:crypto';
import pg from 'pg';
import { TokiosError } from '../../shared/errors.js';
import { deploymentNameProblem } from '../../shared/names.js';
import { redactUrl, type Logger } from '../logging/logger.js';
import {
  credentialProblem,
  IMPLICIT_ACCOUNT_ID,
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
import { migrate } from './postgres-migrations.js';
import { applyRegistration } from './registration-rules.js';
import { newId } from './secrets.js';

/**
 * The store replicas share: PostgreSQL (`tokios gateway --store postgres://…`). The same
 * contract as the file store (gateway-store.conformance.ts runs against both), plus what
 * replicas need:
 *
 * - Changes announce themselves: every change sends a NOTIFY in its own transaction, so a
 *   change is committed and announced together — no replica can miss a revocation because
 *   the one that made it died before telling the others — and the CLI needs nothing but
 *   `--store`. Each gateway LISTENs (`watchChanges`); after the listening connection was
 *   lost it reports one catch-all change, since it may have missed some.
 * - The database may go away. Credentials this process has verified are remembered
 *   (bounded), so known keys and tokens keep working while it is down; anything that would
 *   change data fails with STORE_UNAVAILABLE (503 with a message that says to retry).
 */

const CHANNEL = 'tokios_changes';
/** Credentials remembered for when the database is away (~0.5 KB each). */
const KNOWN_LIMIT = 100_000;

export interface PostgresStoreOptions {
  log?: Logger;
  /** Pool size (default 10). */
  maxConnections?: number;
}

type Row = Record<string, unknown>;

export class PostgresGatewayStore implements GatewayStore {
  readonly location: string;
  private readonly pool: pg.Pool;
  /** Verified credentials by digest, newest last (Map order), with an index by id for revocations. */
  private readonly known = new Map<string, CredentialRecord>();
  private readonly listeners = new Set<(change: Invalidation) => void>();
  private listener: pg.Client | null = null;
  private listenRetry: NodeJS.Timeout | null = null;
  private closed = false;
  private secret: string | null = null;

  private constructor(private readonly url: string, private readonly options: PostgresStoreOptions) {
    this.location = redactUrl(url, 'database');
    this.pool = new pg.Pool({ connectionString: url, max: options.maxConnections ?? 10, connectionTimeoutMillis: 3000, idleTimeoutMillis: 30_000, application_name: 'tokios' });
    // An idle connection the server dropped must not become an unhandled error.
    this.pool.on('error', (error) => options.log?.warn(`database connection lost (${this.location}): ${error.message}`));
  }

  /** Connects and brings the schema up to date (safe with replicas starting at once). */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresGatewayStore> {
    const store = new PostgresGatewayStore(url, options);
    try {
      const applied = await migrate(store.pool, store.location);
      if (applied.length) options.log?.info(`${store.location}: applied schema migration(s) ${applied.join(', ')}`);
    } catch (error) {
      await store.pool.end().catch(() => undefined);
      if (error instanceof TokiosError) throw error;
      throw new TokiosError('STORE_UNAVAILABLE', `cannot open the store at ${store.location}: ${(error as Error).message}; check --store (and that PostgreSQL is running and reachable)`);
    }
    return store;
  }

  // ---- accounts -------------------------------------------------------------------------

  async accounts(): Promise<AccountRecord[]> {
    return (await this.query('SELECT * FROM tokios_accounts ORDER BY (id = $1) DESC, created, id', [IMPLICIT_ACCOUNT_ID])).map(toAccount);
  }

  async findAccount(ref: string): Promise<AccountRecord | null> {
    const rows = await this.query('SELECT * FROM tokios_accounts WHERE id = $1 OR email_key = lower($1) ORDER BY (id = $1) DESC LIMIT 1', [ref]);
    return rows[0] ? toAccount(rows[0]) : null;
  }

  async createAccount(input: { email: string; passwordHash: string | null }): Promise<AccountRecord> {
    const record: AccountRecord = { id: newId('acct'), email: input.email, passwordHash: input.passwordHash, created: new Date().toISOString() };
    try {
      await this.query('INSERT INTO tokios_accounts (id, email, email_key, password_hash, created) VALUES ($1, $2, lower($2), $3, $4)', [record.id, record.email, record.passwordHash, record.created]);
    } catch (error) {
      throw emailTaken(error, input.email);
    }
    return record;
  }

  async setAccountLogin(accountId: string, input: { email: string; passwordHash: string | null }): Promise<AccountRecord> {
    let rows: Row[];
    try {
      rows = await this.query('UPDATE tokios_accounts SET email = $2, email_key = lower($2), password_hash = $3 WHERE id = $1 RETURNING *', [accountId, input.email, input.passwordHash]);
    } catch (error) {
      throw emailTaken(error, input.email);
    }
    if (!rows[0]) throw new TokiosError('NOT_FOUND', `no account ${accountId}`);
    return toAccount(rows[0]);
  }

  // ---- credentials ----------------------------------------------------------------------

  async addCredential(record: CredentialRecord): Promise<void> {
    try {
      await this.query(
        `INSERT INTO tokios_credentials (id, kind, account_id, hash, created, label, scope, models, limits, device, expires, revoked, last_used)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
        [record.id, record.kind, record.accountId, record.hash, record.created, record.label ?? null, record.scope ?? null, json(record.models), json(record.limits), record.device ?? null, record.expires ?? null, record.revoked ?? null, record.lastUsed ?? null],
      );
    } catch (error) {
      if ((error as { code?: string }).code === '23503') throw new TokiosError('NOT_FOUND', `no account ${record.accountId}`);
      throw error;
    }
  }

  async credentialByHash(hash: string): Promise<CredentialRecord | null> {
    let rows: Row[];
    try {
      rows = await this.query('SELECT * FROM tokios_credentials WHERE hash = $1', [hash]);
    } catch (error) {
      // Away: a credential verified before keeps working; an unknown one cannot be checked.
      const known = this.known.get(hash);
      if (known && error instanceof TokiosError && error.code === 'STORE_UNAVAILABLE') return { ...known };
      throw error;
    }
    const record = rows[0] ? toCredential(rows[0]) : null;
    if (record) this.remember(record);
    else this.known.delete(hash);
    return record;
  }

  async credentials(accountId: string, kind: CredentialKind): Promise<CredentialRecord[]> {
    return (await this.query('SELECT * FROM tokios_credentials WHERE account_id = $1 AND kind = $2 ORDER BY created, id', [accountId, kind])).map(toCredential);
  }

  async revokeCredential(accountId: string, id: string, when: string): Promise<CredentialRecord | null> {
    return this.transaction(async (client) => {
      const { rows } = await client.query('UPDATE tokios_credentials SET revoked = COALESCE(revoked, $3) WHERE id = $1 AND account_id = $2 RETURNING *', [id, accountId, when]);
      if (!rows[0]) return null;
      const record = toCredential(rows[0]);
      await notify(client, { type: 'credential-revoked', id: record.id, kind: record.kind, accountId });
      return record;
    });
  }

  async touchCredentials(lastUsed: ReadonlyMap<string, string>): Promise<void> {
    if (lastUsed.size === 0) return;
    await this.query(
      `UPDATE tokios_credentials c SET last_used = v.at FROM unnest($1::text[], $2::text[]) AS v(id, at)
       WHERE c.id = v.id AND (c.last_used IS NULL OR c.last_used < v.at)`,
      [[...lastUsed.keys()], [...lastUsed.values()]],
    );
  }

  // ---- deployments ----------------------------------------------------------------------

  async deployments(accountId?: string): Promise<DeploymentRecord[]> {
    const rows = accountId === undefined
      ? await this.query('SELECT * FROM tokios_deployments ORDER BY account_id, created, name')
      : await this.query('SELECT * FROM tokios_deployments WHERE account_id = $1 ORDER BY created, name', [accountId]);
    return rows.map(toDeployment);
  }

  async register(accountId: string, name: string, tokenId: string, options: RegisterOptions): Promise<RegisterResult> {
    const problem = deploymentNameProblem(name);
    if (problem) throw new TokiosError('NAME_INVALID', `deployment name ${problem}`);
    return this.transaction(async (client) => {
      // One registration per account at a time: the rules read all of its bindings.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`tokios-register:${accountId}`]);
      const token = (await client.query("SELECT * FROM tokios_credentials WHERE id = $1 AND account_id = $2 AND kind = 'tunnel-token'", [tokenId, accountId])).rows[0];
      if (!token || credentialProblem(toCredential(token), Date.now())) throw new TokiosError('TOKEN_INVALID', 'tunnel token is not a live token of this account');
      const current = (await client.query('SELECT * FROM tokios_deployments WHERE account_id = $1', [accountId])).rows.map(toDeployment);
      const { next, result } = applyRegistration(current, accountId, name, tokenId, options, new Date().toISOString());
      const kept = new Set(next.map((d) => d.name));
      const gone = current.filter((d) => !kept.has(d.name)).map((d) => d.name);
      if (gone.length) await client.query('DELETE FROM tokios_deployments WHERE account_id = $1 AND name = ANY($2::text[])', [accountId, gone]);
      for (const d of next) {
        const before = current.find((c) => c.name === d.name);
        if (before && JSON.stringify(before) === JSON.stringify(d)) continue;
        await client.query(
          `INSERT INTO tokios_deployments (account_id, name, token_id, pool, created, updated) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (account_id, name) DO UPDATE SET token_id = excluded.token_id, pool = excluded.pool, updated = excluded.updated`,
          [accountId, d.name, d.tokenId, json(d.pool), d.created, d.updated],
        );
      }
      await notify(client, { type: 'deployments-changed', accountId });
      return result;
    });
  }

  async unregister(accountId: string, name: string): Promise<DeploymentRecord | null> {
    return this.transaction(async (client) => {
      const { rows } = await client.query('DELETE FROM tokios_deployments WHERE account_id = $1 AND name = $2 RETURNING *', [accountId, name]);
      if (!rows[0]) return null;
      await notify(client, { type: 'deployments-changed', accountId });
      return toDeployment(rows[0]);
    });
  }

  // ---- usage ----------------------------------------------------------------------------

  /**
   * Adds counted rows in one statement, merged into rows of the same bucket. With a
   * `batchId`, a batch already written (its answer lost on the way back) is not added twice.
   */
  async appendUsage(rows: readonly UsageRow[], batchId?: string): Promise<void> {
    if (rows.length === 0) return;
    const column = (pick: (r: UsageRow) => unknown): unknown[] => rows.map(pick);
    await this.transaction(async (client) => {
      if (batchId) {
        const fresh = await client.query('INSERT INTO tokios_usage_batches (id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING id', [batchId]);
        if (fresh.rowCount === 0) return;
      }
      await client.query(
        `INSERT INTO tokios_usage AS u (minute, account_id, key_id, deployment, requests, rate_limited, client_errors, server_errors, input_tokens, output_tokens, ttft_ms_sum, ttft_count, duration_ms_sum)
         SELECT * FROM unnest($1::float8[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::float8[], $10::float8[], $11::float8[], $12::float8[], $13::float8[])
         ON CONFLICT (account_id, minute, key_id, deployment) DO UPDATE SET
           requests = u.requests + excluded.requests, rate_limited = u.rate_limited + excluded.rate_limited,
           client_errors = u.client_errors + excluded.client_errors, server_errors = u.server_errors + excluded.server_errors,
           input_tokens = u.input_tokens + excluded.input_tokens, output_tokens = u.output_tokens + excluded.output_tokens,
           ttft_ms_sum = u.ttft_ms_sum + excluded.ttft_ms_sum, ttft_count = u.ttft_count + excluded.ttft_count,
           duration_ms_sum = u.duration_ms_sum + excluded.duration_ms_sum`,
        [
          column((r) => r.minute), column((r) => r.accountId), column((r) => r.keyId), column((r) => r.deployment), column((r) => r.requests), column((r) => r.rateLimited),
          column((r) => r.clientErrors), column((r) => r.serverErrors), column((r) => r.inputTokens), column((r) => r.outputTokens), column((r) => r.ttftMsSum), column((r) => r.ttftCount), column((r) => r.durationMsSum),
        ],
      );
    });
  }

  async usage(accountId: string, from: number, to: number): Promise<UsageRow[]> {
    const rows = await this.query('SELECT * FROM tokios_usage WHERE account_id = $1 AND minute >= $2 AND minute < $3 ORDER BY minute, key_id, deployment', [accountId, from, to]);
    return rows.map((r) => ({
      minute: r.minute as number, accountId: r.account_id as string, keyId: r.key_id as string, deployment: r.deployment as string,
      requests: r.requests as number, rateLimited: r.rate_limited as number, clientErrors: r.client_errors as number, serverErrors: r.server_errors as number,
      inputTokens: r.input_tokens as number, outputTokens: r.output_tokens as number, ttftMsSum: r.ttft_ms_sum as number, ttftCount: r.ttft_count as number, durationMsSum: r.duration_ms_sum as number,
    }));
  }

  // ---- replicas -------------------------------------------------------------------------

  /**
   * What replicas present to one another on the peer link: derived from a random secret the
   * first migration stored, so every replica of this database agrees on it and nobody
   * without database access can compute it.
   */
  async peerCredential(): Promise<string> {
    this.secret ??= (await this.query('SELECT secret FROM tokios_cluster WHERE id = 1'))[0]?.secret as string;
    return createHmac('sha256', this.secret).update('tokios peer link v1').digest('hex');
  }

  watchChanges(listener: (change: Invalidation) => void): () => void {
    this.listeners.add(listener);
    if (!this.listener && !this.listenRetry) void this.listen(false);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    if (this.listenRetry) clearTimeout(this.listenRetry);
    const listener = this.listener;
    this.listener = null;
    await listener?.end().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }

  // ---- internals ------------------------------------------------------------------------

  /** A dedicated connection that LISTENs; on loss it retries every second; each time it is live, it reports one catch-all change. */
  private async listen(missedSome: boolean): Promise<void> {
    this.listenRetry = null;
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 3000, application_name: 'tokios-listen', keepAlive: true });
    const retry = (): void => {
      if (this.listener === client) this.listener = null;
      void client.end().catch(() => undefined);
      if (this.closed || this.listenRetry) return;
      this.listenRetry = setTimeout(() => void this.listen(true), 1000);
      this.listenRetry.unref();
    };
    client.on('error', (error) => {
      this.options.log?.warn(`lost the change feed of ${this.location} (${error.message}); reconnecting`);
      retry();
    });
    client.on('end', retry);
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL || !message.payload) return;
      let change: Invalidation;
      try {
        change = JSON.parse(message.payload) as Invalidation;
      } catch {
        return;
      }
      this.deliver(change);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch {
      retry();
      return;
    }
    if (this.closed) return void client.end().catch(() => undefined);
    this.listener = client;
    // A change committed before LISTEN took effect was announced to nobody here: after an
    // outage, and just as well at the start, between what the watcher read and this moment
    // (a replica starting while another registers). So every time the feed goes live, everything reloads.
    if (missedSome) this.options.log?.info(`change feed of ${this.location} is back; reloading what may have changed meanwhile`);
    this.known.clear();
    this.deliver({ type: 'deployments-changed', accountId: null });
  }

  private deliver(change: Invalidation): void {
    if (change.type === 'credential-revoked') {
      for (const [hash, record] of this.known) if (record.id === change.id) this.known.delete(hash);
    }
    for (const listener of [...this.listeners]) listener(change);
  }

  private remember(record: CredentialRecord): void {
    this.known.delete(record.hash);
    this.known.set(record.hash, record);
    if (this.known.size > KNOWN_LIMIT) this.known.delete(this.known.keys().next().value!);
  }

  private async query(text: string, values: unknown[] = []): Promise<Row[]> {
    try {
      return (await this.pool.query(text, values)).rows as Row[];
    } catch (error) {
      throw this.describe(error);
    }
  }

  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw this.describe(error);
    }
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw this.describe(error);
    } finally {
      client.release();
    }
  }

  /** Errors of a database that cannot be reached become STORE_UNAVAILABLE; others pass as they are. */
  private describe(error: unknown): unknown {
    if (error instanceof TokiosError || !isUnreachable(error)) return error;
    return new TokiosError('STORE_UNAVAILABLE', `The gateway's database (${this.location}) cannot be reached, so nothing can be changed right now; requests with known keys are still served. Retry in a moment. (${(error as Error).message})`);
  }
}

function isUnreachable(error: unknown): boolean {
  const code = String((error as { code?: unknown })?.code ?? '');
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'].includes(code)) return true;
  // SQLSTATE classes 08 (connection exception) and 57P (the server is shutting down or starting).
  if (/^08|^57P/.test(code)) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection is closed/i.test((error as Error)?.message ?? '');
}

function emailTaken(error: unknown, email: string): unknown {
  if ((error as { code?: string }).code === '23505') return new TokiosError('CONFLICT', `an account with the email ${email} exists already`);
  return error;
}

async function notify(client: pg.PoolClient, change: Invalidation): Promise<void> {
  await client.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify(change)]);
}

function json(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}


function toAccount(r: Row): AccountRecord {
  return { id: r.id as string, email: (r.email as string | null) ?? null, passwordHash: (r.password_hash as string | null) ?? null, created: r.created as string };
}

function toCredential(r: Row): CredentialRecord {
  const record: CredentialRecord = { id: r.id as string, kind: r.kind as CredentialKind, accountId: r.account_id as string, hash: r.hash as string, created: r.created as string };
  if (r.label !== null) record.label = r.label as string;
  if (r.scope !== null) record.scope = r.scope as CredentialRecord['scope'] & string;
  if (r.models !== null) record.models = r.models as string[];
  if (r.limits !== null) record.limits = r.limits as CredentialRecord['limits'] & object;
  if (r.device !== null) record.device = r.device as boolean;
  if (r.expires !== null) record.expires = r.expires as string;
  if (r.revoked !== null) record.revoked = r.revoked as string;
  if (r.last_used !== null) record.lastUsed = r.last_used as string;
  return record;
}

function toDeployment(r: Row): DeploymentRecord {
  const record: DeploymentRecord = { accountId: r.account_id as string, name: r.name as string, tokenId: r.token_id as string, created: r.created as string, updated: r.updated as string };
  const pool = r.pool as string[] | null;
  if (pool?.length) record.pool = pool;
  return record;
}

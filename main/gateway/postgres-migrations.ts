import type pg from 'pg';
import { TokiosError } from '../../shared/errors.js';

/**
 * The database store's schema, by version. Each replica runs the migrations it lacks when
 * it starts, holding a session-level advisory lock meanwhile, so replicas starting at once
 * wait for one another and each migration runs exactly once (in its own transaction, with
 * its version recorded in the same one). A database already at a newer version than this
 * code knows is refused, untouched: an older replica must not serve a schema it cannot read.
 */

interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Any constant: the key of the advisory lock every replica takes to migrate. */
const MIGRATION_LOCK = 7_402_911_113;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'accounts, credentials, deployments, usage',
    sql: `
      CREATE TABLE tokios_accounts (
        id text PRIMARY KEY,
        email text,
        email_key text UNIQUE,
        password_hash text,
        created text NOT NULL
      );
      INSERT INTO tokios_accounts (id, email, email_key, password_hash, created)
        VALUES ('default', NULL, NULL, NULL, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));
      CREATE TABLE tokios_credentials (
        id text PRIMARY KEY,
        kind text NOT NULL,
        account_id text NOT NULL REFERENCES tokios_accounts (id),
        hash text NOT NULL UNIQUE,
        created text NOT NULL,
        label text,
        scope text,
        models jsonb,
        limits jsonb,
        device boolean,
        expires text,
        revoked text,
        last_used text
      );
      CREATE INDEX tokios_credentials_account ON tokios_credentials (account_id, kind);
      CREATE TABLE tokios_deployments (
        account_id text NOT NULL REFERENCES tokios_accounts (id),
        name text NOT NULL,
        token_id text NOT NULL,
        pool jsonb,
        created text NOT NULL,
        updated text NOT NULL,
        PRIMARY KEY (account_id, name)
      );
      CREATE TABLE tokios_usage (
        minute double precision NOT NULL,
        account_id text NOT NULL,
        key_id text NOT NULL,
        deployment text NOT NULL,
        requests double precision NOT NULL,
        rate_limited double precision NOT NULL,
        client_errors double precision NOT NULL,
        server_errors double precision NOT NULL,
        input_tokens double precision NOT NULL,
        output_tokens double precision NOT NULL,
        ttft_ms_sum double precision NOT NULL,
        ttft_count double precision NOT NULL,
        duration_ms_sum double precision NOT NULL,
        PRIMARY KEY (account_id, minute, key_id, deployment)
      );
      -- Usage batches already written: a batch retried after a lost answer is not counted twice.
      CREATE TABLE tokios_usage_batches (id text PRIMARY KEY, written timestamptz NOT NULL DEFAULT now());
      -- The secret replicas derive their peer-link credential from (never leaves the database as is).
      CREATE TABLE tokios_cluster (id int PRIMARY KEY CHECK (id = 1), secret text NOT NULL);
      INSERT INTO tokios_cluster (id, secret) VALUES (1, encode(sha256(gen_random_uuid()::text::bytea || clock_timestamp()::text::bytea || random()::text::bytea), 'hex'));
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

/** Brings the database to SCHEMA_VERSION; returns the versions it applied. */
export async function migrate(pool: pg.Pool, where: string): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query('CREATE TABLE IF NOT EXISTS tokios_schema (version int PRIMARY KEY, name text NOT NULL, applied text NOT NULL)');
      const { rows } = await client.query<{ version: number }>('SELECT version FROM tokios_schema ORDER BY version');
      const applied = new Set(rows.map((r) => r.version));
      const newest = Math.max(0, ...applied);
      if (newest > SCHEMA_VERSION) {
        throw new TokiosError('STORE_CORRUPT', `${where} has schema version ${newest}, written by a newer Tokios (this one knows up to ${SCHEMA_VERSION}); upgrade this gateway, the database was left untouched`);
      }
      const done: number[] = [];
      for (const migration of MIGRATIONS) {
        if (applied.has(migration.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(migration.sql);
          await client.query('INSERT INTO tokios_schema (version, name, applied) VALUES ($1, $2, $3)', [migration.version, migration.name, new Date().toISOString()]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw error;
        }
        done.push(migration.version);
      }
      return done;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}

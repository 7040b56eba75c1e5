import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { fillPlaceholders, type SQL, type SQLWrapper, sql } from 'drizzle-orm';
import { PgDialect, type PgDatabase, type PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import * as schema from './schema.js';

export type Schema = typeof schema;
/** One type for both drivers: every query in this package is written against it. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** A query function accepts the database or a transaction, so services can compose them. */
export type Executor = Db | Tx;

const dialect = new PgDialect();

/**
 * A hot statement, run as a named prepared statement on postgres.js: drizzle prepares only
 * builder queries given a name, so a raw `db.execute` is parsed and planned on every call (for
 * the send statement, 0.7 ms parse + 1.5 ms plan of 3.3 ms). postgres.js names it by its text
 * and keeps it per connection, so the text must not vary with the input (pass lists as one JSON
 * parameter, cast from text). `Row` is the select list's row. `build` gets one placeholder per
 * value; the text is built from it once (building a long statement's text on every call was 2% of
 * the server's time at 1,000 sends a second). Elsewhere (PGlite, a transaction) `build` gets the
 * values and it is `execute`.
 */
export function hotStatement<Values extends unknown[], Row>(
  build: (...values: { [K in keyof Values]: SQLWrapper }) => SQL,
) {
  const placeholders = Array.from({ length: build.length }, (_, i) => sql.placeholder(String(i)));
  let built: { sql: string; params: unknown[] } | null = null;
  return async (db: Executor, ...values: Values): Promise<Row[]> => {
    const client = (db as { $client?: unknown }).$client;
    if (typeof client === 'function' && 'unsafe' in client && typeof client.unsafe === 'function') {
      built ??= dialect.sqlToQuery(build(...(placeholders as { [K in keyof Values]: SQLWrapper })));
      const params = fillPlaceholders(built.params, Object.fromEntries(values.map((v, i) => [String(i), v])));
      return rowsOf<Row>(
        await (client as postgres.Sql).unsafe(built.sql, params as postgres.ParameterOrJSON<never>[], {
          prepare: true,
        }),
      );
    }
    return rowsOf<Row>(
      await db.execute(build(...(values.map((v) => sql`${v}`) as { [K in keyof Values]: SQLWrapper }))),
    );
  };
}

/**
 * The rows of a raw statement: postgres.js answers them as an array, PGlite as an object holding
 * them. Their type is the statement's select list, which the caller names (raw SQL has none).
 */
function rowsOf<Row>(result: unknown): Row[] {
  return (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as Row[];
}

export interface Database {
  db: Db;
  kind: 'pglite' | 'postgres';
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  databaseUrl?: string | undefined;
  dataDir: string;
  poolSize?: number;
  /** `memory://` PGlite for tests that want a throwaway embedded database. */
  inMemory?: boolean;
  onNotice?: (message: string) => void;
}

const migrationsFolder = fileURLToPath(new URL('../migrations', import.meta.url));
// Any constant works; it only has to be the same for every Parley instance.
const MIGRATION_LOCK_KEY = 0x7061726c; // "parl"

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.databaseUrl) return openPostgres(opts.databaseUrl, opts.poolSize ?? 10);
  return openPglite(opts.inMemory ? undefined : join(opts.dataDir, 'pglite'));
}

async function openPostgres(url: string, poolSize: number): Promise<Database> {
  await migrateWithLock(url);
  const client = postgres(url, {
    max: poolSize,
    onnotice: () => {},
    // A stuck query must not hold a connection for ever.
    connection: { statement_timeout: 15_000, application_name: 'parley' },
    // While PostgreSQL is down, queries wait for the next connection attempt. postgres.js spaces
    // attempts up to 20 s apart by default (one retry count for the whole pool), which delays
    // recovery after a restart that long; 2 s at most keeps /readyz and recovery prompt.
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 2) * (0.5 + Math.random() / 2),
    // A host that drops packets (instead of refusing) fails a query in 10 s, not the default 30 s.
    connect_timeout: 10,
  });
  const db = drizzlePostgres(client, { schema });
  return {
    db,
    kind: 'postgres',
    ping: async () => {
      await client`select 1`;
    },
    close: () => client.end({ timeout: 5 }),
  };
}

/** Two instances starting at once: the advisory lock lets one migrate while the other waits. */
async function migrateWithLock(url: string): Promise<void> {
  const client = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await client`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    try {
      await migratePostgres(drizzlePostgres(client), { migrationsFolder });
    } finally {
      await client`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
    }
  } finally {
    await client.end({ timeout: 5 });
  }
}

async function openPglite(dir: string | undefined): Promise<Database> {
  if (dir) mkdirSync(dir, { recursive: true });
  // pg_trgm backs people search (substring matches on names); the migrations create it.
  const extensions = { pg_trgm };
  const client = dir ? new PGlite(dir, { extensions }) : new PGlite({ extensions });
  await client.waitReady;
  const db = drizzlePglite(client, { schema });
  await migratePglite(db, { migrationsFolder });
  return {
    db,
    kind: 'pglite',
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    close: () => client.close(),
  };
}

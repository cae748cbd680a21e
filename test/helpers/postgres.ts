// Fresh PostgreSQL stores for tests: the test server (127.0.0.1:5432, database `test`, user postgres,
// trust; LAZARET_TEST_POSTGRES overrides the URL) and a schema of its own per test, dropped afterwards.
// Drops run in the background on one connection of the process, so a test does not wait for the last
// one's; that connection ends once no drop is left, and the process does not exit before. The next
// test's schema is created and migrated in the background too, while this test runs: its store's
// open() then waits for that (the migration's advisory lock) and finds the schema ready. One left
// unused when the process ends is dropped then.

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Db } from '../../src/storage/postgres/connection.js';
import { migrate, migrationsDir, readMigrations } from '../../src/storage/postgres/migrate.js';
import { PostgresStore, type PostgresStoreOptions } from '../../src/storage/postgres/store.js';
import type { AdapterUnderTest } from '../storage/conformance/index.js';

export const TEST_POSTGRES_URL = process.env.LAZARET_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface FreshPostgres {
  schema: string;
  /** A new, unopened store over this schema; closed by cleanup(). */
  store(options?: Partial<PostgresStoreOptions>): PostgresStore;
  /** Runs SQL on the test database directly, outside any store (search_path set to the schema). */
  sql<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  /** Closes every store made here and drops the schema (in the background). */
  cleanup(): Promise<void>;
}

let dropper: { client: Promise<pg.Client>; pending: number } | null = null;

function dropSchema(schema: string): void {
  if (dropper === null) {
    const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    client.on('error', () => {});
    dropper = { client: client.connect().then(() => client), pending: 0 };
  }
  const d = dropper;
  d.pending++;
  // After its preparation, if any: a schema whose creation has not committed yet is not there to drop.
  const ready = preparing.get(schema) ?? Promise.resolve();
  preparing.delete(schema);
  void Promise.all([d.client, ready])
    .then(([c]) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`))
    .catch((err: unknown) => console.error(`could not drop the test schema ${schema}: ${String(err)}`))
    .finally(() => {
      if (--d.pending > 0) return;
      if (dropper === d) dropper = null;
      void d.client.then((c) => c.end()).catch(() => {});
    });
}

function newSchemaName(): string {
  return `lzt_${randomBytes(6).toString('hex')}`;
}

/** Creates and migrates `schema` as a store's open() would; failures are left for that open() to meet. */
async function prepare(schema: string): Promise<void> {
  const db = new Db(
    { url: TEST_POSTGRES_URL, schema, poolSize: 1, connectTimeoutMs: 5000, applicationName: 'lazaret test prepare', statementTimeoutMs: 30_000 },
    schema,
  );
  try {
    await migrate(db, schema, readMigrations(migrationsDir()));
  } catch {
    // The test's own open() reports it.
  } finally {
    await db.end().catch(() => {});
  }
}

let prepared: string | null = null;
/** Preparations under way or done, by schema: a drop waits for its schema's. */
const preparing = new Map<string, Promise<void>>();
let exitHooked = false;

/** The schema prepared for this test (or a new name), and the next one set going. */
function takeSchema(): string {
  const schema = prepared ?? newSchemaName();
  prepared = newSchemaName();
  preparing.set(prepared, prepare(prepared));
  if (!exitHooked) {
    exitHooked = true;
    process.once('beforeExit', () => {
      if (prepared !== null) dropSchema(prepared);
      prepared = null;
    });
  }
  return schema;
}

/**
 * A schema of its own for one test. `missing: true`: one that does not exist yet (for tests of what
 * open() does to a new or foreign schema); otherwise it may already be migrated.
 */
export function freshPostgres(options: { missing?: boolean } = {}): FreshPostgres {
  const schema = options.missing === true ? newSchemaName() : takeSchema();
  const stores: PostgresStore[] = [];
  let admin: pg.Client | null = null;
  return {
    schema,
    store(options = {}) {
      const store = new PostgresStore({ url: TEST_POSTGRES_URL, schema, poolSize: 4, ...options });
      stores.push(store);
      return store;
    },
    async sql(text, values = []) {
      if (admin === null) {
        admin = new pg.Client({ connectionString: TEST_POSTGRES_URL, options: `-c search_path=${schema}` });
        await admin.connect();
      }
      return (await admin.query(text, values)).rows;
    },
    async cleanup() {
      for (const store of stores) await store.close();
      if (admin !== null) await admin.end();
      admin = null;
      dropSchema(schema);
    },
  };
}

/** A fresh PostgreSQL schema for the conformance suite: an unopened store, reopen() over the same schema, and a cleanup. */
export async function postgresUnderTest(): Promise<AdapterUnderTest> {
  const fresh = freshPostgres();
  return {
    adapter: fresh.store(),
    reopen: async () => fresh.store(),
    cleanup: () => fresh.cleanup(),
  };
}

// Fresh PostgreSQL stores for tests: the test server (127.0.0.1:5432, database `test`, user postgres,
// trust; LAZARET_TEST_POSTGRES overrides the URL) and a schema of its own per test, dropped afterwards.

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PostgresStore, type PostgresStoreOptions } from '../../src/storage/postgres/store.js';

export const TEST_POSTGRES_URL = process.env.LAZARET_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface FreshPostgres {
  schema: string;
  /** A new, unopened store over this schema; closed by cleanup(). */
  store(options?: Partial<PostgresStoreOptions>): PostgresStore;
  /** Runs SQL on the test database directly, outside any store (search_path set to the schema). */
  sql<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  /** Closes every store made here and drops the schema. */
  cleanup(): Promise<void>;
}

export function freshPostgres(): FreshPostgres {
  const schema = `lzt_${randomBytes(6).toString('hex')}`;
  const stores: PostgresStore[] = [];
  let admin: pg.Client | null = null;
  const client = async (): Promise<pg.Client> => {
    if (admin === null) {
      admin = new pg.Client({ connectionString: TEST_POSTGRES_URL, options: `-c search_path=${schema}` });
      await admin.connect();
    }
    return admin;
  };
  return {
    schema,
    store(options = {}) {
      const store = new PostgresStore({ url: TEST_POSTGRES_URL, schema, poolSize: 4, ...options });
      stores.push(store);
      return store;
    },
    async sql(text, values = []) {
      return (await (await client()).query(text, values)).rows;
    },
    async cleanup() {
      for (const store of stores) await store.close();
      const c = await client();
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await c.end();
      admin = null;
    },
  };
}

// The storage conformance suite against SQLite: a fresh database file per test.

import { SqliteStore } from '../../src/storage/sqlite/store.js';
import { freshSqlite } from '../helpers/store.js';
import { storageConformance } from './conformance/index.js';

storageConformance('sqlite', async () => {
  const file = await freshSqlite();
  const stores: SqliteStore[] = [];
  const make = (): SqliteStore => {
    const store = new SqliteStore({ path: file.path });
    stores.push(store);
    return store;
  };
  return {
    adapter: make(),
    reopen: async () => make(),
    cleanup: async () => {
      for (const store of stores) await store.close();
      await file.cleanup();
    },
  };
});

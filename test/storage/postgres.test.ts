// The storage conformance suite against PostgreSQL: a fresh schema per test on the test server
// (test/helpers/postgres.ts), dropped when the test ends.

import { freshPostgres } from '../helpers/postgres.js';
import { storageConformance } from './conformance/index.js';

storageConformance('postgres', async () => {
  const fresh = freshPostgres();
  return {
    adapter: fresh.store(),
    reopen: async () => fresh.store(),
    cleanup: () => fresh.cleanup(),
  };
});

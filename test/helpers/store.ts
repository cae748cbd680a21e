// Fresh stores for tests: a real database, never shared between tests.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FreshSqlite {
  /** A database file that does not exist yet, in a folder of its own. */
  path: string;
  /** Removes the folder with the file and its -wal/-shm companions. Close the store first. */
  cleanup: () => Promise<void>;
}

export async function freshSqlite(): Promise<FreshSqlite> {
  const dir = await mkdtemp(join(tmpdir(), 'lazaret-test-'));
  return {
    path: join(dir, 'lazaret.db'),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

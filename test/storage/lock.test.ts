// One server per database file, and never somebody else's file: real `lazaret serve` processes (the
// built CLI in dist/; run `npm run build` first) on real SQLite files.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { it, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { ErrorCode, isLazaretError } from '../../src/errors.js';
import { SqliteStore } from '../../src/storage/sqlite/store.js';
import { freshSqlite } from '../helpers/store.js';
import { startChild, type Child } from '../quarantine/helpers.js';

const CLI = 'dist/cli/main.js';

function serve(t: TestContext, db: string): Child {
  return startChild(t, process.execPath, [CLI, 'serve', '--port', '0', '--http-port', '0', '--db', db]);
}

const listening = (child: Child): Promise<string> => child.waitLine((l) => l.includes('listening on'), 'the listening line', 30_000);

it('a second `lazaret serve` on the same --db refuses to start, naming the first one\'s pid; after kill -9 of the first a restart takes the file', async (t) => {
  const fresh = await freshSqlite();
  t.after(fresh.cleanup);
  const first = serve(t, fresh.path);
  await listening(first);

  const second = serve(t, fresh.path);
  const refused = await second.exited;
  assert.notEqual(refused.code, 0);
  assert.match(second.stderr, new RegExp(`already in use by pid ${first.proc.pid} `));
  assert.match(second.stderr, /hint: One Lazaret server per database file/);

  first.proc.kill('SIGKILL');
  assert.equal((await first.exited).signal, 'SIGKILL');
  // The lock went with the process: nothing stale to clean up by hand.
  const third = serve(t, fresh.path);
  await listening(third);
  third.proc.kill('SIGTERM');
  assert.equal((await third.exited).code, 0);
});

it('a second store on the same file in one process is refused too, and gets the file once the first closes', async (t) => {
  const fresh = await freshSqlite();
  t.after(fresh.cleanup);
  const first = new SqliteStore({ path: fresh.path });
  await first.open();
  const second = new SqliteStore({ path: fresh.path });
  await assert.rejects(second.open(), (err: unknown) => isLazaretError(err, ErrorCode.STORE_LOCKED) && err.message.includes(`pid ${process.pid} `));
  await first.close();
  const third = new SqliteStore({ path: fresh.path });
  await third.open();
  await third.close();
});

it("another application's SQLite file (a users table) is refused and left exactly as it was", async (t) => {
  const fresh = await freshSqlite();
  t.after(fresh.cleanup);
  const app = new Database(fresh.path);
  app.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('ada')");
  assert.equal(app.pragma('journal_mode', { simple: true }), 'delete');
  app.close();
  const digest = (): string => createHash('sha256').update(readFileSync(fresh.path)).digest('hex');
  const before = digest();

  const child = serve(t, fresh.path);
  const exited = await child.exited;
  assert.notEqual(exited.code, 0);
  assert.match(child.stderr, /not Lazaret's \(users\)/);
  assert.ok(!child.stderr.includes(fresh.path), 'the message names the file, not its folder');

  assert.equal(digest(), before);
  const after = new Database(fresh.path, { readonly: true });
  t.after(() => after.close());
  assert.equal(after.pragma('journal_mode', { simple: true }), 'delete');
  assert.deepEqual(after.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all(), ['users']);
  for (const companion of ['-wal', '-shm', '.lock']) assert.ok(!existsSync(`${fresh.path}${companion}`), companion);
});

it('an empty file and a Lazaret database are taken as before', async (t) => {
  const fresh = await freshSqlite();
  t.after(fresh.cleanup);
  new Database(fresh.path).close();
  const store = new SqliteStore({ path: fresh.path });
  await store.open();
  await store.close();
  const again = new SqliteStore({ path: fresh.path });
  await again.open();
  assert.ok((await again.schemaVersion()) >= 2);
  await again.close();
});

// One server per database file, and never somebody else's file: real `lazaret serve` processes (the
// built CLI in dist/; run `npm run build` first) on real SQLite files.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
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

it("a second `lazaret serve` on the same --db refuses to start, naming the first one's pid; after kill -9 of the first a restart takes the file", async (t) => {
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

it('a symbolic link to the database, or to its folder, is the same file: a second store through it is refused', async (t) => {
  const fresh = await freshSqlite();
  t.after(fresh.cleanup);
  const first = new SqliteStore({ path: fresh.path });
  await first.open();
  t.after(() => first.close());
  const other = join(dirname(fresh.path), 'other');
  mkdirSync(other);
  symlinkSync(fresh.path, join(other, 'link.db'));
  symlinkSync(dirname(fresh.path), join(other, 'folder'));
  for (const path of [join(other, 'link.db'), join(other, 'folder', 'lazaret.db')]) {
    const second = new SqliteStore({ path });
    await assert.rejects(second.open(), (err: unknown) => isLazaretError(err, ErrorCode.STORE_LOCKED), path);
  }
  assert.ok(!existsSync(join(other, 'link.db.lock')), 'the lock sits beside the real file only');
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

it('a database file that exists but holds no schema (lost in a power cut during the first start) is refused by `lazaret serve`, untouched, with the way out', async (t) => {
  for (const make of [
    // 0 bytes, with a WAL beside it that SQLite itself would delete on opening: left for the operator.
    (path: string) => {
      writeFileSync(path, '');
      writeFileSync(`${path}-wal`, 'frames nobody can replay without a database header');
    },
    // A header and no table: what the file holds when the schema never left the WAL.
    (path: string) => {
      const db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.close();
    },
  ]) {
    const fresh = await freshSqlite();
    t.after(fresh.cleanup);
    make(fresh.path);
    const before = readFileSync(fresh.path);
    const child = serve(t, fresh.path);
    const exited = await child.exited;
    assert.notEqual(exited.code, 0);
    assert.match(child.stderr, /lazaret\.db exists \(\d+ bytes\) but holds no tables/);
    assert.match(child.stderr, /hint: .*delete it and start again for an empty store/);
    assert.deepEqual(readFileSync(fresh.path), before, 'the file is left as it was');
    assert.ok(!existsSync(`${fresh.path}.lock`), 'no lock file left beside it');
    if (before.length === 0) assert.match(readFileSync(`${fresh.path}-wal`, 'utf8'), /^frames nobody/, 'the WAL beside it is kept');
    // The operator's way out: delete it, and the next start begins an empty store.
    rmSync(fresh.path);
    rmSync(`${fresh.path}-wal`, { force: true });
    rmSync(`${fresh.path}-shm`, { force: true });
    const again = serve(t, fresh.path);
    await listening(again);
    again.proc.kill('SIGKILL');
    await again.exited;
  }
});

it('a Lazaret database is taken again; a new one reaches the disk with its schema in the main file before open() returns', async (t) => {
  const fresh = await freshSqlite();
  t.after(fresh.cleanup);
  const store = new SqliteStore({ path: fresh.path });
  await store.open();
  // Checkpointed, not only in the WAL: a power cut now (losing the WAL) would still leave the schema.
  const copy = `${fresh.path}.copy`;
  copyFileSync(fresh.path, copy);
  const main = new Database(copy);
  const tables = main.prepare<[], string>("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all();
  main.close();
  assert.ok(tables.includes('lazaret_migrations') && tables.includes('jobs'), tables.join(','));
  await store.close();
  const again = new SqliteStore({ path: fresh.path });
  await again.open();
  assert.ok((await again.schemaVersion()) >= 2);
  await again.close();
});

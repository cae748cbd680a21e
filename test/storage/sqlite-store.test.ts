// What only the SQLite backend has: its file, pragmas, migration runner and error mapping.
// The shared contract is in sqlite.test.ts (the conformance suite).

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { ErrorCode, LazaretError, isLazaretError } from '../../src/errors.js';
import type { StorageAdapter } from '../../src/storage/adapter.js';
import { toStoreError } from '../../src/storage/sqlite/errors.js';
import { migrate, migrationsDir, readMigrations } from '../../src/storage/sqlite/migrate.js';
import { SqliteStore, type SqliteStoreOptions } from '../../src/storage/sqlite/store.js';
import { emptyBatch } from '../../src/storage/types.js';
import { freshSqlite } from '../helpers/store.js';
import { end, endedAttempt, job, quarantined, rejectsWith, start, storedJobs, back } from './conformance/harness.js';

// Compile-time proof that the class meets the contract.
const asAdapter: (s: SqliteStore) => StorageAdapter = (s) => s;
void asAdapter;

async function tempPath(t: TestContext): Promise<string> {
  const file = await freshSqlite();
  t.after(file.cleanup);
  return file.path;
}

/** A store on `path`, closed when the test ends (closing twice is harmless). */
function storeOn(t: TestContext, options: SqliteStoreOptions): SqliteStore {
  const store = new SqliteStore(options);
  t.after(() => store.close());
  return store;
}

/** A plain better-sqlite3 connection, to look at the file from outside. */
function peek(t: TestContext, path: string): Database.Database {
  const db = new Database(path);
  t.after(() => db.close());
  return db;
}

describe('SqliteStore: opening', () => {
  it('creates missing parent folders', async (t) => {
    const root = await mkdtemp(join(tmpdir(), 'lazaret-test-'));
    t.after(() => rm(root, { recursive: true, force: true }));
    const path = join(root, 'a', 'b', 'lazaret.db');
    const store = storeOn(t, { path });
    await store.open();
    assert.ok(existsSync(path));
    // The folders stay out of what error bodies and /health show.
    assert.equal(store.describe(), 'sqlite:lazaret.db');
  });

  it('uses the WAL journal and records the schema version', async (t) => {
    const path = await tempPath(t);
    const store = storeOn(t, { path });
    await store.open();
    const db = peek(t, path);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.deepEqual(db.prepare('SELECT version, name FROM lazaret_migrations ORDER BY version').all(), [
      { version: 1, name: 'init' },
      { version: 2, name: 'outcomes_tags' },
      { version: 3, name: 'alerts' },
      { version: 4, name: 'job_history' },
      { version: 5, name: 'queue_of_record' },
    ]);
    assert.equal(await store.schemaVersion(), 5);
  });

  it('accepts synchronous: full and a busy timeout', async (t) => {
    const store = storeOn(t, { path: await tempPath(t), synchronous: 'full', busyTimeoutMs: 100 });
    await store.open();
    await store.write({ ...emptyBatch(), insertJobs: [job(1)] });
    assert.equal((await storedJobs(store)).length, 1);
  });

  it('works in memory', async (t) => {
    const store = storeOn(t, { path: ':memory:' });
    await store.open();
    await store.write({ ...emptyBatch(), insertJobs: [job(1)] });
    assert.equal(await store.idsNext(), 2);
  });

  it('opening twice is harmless; before open and after close calls reject with LAZ_STORE_CLOSED', async (t) => {
    const store = storeOn(t, { path: await tempPath(t) });
    await rejectsWith(storedJobs(store), ErrorCode.STORE_CLOSED);
    await store.open();
    await store.open();
    await store.close();
    await store.close();
    await rejectsWith(store.open(), ErrorCode.STORE_CLOSED);
    await rejectsWith(store.idsNext(), ErrorCode.STORE_CLOSED);
  });

  it('migrates a version 1 database to version 2: its jobs and quarantine entries load with no tags', async (t) => {
    const path = await tempPath(t);
    const old = new Database(path);
    migrate(
      old,
      readMigrations(migrationsDir()).filter((m) => m.version === 1),
      path,
    );
    old.prepare("INSERT INTO jobs (id, handle, function, unique_key, payload, priority, submitted_at) VALUES (1, 'H:x:1', 'f', 'u', x'00', 1, 5)").run();
    old
      .prepare(
        "INSERT INTO quarantine (id, handle, function, unique_key, payload, priority, submitted_at, reason, quarantined_at, attempt_count, attempts) VALUES (2, 'H:x:2', 'f', '', x'', 1, 5, 'expired', 6, 0, '[]')",
      )
      .run();
    old.close();
    const store = storeOn(t, { path });
    await store.open();
    assert.equal(await store.schemaVersion(), 5);
    assert.deepEqual(
      (await storedJobs(store)).map((j) => [j.id, j.tags]),
      [[1, []]],
    );
    assert.deepEqual((await store.quarantineGet(2))?.tags, []);
  });

  it('refuses a database whose schema is newer than this code, naming both versions', async (t) => {
    const path = await tempPath(t);
    const first = storeOn(t, { path });
    await first.open();
    await first.close();
    const db = peek(t, path);
    db.prepare('INSERT INTO lazaret_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(42, 'future', 0);
    const store = storeOn(t, { path });
    await assert.rejects(store.open(), (err: unknown) => {
      assert.ok(isLazaretError(err, ErrorCode.SCHEMA_TOO_NEW));
      assert.match(err.message, /schema version 42/);
      assert.match(err.message, new RegExp(`up to ${readMigrations(migrationsDir()).at(-1)!.version}\\b`));
      return true;
    });
    await rejectsWith(storedJobs(store), ErrorCode.STORE_CLOSED);
  });

  it('reports a file that is not a database as LAZ_STORE_FAILED with the SQLite code', async (t) => {
    const path = await tempPath(t);
    await writeFile(path, 'this is not a database, just some text that is long enough to be read as a header'.repeat(20));
    const store = storeOn(t, { path });
    await assert.rejects(store.open(), (err: unknown) => {
      assert.ok(isLazaretError(err, ErrorCode.STORE_FAILED));
      assert.match(err.message, /SQLITE_NOTADB/);
      return true;
    });
  });
});

describe('SqliteStore: migration runner', () => {
  async function migrationsIn(t: TestContext, files: Record<string, string>): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'lazaret-migrations-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    for (const [name, sql] of Object.entries(files)) await writeFile(join(dir, name), sql);
    return dir;
  }

  it('finds the shipped migrations, numbered from 0001', () => {
    const migrations = readMigrations(migrationsDir());
    assert.equal(migrations[0]?.version, 1);
    assert.deepEqual(
      migrations.map((m) => m.version),
      migrations.map((_, i) => i + 1),
    );
  });

  it('applies each pending migration in order, once, and ignores other files', async (t) => {
    const dir = await migrationsIn(t, {
      '0002_more.sql': 'CREATE TABLE two (x INTEGER); INSERT INTO two VALUES (2);',
      '0001_first.sql': 'CREATE TABLE one (x INTEGER);',
      'README.md': 'not a migration',
    });
    const db = peek(t, ':memory:');
    assert.equal(migrate(db, readMigrations(dir), 'test'), 2);
    assert.equal(migrate(db, readMigrations(dir), 'test'), 2);
    assert.deepEqual(db.prepare('SELECT x FROM two').pluck().all(), [2]);
  });

  it('rolls back a failing migration whole and keeps the ones before it', async (t) => {
    const dir = await migrationsIn(t, {
      '0001_first.sql': 'CREATE TABLE one (x INTEGER);',
      '0002_broken.sql': 'CREATE TABLE half (x INTEGER); THIS IS NOT SQL;',
    });
    const db = peek(t, ':memory:');
    assert.throws(
      () => migrate(db, readMigrations(dir), 'test'),
      (err: unknown) => isLazaretError(err, ErrorCode.STORE_FAILED) && /0002_broken/.test(err.message),
    );
    assert.deepEqual(db.prepare('SELECT version FROM lazaret_migrations').pluck().all(), [1]);
    assert.equal(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'half'").pluck().get(), 0);
  });
});

describe('SqliteStore: rows', () => {
  it('a completed, failed-then-completed or quarantined job leaves no row in jobs or attempts', async (t) => {
    const path = await tempPath(t);
    const store = storeOn(t, { path });
    await store.open();
    const ids = Array.from({ length: 70 }, (_, i) => i + 1);
    await store.write({ ...emptyBatch(), insertJobs: ids.map((id) => job(id)), startAttempts: ids.map((id) => start(id, 1)) });
    await store.write({ ...emptyBatch(), endAttempts: [end(2, 1, { requeue: back(5) })] });
    await store.write({ ...emptyBatch(), startAttempts: [start(2, 2)], deleteJobs: ids.filter((id) => id > 3), quarantine: [quarantined(3)] });
    await store.write({ ...emptyBatch(), deleteJobs: [1, 2] });
    const db = peek(t, path);
    assert.equal(db.prepare('SELECT count(*) FROM attempts').pluck().get(), 0);
    assert.equal(db.prepare('SELECT count(*) FROM jobs').pluck().get(), 0);
    assert.equal(await store.quarantineCount({}), 1);
  });
});

describe('SqliteStore: late evidence', () => {
  it("merges into an ended attempt of a stored job, into a quarantine entry's attempt, and touches nothing else", async (t) => {
    const path = await tempPath(t);
    const store = storeOn(t, { path });
    await store.open();
    await store.write({ ...emptyBatch(), insertJobs: [job(1), job(2)], startAttempts: [start(1, 1), start(2, 1), start(2, 2)] });
    await store.write({ ...emptyBatch(), endAttempts: [end(1, 1, { outcome: 'timed_out', evidence: { message: 'late' } }), end(2, 1)] });
    await store.write({
      ...emptyBatch(),
      quarantine: [
        quarantined(3, { reason: 'timed_out', attempts: [endedAttempt(3, 1, { outcome: 'timed_out' }), endedAttempt(3, 2, { outcome: 'timed_out' })] }),
      ],
    });
    const kill = { pid: 4242, signal: 'SIGKILL', stderr: 'hanging' };
    // Job 2's attempt 2 is still running: evidence is for ended attempts only. Job 9 is nowhere.
    await store.write({
      ...emptyBatch(),
      lateEvidence: [
        { jobId: 1, n: 1, evidence: kill },
        { jobId: 2, n: 2, evidence: kill },
        { jobId: 3, n: 2, evidence: kill },
        { jobId: 9, n: 1, evidence: kill },
      ],
    });
    const loaded = await storedJobs(store);
    assert.deepEqual(loaded.find((j) => j.id === 1)!.attempts[0]!.evidence, { message: 'late', ...kill });
    assert.deepEqual(
      loaded.find((j) => j.id === 2)!.attempts.map((a) => a.evidence),
      [null, null],
    );
    const entry = await store.quarantineGet(3);
    assert.deepEqual(
      entry!.attempts.map((a) => a.evidence),
      [null, kill],
    );
  });
});

describe('SqliteStore: errors', () => {
  it('a lock held past busy_timeout is LAZ_STORE_BUSY, and the store recovers once it is released', async (t) => {
    const path = await tempPath(t);
    const store = storeOn(t, { path, busyTimeoutMs: 20 });
    await store.open();
    const other = peek(t, path);
    other.exec('BEGIN IMMEDIATE');
    await rejectsWith(store.write({ ...emptyBatch(), insertJobs: [job(1)] }), ErrorCode.STORE_BUSY);
    other.exec('COMMIT');
    await store.write({ ...emptyBatch(), insertJobs: [job(1)] });
    assert.equal((await storedJobs(store)).length, 1);
  });

  it('a corrupt quarantine row is LAZ_STORE_FAILED naming the row', async (t) => {
    const path = await tempPath(t);
    const store = storeOn(t, { path });
    await store.open();
    await store.write({ ...emptyBatch(), quarantine: [quarantined(9)] });
    peek(t, path).prepare("UPDATE quarantine SET attempts = '{oops' WHERE id = 9").run();
    await assert.rejects(store.quarantineGet(9), (err: unknown) => isLazaretError(err, ErrorCode.STORE_FAILED) && /Row 9/.test(err.message));
  });

  it('maps driver errors: constraint to LAZ_STORE_FAILED with the code, others passed through', () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)');
    db.exec('INSERT INTO t VALUES (1)');
    let thrown: unknown;
    try {
      db.exec('INSERT INTO t VALUES (1)');
    } catch (err) {
      thrown = err;
    }
    db.close();
    const mapped = toStoreError(thrown, 'write', 'sqlite:/x.db');
    assert.equal(mapped.code, ErrorCode.STORE_FAILED);
    assert.match(mapped.message, /SQLITE_CONSTRAINT_PRIMARYKEY/);
    assert.ok(mapped.hint);
    assert.equal(toStoreError(new TypeError('bad bind'), 'write', 'x').code, ErrorCode.STORE_FAILED);
    const own = new LazaretError(ErrorCode.SCHEMA_TOO_NEW, 'x');
    assert.equal(toStoreError(own, 'open', 'x'), own);
  });
});

// The SQLite store's thread: the event loop keeps serving while the thread is stuck, a dead thread
// fails its callers with LAZ_STORE_FAILED instead of leaving them waiting, and Buffers cross it intact.
// Real SQLite files; the lock is held for real by a second better-sqlite3 connection.

import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { it, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { ErrorCode, isLazaretError } from '../../src/errors.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { SqliteStore, type SqliteStoreOptions } from '../../src/storage/sqlite/store.js';
import { emptyBatch } from '../../src/storage/types.js';
import { RawPeer } from '../helpers/gearman-client.js';
import { testConfig } from '../helpers/server.js';
import { freshSqlite, holdWriteLock } from '../helpers/store.js';
import { api } from '../http/helpers.js';
import { job, quarantined, rejectsWith, storedJobs } from './conformance/harness.js';

async function fresh(t: TestContext): Promise<string> {
  const file = await freshSqlite();
  t.after(file.cleanup);
  return file.path;
}

async function server(t: TestContext, options: SqliteStoreOptions): Promise<RunningServer & { store: SqliteStore }> {
  const store = new SqliteStore(options);
  const running = await startServer(testConfig({ httpPort: 0 }, options.path), { store });
  t.after(() => running.stop({ graceMs: 0 }));
  return Object.assign(running, { store });
}

it('while SQLite blocks the store thread for seconds on a held lock, admin `version` answers; the submission commits once the lock goes', async (t) => {
  const path = await fresh(t);
  // One blocking wait inside SQLite as long as the whole timeout: on the event loop this froze the server.
  const node = await server(t, { path, busyTimeoutMs: 20_000, busyWaitMs: 20_000 });
  const lock = holdWriteLock(path, t);
  const client = await RawPeer.connect(node.gearmanPort);
  t.after(() => client.close());
  const admin = await RawPeer.connect(node.gearmanPort);
  t.after(() => admin.close());
  client.send('SUBMIT_JOB_BG', 'f', '', 'waits for the lock');
  for (let i = 0; i < 10_000 && node.engine.jobCount === 0; i++) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(node.engine.jobCount, 1, 'the submission reached the engine; its commit now waits in the thread');
  for (let i = 0; i < 5; i++) assert.match(await admin.admin('version'), /^OK 1\.1\.20/);
  assert.equal(client.received.length, 0, 'not acknowledged while the lock is held');
  lock.release();
  const created = await client.next('JOB_CREATED', 30_000);
  assert.match(created.text[0]!, /^H:test:/);
});

it('a thread that dies fails the write waiting on it and every later call with LAZ_STORE_FAILED; close() still returns', async (t) => {
  const path = await fresh(t);
  const store = new SqliteStore({ path, busyTimeoutMs: 20_000 });
  await store.open();
  t.after(() => store.close());
  const lock = holdWriteLock(path, t);
  const waiting = store.write({ ...emptyBatch(), insertJobs: [job(1)] });
  await store.crashThreadForTest();
  await assert.rejects(
    waiting,
    (err: unknown) => isLazaretError(err, ErrorCode.STORE_FAILED) && /thread ended/.test(err.message) && /write was not done/.test(err.message),
  );
  await rejectsWith(store.idsNext(), ErrorCode.STORE_FAILED);
  await rejectsWith(store.open(), ErrorCode.STORE_FAILED);
  lock.release();
  await store.close();
  await rejectsWith(store.idsNext(), ErrorCode.STORE_CLOSED);
});

it('with its store thread dead, a server answers submitters with LAZ_STORE_FAILED (HTTP) and QUEUE_ERROR (Gearman) at once, and admin still answers', async (t) => {
  const path = await fresh(t);
  const node = await server(t, { path });
  const client = await RawPeer.connect(node.gearmanPort);
  t.after(() => client.close());
  client.send('SUBMIT_JOB_BG', 'f', '', 'before');
  await client.next('JOB_CREATED', 10_000);
  await node.store.crashThreadForTest();
  client.send('SUBMIT_JOB_BG', 'f', '', 'after');
  const refused = await client.next('ERROR', 10_000);
  assert.equal(refused.text[0], 'QUEUE_ERROR');
  assert.match(refused.text[1]!, /thread ended/);
  const http = await api<{ error: { code: string } }>(`http://127.0.0.1:${node.httpPort}`, 'POST', '/api/jobs', { function: 'f', payload: 'x' });
  assert.equal(http.body.error.code, ErrorCode.STORE_FAILED, JSON.stringify(http.body));
  assert.match(await client.admin('version'), /^OK 1\.1\.20/);
});

it('payloads that are views into larger blocks are stored as exactly their bytes and come back as Buffers', async (t) => {
  const store = new SqliteStore({ path: await fresh(t) });
  await store.open();
  t.after(() => store.close());
  const block = Buffer.alloc(64 * 1024, 0x61);
  block.write('hello', 1000);
  const view = block.subarray(1000, 1005);
  const entry = { ...quarantined(7), payload: block.subarray(2000, 2003) };
  await store.write({ ...emptyBatch(), insertJobs: [{ ...job(1), payload: view }], quarantine: [entry] });
  assert.equal(view.toString(), 'hello', "the caller's Buffer is still usable");
  const [loaded] = await storedJobs(store);
  assert.ok(Buffer.isBuffer(loaded!.payload));
  assert.equal(loaded!.payload.toString('hex'), Buffer.from('hello').toString('hex'));
  assert.equal(loaded!.payload.buffer.byteLength < 64 * 1024, true, 'the reply did not carry the whole block');
  assert.equal((await store.quarantineGet(7))!.payload.toString(), 'aaa');
  assert.equal(await store.quarantineUpdatePayload(7, Buffer.from('new')), true);
  assert.equal((await store.quarantineGet(7))!.payload.toString(), 'new');
});

it("the thread checkpoints the WAL into the database file between commits once it passes checkpointPages (SQLite's own autocheckpoint is off)", async (t) => {
  const path = await fresh(t);
  const store = new SqliteStore({ path, checkpointPages: 16 });
  await store.open();
  t.after(() => store.close());
  const peek = new Database(path, { readonly: true });
  t.after(() => peek.close());
  const before = statSync(path).size;
  // 40 commits of 8 KiB payloads: about 100 pages, several times the threshold.
  for (let id = 1; id <= 40; id++) await store.write({ ...emptyBatch(), insertJobs: [{ ...job(id), payload: Buffer.alloc(8192, id) }] });
  assert.ok(statSync(path).size > before + 16 * 4096, `the database file grew from ${before} to ${statSync(path).size} bytes: pages were checkpointed into it`);
  assert.equal(peek.prepare('SELECT count(*) FROM jobs').pluck().get(), 40);
});

it('without a reason to checkpoint (few pages), the database file keeps its size: no checkpoint per commit', async (t) => {
  const path = await fresh(t);
  const store = new SqliteStore({ path });
  await store.open();
  t.after(() => store.close());
  const before = statSync(path).size;
  for (let id = 1; id <= 20; id++) await store.write({ ...emptyBatch(), insertJobs: [job(id)] });
  assert.equal(statSync(path).size, before);
});

it('arguments that cannot cross to the thread are refused with LAZ_STORE_FAILED, and the store keeps working', async (t) => {
  const store = new SqliteStore({ path: await fresh(t) });
  await store.open();
  t.after(() => store.close());
  const bad = { ...job(1), tags: [() => 'not data'] } as unknown as ReturnType<typeof job>;
  await assert.rejects(
    store.write({ ...emptyBatch(), insertJobs: [bad] }),
    (err: unknown) => isLazaretError(err, ErrorCode.STORE_FAILED) && /cannot be sent/.test(err.message),
  );
  await store.write({ ...emptyBatch(), insertJobs: [job(2)] });
  assert.deepEqual(
    (await storedJobs(store)).map((j) => j.id),
    [2],
  );
});

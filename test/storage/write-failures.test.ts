// When a write fails: one bad value fails only its own caller, memory and store end up agreeing, the
// failed handles are logged, and another process holding the write lock does not freeze the server.
// The lock is held for real, by a second better-sqlite3 connection in BEGIN IMMEDIATE.

import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { Writable } from 'node:stream';
import { it, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import pino from 'pino';
import { ManualClock } from '../../src/core/clock.js';
import { GroupCommit, type CommitEvents } from '../../src/core/commit.js';
import { ErrorCode, isLazaretError } from '../../src/errors.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { SqliteStore } from '../../src/storage/sqlite/store.js';
import type { NewHistoryEntry, WriteBatch } from '../../src/storage/types.js';
import { RawPeer } from '../helpers/gearman-client.js';
import { type ConfigPatch, peerFor, testConfig } from '../helpers/server.js';
import { freshSqlite, holdWriteLock } from '../helpers/store.js';
import { api } from '../http/helpers.js';
import { grab, submitBg } from '../quarantine/helpers.js';
import { job, storedJobs } from './conformance/harness.js';
import { waitEvent } from '../helpers/events.js';

/** The pino lines a server wrote, parsed, with a way to wait for one. */
class LogLines extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  #waiters: (() => void)[] = [];

  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    for (const line of chunk.toString().split('\n')) if (line.trim() !== '') this.lines.push(JSON.parse(line) as Record<string, unknown>);
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
    done();
  }

  async waitFor(pred: (l: Record<string, unknown>) => boolean, what: string, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(pred);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no log line ${what}; got ${JSON.stringify(this.lines.map((l) => l.msg))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

const handlesOf = (l: Record<string, unknown>): string[] => (Array.isArray(l.handles) ? (l.handles as string[]) : []);

interface Node extends RunningServer {
  path: string;
  logs: LogLines;
  url: string;
}

/** A server whose store gives up on a held lock after busyTimeoutMs (the default of 5 s makes slow tests). */
async function node(t: TestContext, opts: { patch?: ConfigPatch; clock?: ManualClock; busyTimeoutMs?: number; path?: string } = {}): Promise<Node> {
  let path = opts.path;
  if (path === undefined) {
    const fresh = await freshSqlite();
    t.after(fresh.cleanup);
    path = fresh.path;
  }
  const logs = new LogLines();
  const store = new SqliteStore({ path, busyTimeoutMs: opts.busyTimeoutMs ?? 300 });
  const server = await startServer(testConfig({ httpPort: 0, ...opts.patch }, path), {
    logger: pino({ level: 'info' }, logs),
    store,
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  t.after(() => server.stop({ graceMs: 0 }));
  return Object.assign(server, { path, logs, url: `http://127.0.0.1:${server.httpPort}` });
}

function storedJobIds(path: string): number[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare<[], number>('SELECT id FROM jobs ORDER BY id').pluck().all();
  } finally {
    db.close();
  }
}

function storedQuarantineIds(path: string): number[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare<[], number>('SELECT id FROM quarantine ORDER BY id').pluck().all();
  } finally {
    db.close();
  }
}

const idOf = (handle: string): number => Number(handle.slice(handle.lastIndexOf(':') + 1));

// ------------------------------------------------------------------ one bad value

it('an HTTP runAt of 1e300 racing a Gearman SUBMIT_JOB_BG: the Gearman client gets JOB_CREATED, the HTTP client a 400 without the db folder', async (t) => {
  const server = await node(t);
  const gearman = await peerFor(t, server.gearmanPort);
  const folder = dirname(server.path);
  for (let round = 0; round < 10; round++) {
    // Both arrive in the same turn of the event loop as often as the machine allows: one group commit.
    const [http, created] = await Promise.all([
      api<{ error: { code: string; message: string } }>(server.url, 'POST', '/api/jobs', { function: 'f', runAt: 1e300 }),
      gearman.request('SUBMIT_JOB_BG', ['g', '', `round ${round}`]),
    ]);
    assert.equal(created.name, 'JOB_CREATED', `round ${round}: ${created.name} ${created.text.join(' ')}`);
    assert.equal(http.status, 400, JSON.stringify(http.body));
    assert.equal(http.body.error.code, ErrorCode.BAD_REQUEST);
    assert.ok(!JSON.stringify(http.body).includes(folder), JSON.stringify(http.body));
  }
  await server.engine.flush();
  assert.equal(storedJobIds(server.path).length, 10);
});

it('the engine refuses times the store cannot hold before they join a group commit, over any door', async (t) => {
  const server = await node(t);
  for (const runAt of [1e300, Number.POSITIVE_INFINITY, Number.NaN, -1, 1.5, Date.UTC(10000, 0, 1)]) {
    assert.throws(
      () => server.engine.submit({ fn: 'f', unique: '', payload: Buffer.from('x'), priority: 1, background: true, runAt }),
      (err: unknown) => isLazaretError(err, ErrorCode.BAD_REQUEST) && /runAt/.test(err.message),
      String(runAt),
    );
    assert.throws(
      () => server.engine.submit({ fn: 'f', unique: '', payload: Buffer.from('x'), priority: 1, background: true, deadline: runAt }),
      (err: unknown) => isLazaretError(err, ErrorCode.BAD_REQUEST) && /deadline/.test(err.message),
    );
  }
  const iso = await api<{ error: { code: string } }>(server.url, 'POST', '/api/jobs', { function: 'f', runAt: '+275760-09-13T00:00:00.000Z' });
  assert.equal(iso.status, 400);
  assert.equal(server.engine.jobCount, 0);
  // The last second of 9999 is still a time.
  const last = server.engine.submit({
    fn: 'f',
    unique: '',
    payload: Buffer.from('x'),
    priority: 1,
    background: true,
    runAt: Date.UTC(9999, 11, 31, 23, 59, 59, 999),
  });
  await last.ready;
});

it('a group commit that fails on one bad row is written again member by member: only that member fails', async (t) => {
  const fresh = await freshSqlite();
  t.after(fresh.cleanup);
  const store = new SqliteStore({ path: fresh.path });
  await store.open();
  t.after(() => store.close());
  const rejected: WriteBatch[] = [];
  const events: CommitEvents = {
    rejected: (_err, b) => void rejected.push(b),
    retrying: () => assert.fail('nothing here is retried'),
    recovered: () => undefined,
    coalesced: () => undefined,
    abandoned: () => undefined,
  };
  const commit = new GroupCommit(store, events);
  // History rows (a requeued job's last life) go with their own member when the group is split.
  const life = (jobId: number): NewHistoryEntry => ({ jobId, at: 1, action: 'finished', actor: 'server', client: null, peer: null, life: null });
  commit.stage().insertJobs.push(job(1));
  commit.stage().history.push(life(1));
  const first = commit.committed();
  // Past the engine's checks, as a future bug might be: a REAL where STRICT wants an INTEGER.
  commit.stage().insertJobs.push(job(2, { runAt: 1e300 }));
  const bad = commit.committed();
  commit.stage().insertJobs.push(job(3));
  commit.stage().history.push(life(3));
  const third = commit.committed();
  await Promise.all([first, third]);
  await assert.rejects(bad, (err: unknown) => isLazaretError(err, ErrorCode.STORE_FAILED) && /SQLITE_CONSTRAINT_DATATYPE/.test(err.message));
  assert.deepEqual(
    rejected.map((b) => b.insertJobs.map((j) => j.id)),
    [[2]],
  );
  assert.deepEqual(
    (await storedJobs(store)).map((j) => j.id),
    [1, 3],
  );
  assert.deepEqual([(await store.historyFind(1)).length, (await store.historyFind(3)).length], [1, 1]);
});

it('no error body and no /health answer shows the database folder', async (t) => {
  const server = await node(t, { busyTimeoutMs: 100 });
  const folder = dirname(server.path);
  const lock = holdWriteLock(server.path);
  t.after(() => lock.release());
  const refused = await api<{ error: { code: string; message: string } }>(server.url, 'POST', '/api/jobs', { function: 'f', payload: 'x' });
  assert.equal(refused.status, 503);
  assert.equal(refused.body.error.code, ErrorCode.STORE_BUSY);
  assert.match(refused.body.error.message, /sqlite:lazaret\.db/);
  const health = await fetch(`${server.url}/health`);
  const text = await health.text();
  assert.match(text, /lazaret\.db/);
  for (const body of [JSON.stringify(refused.body), text]) assert.ok(!body.includes(folder), body);
});

// ------------------------------------------------------------------ memory and store agree

it('a job expiring while another process holds the write lock stays visible, is quarantined once the lock goes, and its handle is logged', async (t) => {
  const clock = new ManualClock(Date.now());
  const server = await node(t, { clock });
  const client = await peerFor(t, server.gearmanPort);
  const { job: live, ready } = server.engine.submit({
    fn: 'late',
    unique: '',
    payload: Buffer.from('p'),
    priority: 1,
    background: true,
    deadline: clock.now() + 1000,
  });
  await ready;
  const handle = live.handle;
  const lock = holdWriteLock(server.path);
  t.after(() => lock.release());
  clock.advance(1000);
  const failed = await server.logs.waitFor((l) => /written again/.test(String(l.msg)) && handlesOf(l).includes(handle), `retrying ${handle}`);
  assert.equal(failed.level, 50);
  // The store still has the job row; the API shows the job as expired (quarantined) rather than 404.
  assert.deepEqual(storedJobIds(server.path), [idOf(handle)]);
  const seen = await api<{ state: string }>(server.url, 'GET', `/api/jobs/${encodeURIComponent(handle)}`);
  assert.equal(seen.status, 200);
  assert.equal(seen.body.state, 'expired');
  assert.equal(server.engine.unsavedWrites, 1);
  lock.release();
  await server.logs.waitFor((l) => /now saved/.test(String(l.msg)) && handlesOf(l).includes(handle), `recovered ${handle}`);
  assert.deepEqual(storedJobIds(server.path), []);
  assert.deepEqual(storedQuarantineIds(server.path), [idOf(handle)]);
  assert.equal(server.engine.unsavedWrites, 0);
  const after = await api<{ state: string }>(server.url, 'GET', `/api/jobs/${encodeURIComponent(handle)}`);
  assert.equal(after.body.state, 'expired');
  client.close();
});

it('a completion whose delete meets the lock is written again: after a restart the job does not run twice', async (t) => {
  const fresh = await freshSqlite();
  t.after(fresh.cleanup);
  const first = await node(t, { path: fresh.path });
  const client = await peerFor(t, first.gearmanPort);
  const handle = await submitBg(client, 'once', 'payload');
  const worker = await peerFor(t, first.gearmanPort);
  worker.send('CAN_DO', 'once');
  await grab(worker);
  const lock = holdWriteLock(fresh.path);
  t.after(() => lock.release());
  worker.send('WORK_COMPLETE', handle, 'done');
  await first.logs.waitFor((l) => /written again/.test(String(l.msg)) && handlesOf(l).includes(handle), `retrying ${handle}`);
  assert.deepEqual(storedJobIds(fresh.path), [idOf(handle)], 'the row is still there while the lock is held');
  const completed = waitEvent(first.engine, 'job:completed', () => true);
  lock.release();
  await completed;
  assert.deepEqual(storedJobIds(fresh.path), []);
  worker.close();
  client.close();
  await first.stop({ graceMs: 0 });
  const second = await node(t, { path: fresh.path });
  assert.equal(second.engine.jobCount, 0, 'the completed job is not loaded again');
});

it('a server stopping with a completion still unsaved says so, naming the handle', async (t) => {
  const server = await node(t, { busyTimeoutMs: 100 });
  const client = await peerFor(t, server.gearmanPort);
  const handle = await submitBg(client, 'stuck', 'payload');
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'stuck');
  await grab(worker);
  const lock = holdWriteLock(server.path);
  t.after(() => lock.release());
  worker.send('WORK_COMPLETE', handle, 'done');
  await server.logs.waitFor((l) => /written again/.test(String(l.msg)) && handlesOf(l).includes(handle), `retrying ${handle}`);
  worker.close();
  client.close();
  await server.stop({ graceMs: 0 });
  const line = await server.logs.waitFor((l) => /never took/.test(String(l.msg)), 'abandoned');
  assert.ok(handlesOf(line).includes(handle), JSON.stringify(line));
  assert.match(String(line.msg), /completed one runs again/);
});

// ------------------------------------------------------------------ the lock does not freeze the server

it('while another process holds the write lock, admin `version` answers and a pending submission completes once the lock goes', async (t) => {
  // The default total wait: the submission must still be waiting when the lock is released.
  const server = await node(t, { busyTimeoutMs: 5000 });
  const lock = holdWriteLock(server.path);
  t.after(() => lock.release());
  const client = await RawPeer.connect(server.gearmanPort);
  t.after(() => client.close());
  const admin = await RawPeer.connect(server.gearmanPort);
  t.after(() => admin.close());
  client.send('SUBMIT_JOB_BG', 'f', '', 'waits for the lock');
  // The submission's group commit is now retrying against the lock; the event loop still serves.
  await waitForRetry(server);
  for (let i = 0; i < 5; i++) assert.match(await admin.admin('version'), /^OK 1\.1\.20/);
  assert.equal(client.received.length, 0, 'no answer while the lock is held');
  lock.release();
  const created = await client.next('JOB_CREATED', 10_000);
  assert.match(created.text[0]!, /^H:test:/);
  assert.deepEqual(storedJobIds(server.path), [idOf(created.text[0]!)]);
});

/** Resolves once the submission is in the engine (pending): its insert is now waiting on the lock. */
async function waitForRetry(server: Node): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    if (server.engine.jobCount > 0) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('the submission never reached the engine');
}

it('/health writes to the store at most every 5 s however often it is asked, repeating its last answer in between', async (t) => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const server = await node(t, { clock });
  const lastPing = (): number | undefined => {
    const db = new Database(server.path, { readonly: true });
    try {
      return db.prepare<[], number>("SELECT value FROM meta WHERE key = 'health_ping'").pluck().get();
    } finally {
      db.close();
    }
  };
  const start = clock.now();
  const health = async (): Promise<string> => {
    const res = await fetch(`${server.url}/health`);
    const body = (await res.json()) as { checks: { name: string; reason: string }[] };
    return body.checks.find((c) => c.name === 'store')!.reason;
  };
  const first = await health();
  const written = lastPing();
  assert.ok(written !== undefined && written >= start, String(written));
  for (let i = 0; i < 20; i++) {
    clock.advance(200);
    assert.equal(await health(), first);
  }
  assert.equal(lastPing(), written, 'no write within 5 s of the last one');
  clock.advance(1000);
  await health();
  assert.ok(lastPing()! > written!, 'a write again once 5 s have passed');
});

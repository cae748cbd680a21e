// Transactional enqueue (docs/cluster.md): the SQL function submit() of a PostgreSQL store, called in
// an application's own transaction, against a real node with a real Gearman worker. A job submitted in
// a transaction that rolls back never exists; one that commits wakes the node's sleeping worker, runs,
// and its handle works in the HTTP API; a unique coalesces with a job a node took; bad arguments get
// errors with a LAZ_ code. And the page's PHP/PDO and node-postgres examples, run as written.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import pg from 'pg';
import { SQL_IDS_FROM } from '../../src/storage/postgres/queue.js';
import { waitEvent } from '../helpers/events.js';
import type { RawPeer } from '../helpers/gearman-client.js';
import { freshPostgres, TEST_POSTGRES_URL } from '../helpers/postgres.js';
import { peerFor, startTestServer, type ConfigPatch, type TestServer } from '../helpers/server.js';
import { api } from '../http/helpers.js';
import { grab, REPO_ROOT, submitBg } from '../quarantine/helpers.js';
import { documented } from './documented.js';
import { need } from './procs.js';

const PAGE = 'docs/cluster.md';
const SECTION = 'Enqueue from your database transaction';

interface Node {
  server: TestServer & { url: string };
  db: ReturnType<typeof freshPostgres>;
  /** A connection of the application's own. */
  app: pg.Client;
}

async function node(t: TestContext, patch: ConfigPatch = {}): Promise<Node> {
  const db = freshPostgres();
  const server = await startTestServer({ httpPort: 0, store: TEST_POSTGRES_URL, storeSchema: db.schema, ...patch });
  const app = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  // The schema is dropped last, once nothing uses it.
  t.after(async () => {
    await app.end();
    await server.dispose();
    await db.cleanup();
  });
  await app.connect();
  return { server: Object.assign(server, { url: `http://127.0.0.1:${server.httpPort}` }), db, app };
}

async function sleepingWorker(t: TestContext, server: TestServer, fn: string): Promise<RawPeer> {
  const w = await peerFor(t, server);
  w.send('CAN_DO', fn);
  w.send('GRAB_JOB');
  assert.equal((await w.next()).name, 'NO_JOB');
  w.send('PRE_SLEEP');
  return w;
}

test('submit() in a transaction: rolled back, the job never exists; committed, the sleeping worker gets it, and its handle works over HTTP', async (t) => {
  const { server, db, app } = await node(t);
  const s = db.schema;
  const worker = await sleepingWorker(t, server, 'resize');

  await app.query('BEGIN');
  const [undone] = (await app.query<{ h: string }>(`SELECT ${s}.submit('resize', $1) AS h`, [Buffer.from('rolled back')])).rows;
  await app.query('ROLLBACK');
  assert.match(undone!.h, /^H:sql:\d+$/);

  await app.query('BEGIN');
  const [kept] = (
    await app.query<{ h: string }>(`SELECT ${s}.submit('resize', $1, unique_key => 'order-1', priority => 'high', tags => $2) AS h`, [
      Buffer.from('committed'),
      ['order:1', 'order:1', 'shop:eu'],
    ])
  ).rows;
  // Not visible to the node before the commit: the worker sleeps on.
  const queued = await api<{ state: string }>(server.url, 'GET', `/api/jobs/${kept!.h}`);
  assert.equal(queued.status, 404, 'not there before the commit');
  await app.query('COMMIT');

  // The NOTIFY of the commit wakes the node, which wakes its worker.
  await worker.next('NOOP', 5000);
  const assigned = await grab(worker);
  assert.equal(assigned.text[0], kept!.h);
  assert.equal(assigned.args[2]!.toString(), 'committed');
  const job = await api<{ state: string; function: string; priority: string; tags: string[]; unique: string }>(server.url, 'GET', `/api/jobs/${kept!.h}`);
  assert.equal(job.status, 200);
  assert.deepEqual(
    { state: job.body.state, function: job.body.function, priority: job.body.priority, tags: job.body.tags, unique: job.body.unique },
    { state: 'running', function: 'resize', priority: 'high', tags: ['order:1', 'shop:eu'], unique: 'order-1' },
  );
  const done = waitEvent(server.engine, 'job:finished', (o) => o.handle === kept!.h);
  worker.send('WORK_COMPLETE', kept!.h, 'ok');
  await done;
  const finished = await api<{ state: string; result: { text: string } | null }>(server.url, 'GET', `/api/jobs/${kept!.h}`);
  assert.equal(finished.body.state, 'completed');
  assert.equal(finished.body.result?.text, 'ok');

  assert.equal((await api(server.url, 'GET', `/api/jobs/${undone!.h}`)).status, 404, 'the rolled-back job is unknown');
  const ids = [undone!.h, kept!.h].map((h) => h.split(':').pop());
  const rows = await db.sql<{ id: string }>('SELECT id::text FROM jobs WHERE id = ANY($1::bigint[]) UNION ALL SELECT id::text FROM outcomes WHERE id = $2', [
    ids,
    ids[0],
  ]);
  assert.deepEqual(rows, [], 'no row of the rolled-back job anywhere');
});

test('submit() coalesces on the unique with a job a node took, and with one submitted by SQL; "-" by payload; a scheduled job waits for its time', async (t) => {
  const { server, db, app } = await node(t);
  const s = db.schema;
  const client = await peerFor(t, server);
  // A worker here: the node holds the job it is given.
  const worker = await sleepingWorker(t, server, 'resize');
  const taken = await submitBg(client, 'resize', 'from gearman', 'u-1');
  await worker.next('NOOP');
  const assigned = await grab(worker);
  assert.equal(assigned.text[0], taken);
  const [held] = await db.sql<{ state: string; owner: string }>('SELECT state, owner FROM jobs');
  assert.equal(held?.state, 'held', 'the node took it');

  const submit = async (args: string, values: unknown[]): Promise<string> =>
    (await app.query<{ h: string }>(`SELECT ${s}.submit(${args}) AS h`, values)).rows[0]!.h;
  assert.equal(await submit(`'resize', $1, 'u-1'`, [Buffer.from('other payload')]), taken, 'one job, one handle');
  const first = await submit(`'resize', $1, '-'`, [Buffer.from('same bytes')]);
  assert.equal(await submit(`'resize', $1, '-'`, [Buffer.from('same bytes')]), first);
  // A node's submission meets the one SQL stored: the client gets its handle.
  assert.equal(await submitBg(client, 'other', 'x', 'u-2'), await submitBg(client, 'other', 'y', 'u-2'));
  const bySql = await submit(`'other', $1, 'u-3'`, [Buffer.from('z')]);
  assert.equal(await submitBg(client, 'other', 'w', 'u-3'), bySql);
  const later = await submit(`'resize', $1, run_at => now() + interval '1 hour'`, [Buffer.from('later')]);
  const [scheduled] = await db.sql<{ state: string }>('SELECT state FROM jobs WHERE handle = $1', [later]);
  assert.equal(scheduled?.state, 'scheduled');

  const done = waitEvent(server.engine, 'job:finished', (o) => o.handle === taken);
  worker.send('WORK_COMPLETE', taken, 'ok');
  await done;
  // The job finished: the unique is free again.
  assert.notEqual(await submit(`'resize', $1, 'u-1'`, [Buffer.from('again')]), taken);
  // Ids of jobs submitted by SQL are above the nodes' blocks: a node starting now takes its ids below.
  const other = db.store({ node: 'another-node' });
  await other.open();
  const next = await other.idsNext();
  assert.ok(next < SQL_IDS_FROM && Number(bySql.split(':').pop()) >= SQL_IDS_FROM, `node ids from ${next}, SQL ids from ${SQL_IDS_FROM}`);
});

test('submit() refuses bad arguments with a LAZ_ code and SQLSTATE 22023', async (t) => {
  const { db, app } = await node(t);
  const s = db.schema;
  const refused = async (args: string, values: unknown[], code: string, message: RegExp): Promise<void> => {
    await assert.rejects(app.query(`SELECT ${s}.submit(${args})`, values), (err: pg.DatabaseError) => {
      assert.equal(err.code, '22023');
      assert.ok(err.message.startsWith(`${code}: `), err.message);
      assert.match(err.message, message);
      return true;
    });
  };
  await refused(`'', $1`, [Buffer.from('x')], 'LAZ_BAD_FUNCTION_NAME', /empty/);
  await refused(`$1, $2`, ['a\tb', Buffer.from('x')], 'LAZ_BAD_FUNCTION_NAME', /control character/);
  await refused(`$1, $2`, ['f'.repeat(513), Buffer.from('x')], 'LAZ_BAD_FUNCTION_NAME', /513 bytes/);
  await refused(`'f', NULL`, [], 'LAZ_BAD_REQUEST', /payload is NULL/);
  await refused(`'f', $1, $2`, [Buffer.from('x'), 'u'.repeat(65)], 'LAZ_BAD_REQUEST', /at most 64 bytes/);
  await refused(`'f', $1, priority => 'urgent'`, [Buffer.from('x')], 'LAZ_BAD_REQUEST', /high, normal or low/);
  await refused(`'f', $1, run_at => 'infinity'`, [Buffer.from('x')], 'LAZ_BAD_REQUEST', /run_at/);
  await refused(`'f', $1, tags => $2`, [Buffer.from('x'), Array.from({ length: 33 }, (_, i) => `t:${i}`)], 'LAZ_BAD_REQUEST', /at most 32 tags/);
  await refused(`'f', $1, tags => $2`, [Buffer.from('x'), ['']], 'LAZ_BAD_REQUEST', /1 to 200 characters/);
  assert.deepEqual(await db.sql('SELECT id FROM jobs'), []);
});

test("submit() takes no payload over the node's limits.maxPayloadBytes", async (t) => {
  const { db, app } = await node(t, { limits: { maxPayloadBytes: 1024 } });
  const s = db.schema;
  const [kept] = (await app.query<{ h: string }>(`SELECT ${s}.submit('resize', $1) AS h`, [Buffer.alloc(1024, 'x')])).rows;
  await assert.rejects(app.query(`SELECT ${s}.submit('resize', $1)`, [Buffer.alloc(1025, 'x')]), (err: pg.DatabaseError) => {
    assert.equal(err.code, '22023');
    assert.equal(err.message, 'LAZ_PAYLOAD_TOO_LARGE: Payload of 1025 bytes is over the limit of 1024');
    assert.match(err.hint ?? '', /limits\.maxPayloadBytes/);
    return true;
  });
  assert.deepEqual(await db.sql('SELECT handle FROM jobs'), [{ handle: kept!.h }]);
});

test('submit() works for a role with just the privileges docs/cluster.md lists', async (t) => {
  const { db, app } = await node(t);
  const s = db.schema;
  const role = `lz_app_${s}`;
  // All in one transaction rolled back at the end: the role never outlives the test.
  await app.query('BEGIN');
  try {
    await app.query(`CREATE ROLE ${role} NOLOGIN`);
    await app.query(`GRANT USAGE ON SCHEMA ${s} TO ${role}`);
    await app.query(`GRANT INSERT, SELECT ON ${s}.jobs TO ${role}`);
    await app.query(`GRANT SELECT ON ${s}.meta TO ${role}`);
    await app.query(`GRANT USAGE ON SEQUENCE ${s}.job_seq, ${s}.submit_id TO ${role}`);
    await app.query(`SET LOCAL ROLE ${role}`);
    const [row] = (await app.query<{ h: string }>(`SELECT ${s}.submit('resize', $1, 'u-1') AS h`, [Buffer.from('x')])).rows;
    assert.match(row!.h, /^H:sql:\d+$/);
    assert.equal((await app.query<{ h: string }>(`SELECT ${s}.submit('resize', $1, 'u-1') AS h`, [Buffer.from('y')])).rows[0]!.h, row!.h);
  } finally {
    await app.query('ROLLBACK');
  }
});

/** The PG* environment for the examples: the test server, with the store's schema as `lazaret`'s stand-in. */
function exampleEnv(schema: string): NodeJS.ProcessEnv {
  const u = new URL(TEST_POSTGRES_URL);
  return {
    ...process.env,
    PGHOST: u.hostname,
    PGPORT: u.port || '5432',
    PGDATABASE: u.pathname.slice(1),
    PGUSER: decodeURIComponent(u.username),
    PGPASSWORD: decodeURIComponent(u.password),
    // The examples' `orders` table lives in the test's schema.
    PGOPTIONS: `-c search_path=${schema}`,
  };
}

async function runExample(t: TestContext, cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const child = spawn(cmd, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => void (child.exitCode === null && child.kill('SIGKILL')));
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, `${cmd} example failed:\n${err}${out}`);
  return out;
}

/** Runs a documented example against a node and checks that its job ran on the node's worker. */
async function documentedExample(t: TestContext, lang: 'php' | 'js'): Promise<void> {
  const { server, db } = await node(t);
  await db.sql('CREATE TABLE orders (id serial PRIMARY KEY, customer text NOT NULL)');
  const code = (await documented(SECTION, lang, PAGE)).replaceAll('lazaret.submit(', `${db.schema}.submit(`);
  const worker = await sleepingWorker(t, server, 'send_receipt');
  let out: string;
  if (lang === 'js') out = await runExample(t, process.execPath, ['--input-type=module', '-e', code], exampleEnv(db.schema));
  else {
    const dir = await mkdtemp(join(tmpdir(), 'lazaret-enqueue-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'enqueue.php');
    await writeFile(file, code);
    out = await runExample(t, 'php', [file], exampleEnv(db.schema));
  }
  const m = /^order (\d+), job (H:sql:\d+)$/.exec(out.trim());
  assert.ok(m, out);
  await worker.next('NOOP', 5000);
  const assigned = await grab(worker);
  assert.equal(assigned.text[0], m[2]);
  assert.deepEqual(JSON.parse(assigned.args[2]!.toString()), { order: Number(m[1]) });
  const job = await api<{ unique: string; tags: string[] }>(server.url, 'GET', `/api/jobs/${m[2]}`);
  assert.deepEqual({ unique: job.body.unique, tags: job.body.tags }, { unique: `receipt-${m[1]}`, tags: [`order:${m[1]}`] });
}

test('docs/cluster.md: the node-postgres example, as written, submits a job the node runs', async (t) => {
  await documentedExample(t, 'js');
});

test('docs/cluster.md: the PHP/PDO example, as written, submits a job the node runs', async (t) => {
  await need.phpPgsql();
  await documentedExample(t, 'php');
});

// `lazaret serve --store postgres://…` as a real process, with the real `gearman` tool (gearman-tools)
// as client and worker: a foreground round trip, background jobs acknowledged and then a kill -9 of the
// server, and a restart on the same schema that runs every acknowledged job. Also a store that cannot be
// reached: the start fails with a message naming the server without its password.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import pg from 'pg';
import { freshPostgres, TEST_POSTGRES_URL } from '../helpers/postgres.js';
import { serve, serveListening, type ListeningServe } from '../helpers/serve-process.js';
import { eventually } from '../helpers/wait.js';
import { gearman, need } from './procs.js';

/** Starts `lazaret serve` on the PostgreSQL store and reads the port it chose from its JSON log. */
function spawnServer(t: TestContext, schema: string): Promise<ListeningServe> {
  return serveListening(t, ['--store', TEST_POSTGRES_URL, '--store-schema', schema]);
}

/** Waits until PostgreSQL has let go of the node lock of a killed server (its backend noticed the closed socket). */
async function nodeLockFree(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await c.connect();
  try {
    await eventually(
      async () => {
        const got = (
          await c.query<{ got: boolean }>('SELECT pg_try_advisory_lock((hashtext($1)::bigint << 32) | (hashtext($2)::bigint & 4294967295)) AS got', [
            schema,
            hostname(),
          ])
        ).rows[0]?.got;
        if (got !== true) return false;
        await c.query('SELECT pg_advisory_unlock((hashtext($1)::bigint << 32) | (hashtext($2)::bigint & 4294967295))', [schema, hostname()]);
        return true;
      },
      'the killed node to release its node lock',
      10_000,
    );
  } finally {
    await c.end();
  }
}

test('lazaret serve --store postgres://: gearman round trip, background jobs survive a kill -9 and all run after the restart', async (t) => {
  await need.gearmanTools();
  const db = freshPostgres({ missing: true });
  t.after(() => db.cleanup());
  const dir = await mkdtemp(join(tmpdir(), 'lazaret-pg-serve-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const out = join(dir, 'ran.txt');

  // ---- first life
  const first = await spawnServer(t, db.schema);
  assert.match(first.output(), new RegExp(`storing in postgres://postgres@127\\.0\\.0\\.1:5432/test \\(schema ${db.schema}\\)`));
  gearman(t, first.port, '-w', '-f', 'pg_upper', '--', 'tr', 'a-z', 'A-Z');
  const client = gearman(t, first.port, '-f', 'pg_upper', 'hello postgres');
  assert.deepEqual(await client.done(15_000), { code: 0, signal: null }, client.describe());
  assert.equal(client.stdout, 'HELLO POSTGRES');

  // A worker runs a few background jobs and leaves; the rest wait in the store.
  const payloads = Array.from({ length: 24 }, (_, i) => `bg-${i}`);
  for (const [i, p] of payloads.entries()) {
    const bg = gearman(t, first.port, '-b', '-f', 'pg_bg', ...(i % 3 === 0 ? ['-u', `u-${i}`] : []), ...(i % 4 === 1 ? ['-I'] : []), p);
    assert.deepEqual(await bg.done(15_000), { code: 0, signal: null }, bg.describe());
  }
  const early = gearman(t, first.port, '-w', '-f', 'pg_bg', '-c', '4', '--', 'sh', '-c', `cat >> '${out}'; echo >> '${out}'`);
  assert.deepEqual(await early.done(15_000), { code: 0, signal: null }, early.describe());
  const stored = await db.sql<{ n: number }>('SELECT count(*)::int AS n FROM jobs');
  assert.ok((stored[0]?.n ?? 0) >= 20, `the store holds the jobs not run yet: ${JSON.stringify(stored)}`);

  first.child.kill('SIGKILL');
  assert.equal((await first.exited).signal, 'SIGKILL');
  await nodeLockFree(db.schema);

  // ---- second life, same schema: every acknowledged job runs.
  const second = await spawnServer(t, db.schema);
  gearman(t, second.port, '-w', '-f', 'pg_bg', '--', 'sh', '-c', `cat >> '${out}'; echo >> '${out}'`);
  const ran = await eventually(
    async () => {
      const lines = (await readFile(out, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '');
      return payloads.every((p) => lines.includes(p)) ? lines : undefined;
    },
    'every acknowledged background job to run',
    30_000,
  );
  assert.equal(new Set(ran).size, payloads.length, `each job ran: ${JSON.stringify(ran)}`);
  await eventually(async () => (await db.sql<{ n: number }>('SELECT count(*)::int AS n FROM jobs'))[0]?.n === 0, 'the store to be empty');
  // And a foreground round trip on the restarted node.
  gearman(t, second.port, '-w', '-f', 'pg_upper', '--', 'tr', 'a-z', 'A-Z');
  const again = gearman(t, second.port, '-f', 'pg_upper', 'after restart');
  assert.deepEqual(await again.done(15_000), { code: 0, signal: null }, again.describe());
  assert.equal(again.stdout, 'AFTER RESTART');
});

test('lazaret serve --store with PostgreSQL unreachable exits 2 naming the server, never the password', async (t) => {
  const s = serve(t, ['--store', 'postgres://lazaret:s3cret-pw@127.0.0.1:1/test']);
  const exit = await s.exited;
  assert.equal(exit.code, 2, s.output());
  assert.match(s.output(), /lazaret: Cannot connect to the PostgreSQL store postgres:\/\/lazaret@127\.0\.0\.1:1\/test \(schema lazaret\)/);
  assert.doesNotMatch(s.output(), /s3cret/);
});

test('lazaret serve --store refuses what is not a PostgreSQL URL, and a bad schema name, without repeating the value', async (t) => {
  const bad = serve(t, ['--store', 'mysql://root:s3cret-pw@db/x']);
  assert.equal((await bad.exited).code, 2, bad.output());
  assert.match(bad.output(), /store \(command line\): must be a PostgreSQL URL/);
  assert.doesNotMatch(bad.output(), /s3cret/);
  const schema = serve(t, ['--store', TEST_POSTGRES_URL, '--store-schema', 'Robert"; DROP']);
  assert.equal((await schema.exited).code, 2, schema.output());
  assert.match(schema.output(), /storeSchema \(command line\): must be a plain schema name/);
});

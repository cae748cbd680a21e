// A node frozen (SIGSTOP) while its worker runs a job, past its lease (2 s): its peer rescues the job,
// which runs and completes on the peer's worker. Then the frozen node is let go (SIGCONT) and its worker's
// WORK_COMPLETE reaches it: it is fenced, so nothing it does is recorded (the job completed once, with the
// peer's result, after one crashed attempt), and it stops with status 75 logging LAZ_STORE_FENCED.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RawPeer } from '../helpers/gearman-client.js';
import { RawPeer as Peer } from '../helpers/gearman-client.js';
import { freshPostgres } from '../helpers/postgres.js';
import { eventually } from '../helpers/wait.js';
import { clusterConfig, type Delivery, startNode, submitBackground, worker } from './nodes.js';

const LEASE_MS = 2000;

test('a node frozen past its lease completes nothing it no longer owns, and stops with status 75 once let go', async (t) => {
  const db = freshPostgres();
  t.after(() => db.cleanup());
  const config = await clusterConfig(t, { cluster: { leaseMs: LEASE_MS }, policies: [{ match: '*', backoff: { type: 'fixed', base: 50, jitter: false } }] });
  const frozen = await startNode(t, db.schema, 'n1', config, db);
  const peer = await startNode(t, db.schema, 'n2', config, db);

  // The frozen node's worker takes the job and keeps it.
  let taken: { job: Delivery; peer: RawPeer } | null = null;
  const w1 = await worker(frozen, 'cl_slow', async (job, p) => {
    taken = { job, peer: p };
    return null;
  });
  const client = await Peer.connect(frozen.port);
  t.after(() => {
    w1.close();
    client.close();
  });
  const handle = await submitBackground(client, 'cl_slow', 'x');
  const first = await eventually(() => taken ?? undefined, 'the job on the frozen node');
  assert.equal(first.job.handle, handle);

  // The peer's worker: it finds the first attempt charged as crashed when the job reaches it.
  let seen: { n: number; outcome: string | null; error: string | null }[] = [];
  const w2 = await worker(peer, 'cl_slow', async (job) => {
    seen = await db.sql('SELECT a.n, a.outcome, a.error FROM attempts a JOIN jobs j ON j.id = a.job_id WHERE j.handle = $1 ORDER BY a.n', [job.handle]);
    return 'from n2';
  });
  t.after(() => w2.close());

  const stoppedAt = Date.now();
  frozen.child.kill('SIGSTOP');
  const done = await eventually(
    async () => {
      const [row] = await db.sql<{ result: Buffer; attempts: number; state: string }>('SELECT result, attempts, state FROM outcomes WHERE handle = $1', [
        handle,
      ]);
      return row;
    },
    'the job completed on the peer',
    30_000,
  );
  const frozenFor = Date.now() - stoppedAt;
  assert.deepEqual([done.state, done.result.toString(), done.attempts], ['completed', 'from n2', 2]);
  assert.deepEqual(
    seen.map((a) => [a.n, a.outcome]),
    [
      [1, 'crashed'],
      [2, null],
    ],
  );
  assert.match(seen[0]?.error ?? '', /node n1 that was running the job stopped renewing its lease/);

  // The frozen node's worker answers; the node wakes up to it.
  first.peer.send('WORK_COMPLETE', handle, 'from n1');
  frozen.child.kill('SIGCONT');
  const exit = await frozen.exited;
  assert.deepEqual(exit, { code: 75, signal: null }, frozen.output());
  assert.match(frozen.output(), /LAZ_STORE_FENCED/);
  assert.match(frozen.output(), /The node \\"n1\\" \(epoch \d+\) lost its lease/);

  // Nothing of the frozen node's was recorded: one completion, the peer's.
  const outcomes = await db.sql<{ result: Buffer; attempts: number }>('SELECT result, attempts FROM outcomes WHERE handle = $1', [handle]);
  assert.deepEqual(
    outcomes.map((o) => [o.result.toString(), o.attempts]),
    [['from n2', 2]],
  );
  assert.deepEqual(await db.sql('SELECT id FROM jobs'), []);
  assert.deepEqual(await db.sql('SELECT id FROM quarantine'), []);
  const nodes = await db.sql<{ name: string }>('SELECT name FROM nodes ORDER BY name');
  assert.deepEqual(
    nodes.map((n) => n.name),
    ['n2'],
  );
  t.diagnostic(`frozen for ${frozenFor} ms until the job completed on the peer (lease ${LEASE_MS} ms)`);
});

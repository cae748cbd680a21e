// Node leases on the PostgreSQL store: each open() writes the node's row and renews it; a peer rescues
// the jobs of a node whose lease expired (requeued in their places, or taken over with their open
// attempts); the rescued node is fenced: every write it tries fails with LAZ_STORE_FENCED and changes
// nothing. Two adapters on one schema, short leases, and real waiting on the database's clock; node-a
// reaches PostgreSQL through a TCP relay of the test's, which holds its traffic to stand for a frozen or
// partitioned node.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import pino from 'pino';
import { Engine } from '../../src/core/engine.js';
import { PolicyBook } from '../../src/core/policy.js';
import { ErrorCode, isLazaretError, type LazaretError } from '../../src/errors.js';
import type { PostgresStore } from '../../src/storage/postgres/store.js';
import { oneStatement } from '../../src/storage/postgres/write.js';
import type { JobRow, NodeRow } from '../../src/storage/types.js';
import { freshPostgres, TEST_POSTGRES_URL, type FreshPostgres } from '../helpers/postgres.js';
import { waitEvent } from '../helpers/events.js';
import { eventually } from '../helpers/wait.js';
import { batch, end, job, start } from './conformance/harness.js';

function qjob(id: number, over: Partial<JobRow> = {}): JobRow {
  return job(id, { state: 'queued', coalesceKey: null, queuedAt: 1000 + id, ...over });
}

/** A relay to the test PostgreSQL whose traffic can be held (both ways) and let go again. */
interface Relay {
  url: string;
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

async function relay(): Promise<Relay> {
  const target = new URL(TEST_POSTGRES_URL);
  let held = false;
  const flows: { flush: () => void; sockets: net.Socket[] }[] = [];
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    const queued: [net.Socket, Buffer][] = [];
    const forward = (to: net.Socket) => (chunk: Buffer) => {
      if (held) queued.push([to, chunk]);
      else to.write(chunk);
    };
    client.on('data', forward(upstream));
    upstream.on('data', forward(client));
    const closeBoth = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', closeBoth).on('close', closeBoth);
    upstream.on('error', closeBoth).on('close', closeBoth);
    flows.push({
      sockets: [client, upstream],
      flush: () => {
        for (const [to, chunk] of queued.splice(0)) to.write(chunk);
      },
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const url = new URL(TEST_POSTGRES_URL);
  url.host = `127.0.0.1:${port}`;
  return {
    url: url.toString(),
    hold: () => void (held = true),
    release: () => {
      held = false;
      for (const f of flows) f.flush();
    },
    close: async () => {
      for (const f of flows) for (const s of f.sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function two(t: TestContext, leaseMs: number): Promise<{ db: FreshPostgres; a: PostgresStore; b: PostgresStore; fenced: LazaretError[]; link: Relay }> {
  const db = freshPostgres();
  const link = await relay();
  t.after(async () => {
    link.release();
    await db.cleanup();
    await link.close();
  });
  const fenced: LazaretError[] = [];
  const a = db.store({ node: 'node-a', url: link.url, leaseMs, onFenced: (err) => fenced.push(err) });
  // The rescuer's own lease is long: only node-a may expire here.
  const b = db.store({ node: 'node-b', leaseMs: 60_000 });
  await a.open();
  await b.open();
  return { db, a, b, fenced, link };
}

const byName = (rows: readonly NodeRow[], name: string): NodeRow | undefined => rows.find((r) => r.name === name);

describe('postgres store: node leases', () => {
  it('open() writes the lease row with its epoch; renewals extend it and publish the node info; close() removes it', async (t) => {
    const { a, b } = await two(t, 600);
    const info = { gearman: ['127.0.0.1:4730'], http: 'http://127.0.0.1:4731', version: '9.9.9', workers: { resize: 2 }, workersTotal: 2, jobsHeld: 3 };
    a.nodesPublish(() => info);
    const first = byName(await b.nodesList(), 'node-a');
    assert.ok(first !== undefined);
    assert.equal(first.epoch, a.holder.epoch);
    assert.ok(first.expiresAt !== null && first.expiresAt > first.renewedAt);
    const renewed = await eventually(async () => {
      const row = byName(await b.nodesList(), 'node-a');
      return row !== undefined && row.renewedAt > first.renewedAt && row;
    }, 'a renewal of node-a');
    assert.deepEqual(renewed.info, info);
    assert.equal((renewed.expiresAt ?? 0) - renewed.renewedAt, 600);
    assert.equal(renewed.startedAt, first.startedAt);
    assert.ok(renewed.now - renewed.renewedAt < 600);
    assert.deepEqual((await b.nodesRescue(Date.now())).nodes, [], 'a renewed lease is not rescued');
    await a.close();
    assert.deepEqual(
      (await b.nodesList()).map((n) => n.name),
      ['node-b'],
    );
  });

  it('an expired node is rescued: waiting jobs back in their places, running ones taken over with their attempts, the node fenced', async (t) => {
    const { db, a, b, fenced, link } = await two(t, 500);
    await a.write(batch({ insertJobs: [qjob(1), qjob(2), qjob(3), qjob(4), qjob(5, { function: 'later', runAt: Date.now() + 3_600_000, state: 'queued' })] }));
    const held = await a.windowFill('resize', 1, 10);
    assert.deepEqual(
      held.map((j) => j.id),
      [1, 2, 3, 4],
    );
    await a.windowFill('later', 1, 10);
    await a.write(batch({ startAttempts: [start(2, 1)] }));
    await a.write(batch({ startAttempts: [start(3, 1)], endAttempts: [end(3, 1)] }));
    const seqBefore = await db.sql<{ id: string; seq: string }>('SELECT id, seq FROM jobs ORDER BY id');

    // node-a is cut off: its renewals do not arrive, its lease runs out by the database's clock.
    link.hold();
    const rescue = await eventually(async () => {
      const r = await b.nodesRescue(Date.now());
      return r.nodes.length > 0 && r;
    }, 'the rescue of node-a');
    assert.ok((rescue.nodes[0]?.renewedAgoMs ?? 0) >= 500);
    assert.deepEqual(
      rescue.nodes.map((n) => [n.name, n.epoch]),
      [['node-a', a.holder.epoch]],
    );
    assert.equal(rescue.requeued, 4);
    assert.deepEqual(
      rescue.taken.map((x) => [x.node, x.job.id, x.job.attempts.map((at) => [at.n, at.endedAt])]),
      [['node-a', 2, [[1, null]]]],
    );
    const rows = await db.sql<{ id: string; state: string; owner: string | null; epoch: string | null; seq: string }>(
      'SELECT id, state, owner, epoch, seq FROM jobs ORDER BY id',
    );
    assert.deepEqual(
      rows.map((r) => [Number(r.id), r.state, r.owner]),
      [
        [1, 'queued', null],
        [2, 'held', 'node-b'],
        [3, 'queued', null],
        [4, 'queued', null],
        [5, 'scheduled', null],
      ],
    );
    assert.equal(Number(rows[1]?.epoch), b.holder.epoch);
    assert.deepEqual(
      rows.map((r) => r.seq),
      seqBefore.map((r) => r.seq),
      'places in line kept',
    );
    assert.deepEqual(
      (await b.nodesList()).map((n) => n.name),
      ['node-b'],
    );

    // node-a comes back: its writes are refused and change nothing, and it knows it is fenced.
    link.release();
    await assert.rejects(a.write(batch({ endAttempts: [end(2, 1, { outcome: 'completed', error: null })], deleteJobs: [2] })), (err: unknown) => {
      assert.ok(isLazaretError(err, ErrorCode.STORE_FENCED));
      assert.match((err as Error).message, new RegExp(`node-a.*epoch ${a.holder.epoch}`));
      return true;
    });
    assert.equal(fenced.length, 1);
    assert.equal((await b.jobGet(2))?.attempts[0]?.endedAt, null, 'the fenced completion changed nothing');
    await assert.rejects(a.windowFill('resize', 1, 10), (err: unknown) => isLazaretError(err, ErrorCode.STORE_FENCED));
    await assert.rejects(a.jobHoldByKey('resize', 'u-3'), (err: unknown) => isLazaretError(err, ErrorCode.STORE_FENCED));
    await assert.rejects(a.jobGet(1), (err: unknown) => isLazaretError(err, ErrorCode.STORE_FENCED));
    assert.equal(fenced.length, 1, 'onFenced is called once');
    // The rescuer's takes go on.
    assert.deepEqual(
      (await b.windowFill('resize', 1, 10)).map((j) => j.id),
      [1, 3, 4],
    );
  });

  it("a fenced node's usual group commit, one statement without BEGIN, is refused and changes nothing", async (t) => {
    const { a, b, fenced, link } = await two(t, 500);
    await a.write(batch({ insertJobs: [qjob(1)] }));
    await a.windowFill('resize', 1, 10);
    link.hold();
    await eventually(async () => (await b.nodesRescue(Date.now())).nodes.length > 0, 'the rescue of node-a');
    link.release();
    const late = batch({ startAttempts: [start(1, 1)] });
    assert.ok(oneStatement(late, a.holder, 'chan') !== null, 'written as one statement');
    await assert.rejects(a.write(late), (err: unknown) => isLazaretError(err, ErrorCode.STORE_FENCED));
    assert.equal(fenced.length, 1);
    const rescued = await b.jobGet(1);
    assert.equal(rescued?.state, 'queued');
    assert.deepEqual(rescued?.attempts, [], 'no attempt started by the fenced node');
  });

  it("a fenced node's window refill, one statement, is refused and takes nothing", async (t) => {
    const { a, b, fenced, link } = await two(t, 500);
    await b.write(batch({ insertJobs: [qjob(1), qjob(2)] }));
    link.hold();
    await eventually(async () => (await b.nodesRescue(Date.now())).nodes.length > 0, 'the rescue of node-a');
    link.release();
    assert.equal(fenced.length, 0, 'node-a has not heard of it yet');
    await assert.rejects(a.windowFill('resize', 1, 10), (err: unknown) => isLazaretError(err, ErrorCode.STORE_FENCED));
    assert.equal(fenced.length, 1);
    for (const id of [1, 2]) assert.equal((await b.jobGet(id))?.state, 'queued', `job ${id} is still in the shared queue`);
    // An empty pick is refused all the same: the fence runs before any row is read.
    await b.windowFill('resize', 1, 10);
    await assert.rejects(a.windowFill('resize', 1, 10), (err: unknown) => isLazaretError(err, ErrorCode.STORE_FENCED));
  });

  it('a node cut off past its lease learns at its next renewal that it was fenced', async (t) => {
    const { b, fenced, link } = await two(t, 500);
    link.hold();
    await eventually(async () => (await b.nodesRescue(Date.now())).nodes.length > 0, 'the rescue of node-a');
    assert.equal(fenced.length, 0);
    link.release();
    await eventually(() => fenced.length === 1, 'node-a fenced by its renewal');
    assert.equal(fenced[0]?.code, ErrorCode.STORE_FENCED);
  });

  it('held jobs of a node with no lease row at all are rescued too', async (t) => {
    const { db, a, b } = await two(t, 60_000);
    await a.write(batch({ insertJobs: [qjob(1), qjob(2)] }));
    await a.windowFill('resize', 1, 10);
    await db.sql("UPDATE jobs SET owner = 'gone-node'");
    const rescue = await b.nodesRescue(Date.now());
    assert.deepEqual(rescue.nodes, [{ name: 'gone-node', epoch: null, renewedAgoMs: null }]);
    assert.equal(rescue.requeued, 2);
  });
});

describe('engine on a shared store: rescue', () => {
  it("a job whose node died while running it for the third time is quarantined (max_crashes); another's attempt ends crashed and it runs again", async (t) => {
    const { db, a, b, link } = await two(t, 500);
    // node-a ran job 1 twice before, each time dying with it; it now runs its third attempt, and job 2's first.
    await a.write(batch({ insertJobs: [qjob(1), qjob(2)] }));
    await a.windowFill('resize', 1, 10);
    await a.write(
      batch({
        startAttempts: [start(1, 1), start(1, 2), start(1, 3), start(2, 1)],
        endAttempts: [end(1, 1, { outcome: 'crashed' }), end(1, 2, { outcome: 'crashed' })],
      }),
    );
    link.hold();
    const engine = new Engine({
      store: b,
      logger: pino({ level: 'silent' }),
      policies: new PolicyBook([{ match: '*', maxCrashes: 3 }]),
      handlePrefix: 'H:test:',
      limits: { maxPayloadBytes: 1 << 20, maxUniqueBytes: 64, maxQueue: 0 },
      rescueMs: 100,
    });
    t.after(() => engine.close());
    const ended: [number, string, string][] = [];
    engine.on('attempt:ended', (job, attempt) => ended.push([job.id, attempt.outcome ?? '', attempt.error ?? '']));
    const quarantined = waitEvent(engine, 'job:quarantined', undefined, 15_000);
    await engine.start();
    const [entry] = await quarantined;
    assert.equal(entry.id, 1);
    assert.equal(entry.reason, 'max_crashes');
    assert.deepEqual(
      entry.attempts.map((x) => x.outcome),
      ['crashed', 'crashed', 'crashed'],
    );
    assert.match(entry.attempts[2]?.error ?? '', /node node-a that was running the job stopped renewing its lease \(last renewed \d+ ms before the rescue\)/);
    await eventually(() => ended.some(([id]) => id === 2), 'the end of job 2 attempt');
    assert.deepEqual(ended.map(([id, outcome]) => [id, outcome]).sort(), [
      [1, 'crashed'],
      [2, 'crashed'],
    ]);
    // Job 2 waits to run again, with its crash counted; quarantine has job 1 whole.
    await engine.flush();
    const job2 = await eventually(async () => {
      const j = await b.jobGet(2);
      return j !== null && j.attempts[0]?.endedAt !== null && j;
    }, 'job 2 stored with its ended attempt');
    assert.equal(job2.attempts[0]?.outcome, 'crashed');
    assert.notEqual(job2.state, 'held', 'back in the store, for any node (it fits no window here without a worker)');
    assert.equal((await db.sql('SELECT id FROM quarantine WHERE id = 1')).length, 1);
  });
});

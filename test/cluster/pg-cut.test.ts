// PostgreSQL goes away under a running node: a real `lazaret serve` process on a fresh schema reaches
// PostgreSQL through a TCP proxy of the test's own (test/helpers/tcp-proxy.ts).
//
// Cut (connections reset, new ones refused): a background submission gets an ERROR packet (over HTTP a
// 503), never JOB_CREATED; /health turns red naming the store; the worker and the client keep their
// Gearman connections, the worker does not spin on jobs it cannot be given, and the end of the job it
// finishes meanwhile is kept in memory and stored later. Once the proxy lets traffic through again the
// node connects by itself, and every job it acknowledged runs once: none lost.
// The cut lasts until the test has seen all of that (about 5 s, /health's red included), not the 10 s of
// a real outage: nothing in the node counts the outage's length (the store check repeats a good answer
// for 5 s, failed writes are tried again with a backoff capped at 5 s, deliveries pause a second at a
// time), so a longer cut would only make the test slower.
//
// Freeze (nothing goes through, nothing is reset, as when packets are dropped): /health still turns red
// within 10 s, by the store ping's own deadline.
//
// A commit whose answer is lost with the connection: a submission is refused, yet the job is stored, and
// the node must not leave it held and forgotten; a delivery is given back, yet its attempt is stored, and
// the next delivery of the job must not clash with it.

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { freshPostgres } from '../helpers/postgres.js';
import { RawPeer, rawWorker, type Received } from '../helpers/gearman-client.js';
import { serveListening } from '../helpers/serve-process.js';
import { postgresProxy } from '../helpers/tcp-proxy.js';
import { eventually } from '../helpers/wait.js';

const FN = 'pg_cut';

interface Health {
  status: number;
  body: { status: string; checks: { name: string; state: string; reason: string }[] };
}

/** A `lazaret serve` process (HTTP on) on a fresh schema, reaching PostgreSQL through a proxy of the test's own. */
async function nodeBehindProxy(t: TestContext) {
  const db = freshPostgres();
  t.after(() => db.cleanup());
  const { proxy, url } = await postgresProxy(t);
  const node = await serveListening(t, ['--store', url, '--store-schema', db.schema, '--http-port', '0']);
  const http = `http://127.0.0.1:${node.httpPort}`;
  const health = async (): Promise<Health> => {
    const res = await fetch(`${http}/health`);
    return { status: res.status, body: (await res.json()) as Health['body'] };
  };
  const postJob = (payload: string): Promise<Response> =>
    fetch(`${http}/api/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ function: FN, payload }) });
  const client = await RawPeer.connect(node.port);
  client.socket.setNoDelay(true);
  t.after(() => client.close());
  /** Sends a background submission; the answer is awaited separately (a frozen store holds it back). */
  const send = (payload: string): Promise<Received> => {
    client.send('SUBMIT_JOB_BG', FN, '', payload);
    return (async () => {
      for (;;) {
        const r = await client.next(undefined, 60_000);
        if (r.name === 'JOB_CREATED' || r.name === 'ERROR') return r;
      }
    })();
  };
  return {
    db,
    proxy,
    node,
    health,
    postJob,
    client,
    submit: send,
    storeName: `postgres://postgres@127\\.0\\.0\\.1:${proxy.port}/test \\(schema ${db.schema}\\)`,
  };
}

test('PostgreSQL cut away: submissions refused with a clear error, /health red within 10 s, connections kept, full recovery, nothing acknowledged lost', async (t) => {
  const { db, proxy, node, health, postJob, client, submit, storeName } = await nodeBehindProxy(t);

  // The worker runs jobs one at a time; the first ("held") it keeps until the cut has begun.
  const done: string[] = [];
  let holding!: () => void;
  const held = new Promise<void>((resolve) => (holding = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const worker = await rawWorker(node.port, FN, async (payload) => {
    const p = payload.toString();
    if (p === 'held') {
      holding();
      await released;
    }
    done.push(p);
    return Buffer.from(p);
  });
  t.after(() => worker.close());

  const acknowledged: string[] = [];
  const submitAcked = async (payload: string): Promise<void> => {
    const r = await submit(payload);
    assert.equal(r.name, 'JOB_CREATED', `${payload}: ${JSON.stringify(r.text)}`);
    acknowledged.push(payload);
  };
  await submitAcked('held');
  await held;
  // These wait behind the held one: in the node's window and in the store.
  for (let i = 0; i < 20; i++) await submitAcked(`before-${i}`);
  assert.equal((await health()).status, 200);

  // ---- the cut
  const noJob = (): number => worker.received.filter((r) => r.name === 'NO_JOB').length;
  const noJobBefore = noJob();
  const cutAt = Date.now();
  proxy.cut();
  // The worker finishes its job during the cut: the node keeps the end in memory and writes it later.
  release();
  let refused = 0;
  let red: Health | null = null;
  while (red === null || refused < 3) {
    const r = await submit(`during-${refused}`);
    assert.equal(r.name, 'ERROR', `a submission during the cut was acknowledged: ${JSON.stringify(r.text)}`);
    assert.equal(r.text[0], 'QUEUE_ERROR');
    assert.match(r.text[1]!, /PostgreSQL store postgres:\/\/postgres@127\.0\.0\.1:\d+\/test/);
    refused++;
    const res = await postJob(`http-during-${refused}`);
    const answer = await res.text();
    assert.equal(res.status, 503, answer);
    assert.match(answer, /"code":"LAZ_STORE_(UNREACHABLE|CONNECTION_LOST)"/);
    const h = await health();
    if (h.status === 503 && red === null) {
      red = h;
      assert.ok(Date.now() - cutAt < 10_000, `/health turned red ${Date.now() - cutAt} ms after the cut`);
    }
    assert.ok(Date.now() - cutAt < 10_000 || red !== null, '/health still green 10 s after the cut');
  }
  const store = red.body.checks.find((c) => c.name === 'store');
  assert.equal(store?.state, 'fail', JSON.stringify(red.body));
  assert.match(store.reason, new RegExp(storeName));
  assert.equal(worker.closed, false, 'the worker kept its connection');
  assert.equal(client.closed, false, 'the client kept its connection');
  // A delivery the store refused pauses deliveries for a second: the worker does not spin meanwhile.
  const seconds = (Date.now() - cutAt) / 1000;
  assert.ok(noJob() - noJobBefore <= 2 * seconds + 4, `${noJob() - noJobBefore} NO_JOB in ${seconds} s of cut`);

  // ---- restored: the node finds PostgreSQL again by itself.
  proxy.restore();
  let n = 0;
  await eventually(
    async () => (await submit(`after-${n++}`)).name === 'JOB_CREATED' && (acknowledged.push(`after-${n - 1}`), true),
    'a submission to be acknowledged again',
    20_000,
  );
  await eventually(async () => (await health()).status === 200, '/health to be green again', 20_000);
  for (let i = 0; i < 20; i++) await submitAcked(`later-${i}`);
  const res = await postJob('http-later');
  assert.equal(res.status, 201, await res.text());
  acknowledged.push('http-later');

  await eventually(() => acknowledged.every((p) => done.includes(p)), 'every acknowledged job to run', 30_000);
  assert.deepEqual(
    acknowledged.filter((p) => done.filter((d) => d === p).length !== 1),
    [],
    'each acknowledged job ran once',
  );
  assert.equal(done.filter((p) => p.startsWith('during-') || p.startsWith('http-during-')).length, 0, 'no refused submission ran');
  await eventually(async () => (await db.sql<{ n: number }>('SELECT count(*)::int AS n FROM jobs'))[0]?.n === 0, 'the store to hold no job');
  assert.equal(worker.closed, false);
});

test('PostgreSQL gone silent (packets dropped, no reset): /health red within 10 s, the submission made meanwhile answered only once it is stored', async (t) => {
  const { proxy, node, health, client, submit, storeName } = await nodeBehindProxy(t);
  const done: string[] = [];
  const worker = await rawWorker(node.port, FN, (payload) => {
    done.push(payload.toString());
    return payload;
  });
  t.after(() => worker.close());
  assert.equal((await submit('before')).name, 'JOB_CREATED');
  await eventually(() => done.includes('before'), 'the first job to run');
  assert.equal((await health()).status, 200);

  const created = (): number => client.received.filter((r) => r.name === 'JOB_CREATED').length;
  const createdBefore = created();
  const frozenAt = Date.now();
  proxy.freeze();
  const answer = submit('during');
  const red = await eventually(
    async () => {
      const h = await health();
      return h.status === 503 ? h : undefined;
    },
    '/health to turn red',
    10_000,
  );
  assert.ok(Date.now() - frozenAt < 10_000, `/health turned red ${Date.now() - frozenAt} ms after the freeze`);
  const store = red.body.checks.find((c) => c.name === 'store');
  assert.equal(store?.state, 'fail', JSON.stringify(red.body));
  assert.match(store.reason, new RegExp(storeName));
  assert.equal(created(), createdBefore, 'nothing acknowledged while the store is silent');

  proxy.restore();
  // The write held back commits once the network lets it through, and only then is it acknowledged;
  // unless it needed a new connection, whose opening timed out (5 s) meanwhile: then it was refused.
  const r = await answer;
  if (r.name === 'JOB_CREATED') await eventually(() => done.includes('during'), 'the job submitted during the freeze to run', 20_000);
  else assert.equal(r.text[0], 'QUEUE_ERROR', JSON.stringify(r.text));
  await eventually(async () => (await health()).status === 200, '/health to be green again', 20_000);
  assert.equal(worker.closed, false);
  assert.equal(client.closed, false);
});

// A group commit of the usual rows is one named statement, lz_write_ and the parts it holds (write.ts,
// oneStatement()): i for new jobs, s for attempt starts. Its answer comes after the commit.
test('a submission whose commit went through but whose answer was lost with the connection: refused, and the job runs all the same', async (t) => {
  const { db, proxy, node, submit } = await nodeBehindProxy(t);
  proxy.loseAnswersAfter([Buffer.from('lz_write_i')]);
  const answer = submit('answer-lost');
  await eventually(async () => (await db.sql<{ n: number }>('SELECT count(*)::int AS n FROM jobs'))[0]?.n === 1, 'the submission to commit');
  proxy.cut();
  const r = await answer;
  assert.equal(r.name, 'ERROR', 'the submission was not acknowledged');
  assert.equal(r.text[0], 'QUEUE_ERROR');
  proxy.restore();
  const ran: string[] = [];
  const worker = await rawWorker(node.port, FN, (payload) => {
    ran.push(payload.toString());
    return payload;
  });
  t.after(() => worker.close());
  await eventually(() => ran.includes('answer-lost'), 'the stored job to run', 20_000);
  await eventually(async () => (await db.sql<{ n: number }>('SELECT count(*)::int AS n FROM jobs'))[0]?.n === 0, 'the store to hold no job');
});

test("a delivery whose attempt's commit went through but whose answer was lost with the connection: given back, then delivered again", async (t) => {
  const { db, proxy, node, submit } = await nodeBehindProxy(t);
  assert.equal((await submit('start-lost')).name, 'JOB_CREATED');
  proxy.loseAnswersAfter([Buffer.from('lz_write_s')]);
  const ran: string[] = [];
  const worker = await rawWorker(node.port, FN, (payload) => {
    ran.push(payload.toString());
    return payload;
  });
  t.after(() => worker.close());
  await eventually(async () => (await db.sql<{ n: number }>('SELECT count(*)::int AS n FROM attempts'))[0]?.n === 1, 'the attempt to commit');
  proxy.cut();
  await eventually(() => worker.received.some((r) => r.name === 'NO_JOB'), 'the worker to be told NO_JOB', 10_000);
  assert.equal(ran.length, 0, 'not sent: its start was not known to be stored');
  proxy.restore();
  await eventually(() => ran.includes('start-lost'), 'the job to be delivered again and run', 20_000);
  await eventually(async () => (await db.sql<{ n: number }>('SELECT count(*)::int AS n FROM jobs'))[0]?.n === 0, 'the store to hold no job');
});

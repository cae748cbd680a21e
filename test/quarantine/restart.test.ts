// Budgets and deadlines hold across a kill -9 and a restart. The server is the real
// `lazaret serve` process; the test follows its JSON log to know what it has done.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { RawPeer } from '../helpers/gearman-client.js';
import { peerFor, serverFor, startTestServer } from '../helpers/server.js';
import { crash, crashingWorker, grab, grabNothing, jobIdOf, jsonLine, startChild, submitBg, type Child } from './helpers.js';
import { waitEvent } from '../helpers/events.js';

interface Node {
  child: Child;
  gearmanPort: number;
  httpPort: number;
  /** Resolves with the first log record (seen or to come) that satisfies pred. */
  waitLog(pred: (r: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>>;
}

async function startNode(t: TestContext, db: string, config: string): Promise<Node> {
  const child = startChild(t, process.execPath, [
    '--import',
    'tsx',
    'src/cli/main.ts',
    'serve',
    '--port',
    '0',
    '--http-port',
    '0',
    '--db',
    db,
    '--config',
    config,
  ]);
  const waitLog = async (pred: (r: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, unknown>> =>
    jsonLine(
      await child.waitLine(
        (line) => {
          const r = jsonLine(line);
          return r !== null && pred(r);
        },
        what,
        timeoutMs,
      ),
    )!;
  // Started through tsx, which compiles the server first: slow on a loaded machine.
  const listening = await waitLog((r) => typeof r.gearman === 'string', 'the "listening" log line', 60_000);
  const port = (addr: unknown): number => Number(String(addr).slice(String(addr).lastIndexOf(':') + 1));
  return { child, gearmanPort: port(listening.gearman), httpPort: port(listening.http), waitLog };
}

interface ApiEntry {
  reason: string;
  attemptList: { n: number; outcome: string; worker: string; error: string }[];
}

async function quarantined(node: Node, id: number): Promise<ApiEntry> {
  const res = await fetch(`http://127.0.0.1:${node.httpPort}/api/quarantine/${id}`);
  assert.equal(res.status, 200, `job ${id} is in quarantine`);
  return (await res.json()) as ApiEntry;
}

test('budgets and deadlines survive kill -9: crashes keep counting, a running job is charged, an expired job never runs', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lazaret-restart-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const db = join(dir, 'lazaret.db');
  const config = join(dir, 'lazaret.json');
  const TTL = 300;
  await writeFile(
    config,
    JSON.stringify({
      policies: [
        { match: '*', backoff: { type: 'fixed', base: 20, cap: 20, jitter: false } },
        { match: 'held', maxCrashes: 2 },
        { match: 'brief', ttl: TTL },
      ],
    }),
  );

  // ---- first life
  const first = await startNode(t, db, config);
  const client = await RawPeer.connect(first.gearmanPort);
  const crashy = await submitBg(client, 'crashy', 'segv', 'crashy-1');
  const held = await submitBg(client, 'held', 'long work', 'held-1');
  for (let n = 1; n <= 2; n++) {
    const w = await RawPeer.connect(first.gearmanPort);
    w.send('SET_CLIENT_ID', `crasher-${n}`);
    w.send('CAN_DO', 'crashy');
    assert.equal((await grab(w)).text[0], crashy);
    crash(w);
    await first.waitLog((r) => r.handle === crashy && r.crashes === n, `crash ${n} of ${crashy} in the log`);
  }
  const holder = await RawPeer.connect(first.gearmanPort);
  holder.send('SET_CLIENT_ID', 'holder');
  holder.send('CAN_DO', 'held');
  assert.equal((await grab(holder)).text[0], held, 'its attempt is stored before the job is sent');
  // Acknowledged after its commit, which also carries every change staged before it (the second crash).
  const brief = await submitBg(client, 'brief', 'send within 300 ms', 'brief-1');
  const briefDeadline = Date.now() + TTL;

  first.child.proc.kill('SIGKILL');
  assert.equal((await first.child.exited).signal, 'SIGKILL');
  client.close();
  holder.close();
  // The point of the test is a deadline that passes while no server runs: wait for that instant.
  const left = briefDeadline - Date.now();
  if (left > 0) await delay(left + 5);

  // ---- second life, same store
  const second = await startNode(t, db, config);
  const loaded = await second.waitLog((r) => r.msg === 'store opened', 'the "store opened" log line');
  assert.equal(loaded.interrupted, 1, 'one job was running when the server died');

  const expired = await quarantined(second, jobIdOf(brief));
  assert.equal(expired.reason, 'expired');
  assert.deepEqual(expired.attemptList, [], 'the expired job never ran');
  const late = await RawPeer.connect(second.gearmanPort);
  t.after(() => late.close());
  late.send('CAN_DO', 'brief');
  await grabNothing(late);

  // The job that was running when the server died has a crashed attempt: one crash of its two.
  const w2 = await RawPeer.connect(second.gearmanPort);
  w2.send('SET_CLIENT_ID', 'holder-2');
  w2.send('CAN_DO', 'held');
  assert.equal((await grab(w2)).text[0], held);
  crash(w2);
  await second.waitLog((r) => r.handle === held && typeof r.msg === 'string' && r.msg.startsWith('job quarantined'), `${held} quarantined`);
  const heldEntry = await quarantined(second, jobIdOf(held));
  assert.equal(heldEntry.reason, 'max_crashes', 'the interrupted delivery counted against the crash budget');
  assert.deepEqual(
    heldEntry.attemptList.map((a) => [a.n, a.outcome, a.worker]),
    [
      [1, 'crashed', 'holder'],
      [2, 'crashed', 'holder-2'],
    ],
  );
  assert.match(heldEntry.attemptList[0]!.error, /server stopped/);

  // Two crashes before the restart + one after = maxCrashes (3), not a fresh budget.
  const w3 = await RawPeer.connect(second.gearmanPort);
  w3.send('SET_CLIENT_ID', 'crasher-3');
  w3.send('CAN_DO', 'crashy');
  assert.equal((await grab(w3)).text[0], crashy);
  crash(w3);
  await second.waitLog((r) => r.handle === crashy && typeof r.msg === 'string' && r.msg.startsWith('job quarantined'), `${crashy} quarantined`);
  const crashyEntry = await quarantined(second, jobIdOf(crashy));
  assert.equal(crashyEntry.reason, 'max_crashes');
  assert.deepEqual(
    crashyEntry.attemptList.map((a) => [a.n, a.outcome, a.worker]),
    [1, 2, 3].map((n) => [n, 'crashed', `crasher-${n}`]),
  );

  second.child.proc.kill('SIGTERM');
  assert.deepEqual(await second.child.exited, { code: 0, signal: null }, 'a graceful stop after all that');
});

test('a graceful restart gives a running job back without charging its crash budget', async (t) => {
  const first = await startTestServer({ policies: [{ match: '*', maxCrashes: 1, backoff: { type: 'fixed', base: 0, cap: 0, jitter: false } }] });
  t.after(() => first.dispose());
  const worker = await crashingWorker(t, first.gearmanPort, 'resize');
  const client = await peerFor(t, first.gearmanPort);
  const handle = await submitBg(client, 'resize', 'img');
  assert.equal((await grab(worker)).text[0], handle);
  await first.stop({ graceMs: 0 });

  const second = await serverFor(t, { policies: first.config.policies }, { dbPath: first.dbPath });
  const w2 = await peerFor(t, second.gearmanPort);
  w2.send('CAN_DO', 'resize');
  assert.equal((await grab(w2)).text[0], handle);
  // One crash is the whole budget here: had the shutdown been charged, this would quarantine the job.
  const retried = waitEvent(second.engine, 'job:retry', (job) => job.handle === handle);
  w2.send('WORK_FAIL', handle);
  const [job] = await retried;
  assert.equal(job.crashes, 0);
  assert.deepEqual(
    job.history.map((a) => a.outcome),
    ['returned', 'failed'],
    'the shutdown is on record, as not charged',
  );
});

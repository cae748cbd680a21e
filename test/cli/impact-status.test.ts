// `lazaret impact` and `lazaret status`, the built command against a running server whose jobs
// waited, failed, expired and were quarantined for known users (tags from a payload rule); status's
// line about the store and its nodes, against three nodes of one PostgreSQL store.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import type { RawPeer } from '../helpers/gearman-client.js';
import { waitEvent } from '../helpers/events.js';
import { api, httpServer } from '../http/helpers.js';
import { runCli, type CliResult } from './run-cli.js';
import { statusTable } from '../../src/cli/commands/status.js';
import { peerFor } from '../helpers/server.js';
import { threeNodes } from '../cluster/nodes.js';
import type { NodeListAnswer } from '../../src/http/schemas.js';
import { migrationsDir, readMigrations } from '../../src/storage/postgres/migrate.js';

const MIN = 60_000;

interface Row {
  tag: string;
  jobs: number;
  waitedTooLong: number;
  failed: number;
  expired: number;
  quarantined: number;
  worstWaitMs: number;
}

function ok(r: CliResult, what: string): string {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stderr}`);
  return r.stdout;
}

test('impact lists the users whose jobs waited too long, failed, expired or were quarantined; status shows every function', async (t) => {
  const clock = new ManualClock(Date.now());
  const server = await httpServer(
    t,
    {
      tags: [{ function: 'report.*', fromPayload: ['user_id'] }],
      policies: [
        { match: 'report.*', maxAttempts: 1 },
        { match: 'report.c', ttl: MIN },
      ],
    },
    clock,
  );
  const client = await peerFor(t, server.gearmanPort);
  const submit = async (fn: string, user: number, type = 'SUBMIT_JOB_BG' as const): Promise<string> =>
    (await client.request(type, [fn, '', JSON.stringify({ user_id: user })], 'JOB_CREATED')).text[0]!;
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'report.a');
  const answer = async (w: RawPeer, how: 'WORK_COMPLETE' | 'WORK_FAIL'): Promise<void> => {
    const a = await w.request('GRAB_JOB', [], 'JOB_ASSIGN');
    const finished = waitEvent(server.engine, 'job:finished', (o) => o.handle === a.text[0]);
    if (how === 'WORK_COMPLETE') w.send(how, a.text[0]!, 'ok');
    else w.send(how, a.text[0]!);
    await finished;
  };

  await submit('report.b', 5); // nobody serves report.b: still queued at the end
  await submit('report.a', 1);
  clock.advance(10 * MIN);
  await answer(worker, 'WORK_COMPLETE'); // user 1 waited 10 minutes
  await submit('report.a', 4);
  await answer(worker, 'WORK_COMPLETE'); // user 4 did fine
  await submit('report.a', 2);
  await answer(worker, 'WORK_FAIL'); // user 2: quarantined (maxAttempts 1)
  const expired = waitEvent(server.engine, 'job:finished', (o) => o.state === 'expired');
  await submit('report.c', 3);
  clock.advance(2 * MIN); // user 3: deadline after 1 minute, never ran
  await expired;
  // user 6: a foreground job whose worker failed it; its client is told, the failure is recorded.
  client.send('SUBMIT_JOB', 'report.a', '', JSON.stringify({ user_id: 6 }));
  await client.next('JOB_CREATED');
  await answer(worker, 'WORK_FAIL');
  await client.next('WORK_FAIL');
  await server.engine.flush();

  const env = { LAZARET_URL: server.url };
  const report = JSON.parse(
    ok(await runCli(['impact', '--since', '1h', '--waited-longer-than', '5m', '--by', 'user_id', '--json'], { env, dist: true }), 'impact --json'),
  ) as { rows: Row[] };
  assert.deepEqual(
    report.rows.map((r) => r.tag),
    ['user_id:5', 'user_id:1', 'user_id:3', 'user_id:2', 'user_id:6'],
    'worst first; user 4 is not listed',
  );
  const byTag = Object.fromEntries(report.rows.map((r) => [r.tag, r]));
  assert.deepEqual(byTag['user_id:5'], { tag: 'user_id:5', jobs: 1, waitedTooLong: 1, failed: 0, expired: 0, quarantined: 0, worstWaitMs: 12 * MIN });
  assert.deepEqual(byTag['user_id:1'], { tag: 'user_id:1', jobs: 1, waitedTooLong: 1, failed: 0, expired: 0, quarantined: 0, worstWaitMs: 10 * MIN });
  assert.deepEqual(byTag['user_id:3'], { tag: 'user_id:3', jobs: 1, waitedTooLong: 0, failed: 0, expired: 1, quarantined: 0, worstWaitMs: MIN });
  assert.equal(byTag['user_id:2']?.quarantined, 1);
  assert.equal(byTag['user_id:6']?.failed, 1);

  const csv = ok(await runCli(['impact', '--since', '1h', '--by', 'user_id', '--csv'], { env, dist: true }), 'impact --csv')
    .trim()
    .split('\n');
  assert.equal(csv[0], 'tag,jobs,waitedTooLong,failed,expired,quarantined,worstWaitMs');
  assert.equal(csv[1], `user_id:5,1,1,0,0,0,${12 * MIN}`);
  assert.equal(csv.length, 6);

  const human = ok(await runCli(['impact', '--since', '1h', '--by', 'user_id'], { env, dist: true }), 'impact');
  assert.match(human, /user_id:5\s+1\s+1\s+0\s+0\s+0\s+12m00s/);
  const stricter = await api<{ rows: Row[] }>(server.url, 'GET', '/api/impact?since=1h&waitedLongerThan=11m&by=user_id');
  assert.deepEqual(
    stricter.body.rows.map((r) => r.tag),
    ['user_id:5', 'user_id:3', 'user_id:2', 'user_id:6'],
    'a 10-minute wait is fine under an 11-minute bar',
  );

  const status = JSON.parse(ok(await runCli(['status', '--json'], { env, dist: true }), 'status --json')) as {
    functions: {
      name: string;
      queued: { total: number; normal: number };
      workers: number;
      quarantined: number;
      oldestQueuedMs: number | null;
      rates: { completedPerMin: number };
    }[];
  };
  const fns = Object.fromEntries(status.functions.map((f) => [f.name, f]));
  assert.deepEqual(Object.keys(fns), ['report.a', 'report.b', 'report.c']);
  assert.deepEqual([fns['report.b']!.queued.normal, fns['report.b']!.workers, fns['report.b']!.oldestQueuedMs], [1, 0, 12 * MIN]);
  assert.deepEqual([fns['report.a']!.workers, fns['report.a']!.quarantined], [1, 1]);
  assert.equal(fns['report.c']!.quarantined, 1);
  const table = ok(await runCli(['status'], { env, dist: true }), 'status');
  assert.match(table, /^FUNCTION\s+HIGH\s+NORMAL\s+LOW/m);
  assert.match(table, /^store sqlite:\S+, schema version \d+, 1 node: \S+ \(this one\)$/m, 'a SQLite node is alone in its store');
  assert.match(table, /^report\.b \(!\)\s+0\s+1\s+0\s+0\s+0\s+0\s+12m00s/m, 'queued work with no worker is flagged');
});

test('status names the store, its schema version and its nodes above the table; --json has them too', async (t) => {
  const { a } = await threeNodes(t);
  const env = { LAZARET_URL: a.url };
  const schemaVersion = Math.max(...readMigrations(migrationsDir()).map((m) => m.version));
  const lines = ok(await runCli(['status'], { env, dist: true }), 'status').split('\n');
  assert.match(lines[0]!, /^lazaret status at /);
  assert.equal(lines[1], `store ${a.engine.store.describe()}, schema version ${schemaVersion}, 3 nodes: a (this one), b, c (lease expired)`);
  const json = JSON.parse(ok(await runCli(['status', '--json'], { env, dist: true }), 'status --json')) as NodeListAnswer & { functions: unknown[] };
  assert.deepEqual([json.store, json.schemaVersion, json.functions], [a.engine.store.describe(), schemaVersion, []]);
  assert.deepEqual(
    json.nodes.map((n) => [n.name, n.self, n.expired]),
    [
      ['a', true, false],
      ['b', false, false],
      ['c', false, true],
    ],
  );
});

test('status --watch redraws in place until interrupted', async (t) => {
  const server = await httpServer(t);
  await api(server.url, 'POST', '/api/jobs', { function: 'thumbs' });
  const { spawn } = await import('node:child_process');
  const proc = spawn(process.execPath, ['dist/cli/main.js', 'status', '--watch', '--server', server.url], { cwd: new URL('../../', import.meta.url).pathname });
  t.after(() => proc.kill('SIGKILL'));
  let out = '';
  await new Promise<void>((resolve, reject) => {
    proc.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      // Two frames: the first, and the redraw 2 s later.
      if (out.split('\x1b[H\x1b[2J').length > 2) resolve();
    });
    proc.on('close', () => reject(new Error(`status --watch ended early: ${out}`)));
  });
  const exited = new Promise<number | null>((resolve) => proc.on('close', resolve));
  proc.kill('SIGINT');
  assert.equal(await exited, 0);
  assert.match(out, /thumbs \(!\)/);
});

test('status table: stuck workers are shown beside the ones that can work, and all-stuck is flagged', () => {
  const row = (name: string, workers: number, stuckWorkers: number) => ({
    name,
    queued: { high: 0, normal: 3, low: 0, total: 3 },
    scheduled: 0,
    running: 0,
    workers,
    stuckWorkers,
    oldestQueuedMs: 90_000,
    quarantined: 0,
    rates: { submittedPerMin: 0, completedPerMin: 0, failedPerMin: 0 },
  });
  const table = statusTable([row('resize', 0, 2), row('mail', 1, 0)], null, new Date(0));
  assert.match(table, /^resize \(!\)\s+0\s+3\s+0\s+0\s+0\s+0 \+2 stuck\s+1m30s/m);
  assert.match(table, /^mail\s+0\s+3\s+0\s+0\s+0\s+1\s+1m30s/m);
  assert.match(table, /\(!\) jobs queued and no worker that can take them \(stuck workers are in a job that timed out\)/);
});

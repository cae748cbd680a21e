// `lazaret dlq list|show|requeue|edit|purge`, end to end. The real CLI runs as a child process
// against a real server's HTTP API, the way an operator uses it; the server runs in this process so the
// test can wait on its engine events.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyBatch, type QuarantineRow } from '../../src/storage/types.js';
import { rawWorker, type RawPeer } from '../helpers/gearman-client.js';
import type { TestServer } from '../helpers/server.js';
import { crash, crashingWorker, grab, jobIdOf, submitBg } from '../quarantine/helpers.js';
import { runCli, type CliResult } from './run-cli.js';
import { peerFor, serverFor } from '../helpers/server.js';
import { waitEvent } from '../helpers/events.js';

interface ListEntry {
  id: number;
  handle: string;
  function: string;
  unique: string;
  reason: string;
  attempts: number;
  quarantinedAt: string;
}

function ok(r: CliResult, what: string): string {
  assert.equal(r.code, 0, `${what} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

const listJson = (r: CliResult, what: string): ListEntry[] => JSON.parse(ok(r, what)) as ListEntry[];

/** Old entries written straight into the store, for the time filters (the engine only makes new ones). */
function oldEntry(id: number, fn: string): QuarantineRow {
  const at = Date.UTC(2020, 0, 1);
  return {
    id,
    handle: `H:old:${id}`,
    tags: [],
    function: fn,
    unique: `old-${id}`,
    payload: Buffer.from('old'),
    priority: 1,
    submittedAt: at,
    deadline: at + 1000,
    reason: 'expired',
    detail: 'deadline passed before it could run',
    quarantinedAt: at,
    attempts: [],
  };
}

/** A worker for `img`: payloads starting with "bad" fail (WORK_FAIL), the rest complete. */
async function imgWorker(t: TestContext, server: TestServer, received: string[]): Promise<RawPeer> {
  const w = await rawWorker(server.gearmanPort, 'img', (payload, peer, handle) => {
    received.push(payload.toString());
    if (payload.toString().startsWith('bad')) {
      peer.send('WORK_FAIL', handle);
      return null;
    }
    return Buffer.from(`ok:${payload.toString()}`);
  });
  t.after(() => w.close());
  return w;
}

test('dlq list, show, requeue, edit and purge against a running server', async (t) => {
  const server = await serverFor(t, {
    httpPort: 0,
    policies: [
      { match: '*', maxAttempts: 1, backoff: { type: 'fixed', base: 5, cap: 5, jitter: false } },
      { match: 'mail', maxCrashes: 1 },
    ],
  });
  const url = `http://127.0.0.1:${server.httpPort}`;
  const cli = (...args: string[]): Promise<CliResult> => runCli([...args, '--server', url]);
  const client = await peerFor(t, server.gearmanPort);
  const received: string[] = [];
  await imgWorker(t, server, received);

  // Three real quarantines: two img jobs that fail, one mail job that kills its worker.
  const quarantine = async (submit: () => Promise<string>): Promise<string> => {
    const seen = waitEvent(server.engine, 'job:quarantined');
    const handle = await submit();
    const [entry] = await seen;
    assert.equal(entry.handle, handle);
    return handle;
  };
  const bad1 = await quarantine(() => submitBg(client, 'img', 'bad-1', 'img-1'));
  const bad2 = await quarantine(() => submitBg(client, 'img', 'bad-2', 'img-2'));
  const mail = await quarantine(async () => {
    const h = await submitBg(client, 'mail', 'hello', 'mail-1');
    const w = await crashingWorker(t, server.gearmanPort, 'mail', 'mailer-1');
    await grab(w);
    crash(w);
    return h;
  });
  await server.engine.store.write({ ...emptyBatch(), quarantine: [oldEntry(1_000_001, 'legacy'), oldEntry(1_000_002, 'legacy')] });

  // ---- list (table and JSON, with filters) and show: read-only, so run side by side
  const [table, json, byFunction, byReason, recent, since2019, show] = await Promise.all([
    cli('dlq', 'list'),
    cli('dlq', 'list', '--json'),
    cli('dlq', 'list', '--function', 'img', '--json'),
    cli('dlq', 'list', '--reason', 'max_crashes', '--json'),
    cli('dlq', 'list', '--since', '1h', '--json'),
    cli('dlq', 'list', '--since', '2019-12-31T00:00:00Z', '--json'),
    cli('dlq', 'show', String(jobIdOf(mail))),
  ]);
  const lines = ok(table, 'dlq list').trimEnd().split('\n');
  assert.match(lines[0]!, /^ID\s+FUNCTION\s+UNIQUE\s+REASON\s+ATTEMPTS\s+QUARANTINED\s+DETAIL$/);
  assert.equal(lines.length, 6, table.stdout);
  assert.match(lines[1]!, /^1000002\s+legacy\s+old-1000002\s+expired\s+0\s+/);
  const mailLine = lines.find((l) => l.startsWith(`${jobIdOf(mail)} `));
  assert.match(mailLine ?? '', /\smail\s+mail-1\s+max_crashes\s+1\s+\d+s ago\s+1 attempts, 1 crashed/);

  const all = listJson(json, 'dlq list --json');
  assert.deepEqual(
    all.map((e) => e.id),
    [1_000_002, 1_000_001, jobIdOf(mail), jobIdOf(bad2), jobIdOf(bad1)],
    'newest first',
  );
  const first = all.find((e) => e.handle === bad1)!;
  assert.deepEqual(
    { id: first.id, function: first.function, unique: first.unique, reason: first.reason, attempts: first.attempts },
    { id: jobIdOf(bad1), function: 'img', unique: 'img-1', reason: 'max_attempts', attempts: 1 },
  );
  assert.ok(Math.abs(Date.parse(first.quarantinedAt) - Date.now()) < 60_000, `quarantinedAt is an ISO time: ${first.quarantinedAt}`);
  assert.deepEqual(
    listJson(byFunction, '--function').map((e) => e.handle),
    [bad2, bad1],
  );
  assert.deepEqual(
    listJson(byReason, '--reason').map((e) => e.handle),
    [mail],
  );
  assert.deepEqual(
    listJson(recent, '--since 1h').map((e) => e.handle),
    [mail, bad2, bad1],
  );
  assert.equal(listJson(since2019, '--since ISO').length, 5);

  // show: the job, a payload preview, every attempt
  const shown = ok(show, 'dlq show');
  assert.match(shown, /^function:\s+mail$/m);
  assert.match(shown, /^unique:\s+mail-1$/m);
  assert.match(shown, /^reason:\s+max_crashes$/m);
  assert.match(shown, /^payload:\s+5 bytes\n {2}"hello"$/m);
  assert.match(shown, /^attempts:\s+1$/m);
  assert.match(shown, /^1\s+mailer-1\s+\S+\s+\S+\s+crashed\s+worker mailer-1 disconnected while running the job$/m);

  // ---- requeue ID (the job comes back and completes), edit ID --payload-file F (the worker gets the
  // fixed payload, and the job completes), purge ID, purge --older-than T: each touches its own entries
  const dir = await mkdtemp(join(tmpdir(), 'lazaret-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const fixed = join(dir, 'fixed.json');
  await writeFile(fixed, '{"width":640}');
  // Listening from here, across four CLI processes starting at once: on a loaded machine that alone
  // can take longer than the default wait.
  const mailDone = waitEvent(server.engine, 'job:completed', (job) => job.handle === mail, 60_000);
  const bad1Done = waitEvent(server.engine, 'job:completed', (job) => job.handle === bad1, 60_000);
  const [requeueOut, editOut, purgeOne, purgeOld] = await Promise.all([
    cli('dlq', 'requeue', String(jobIdOf(mail))),
    cli('dlq', 'edit', String(jobIdOf(bad1)), '--payload-file', fixed),
    cli('dlq', 'purge', String(jobIdOf(bad2))),
    cli('dlq', 'purge', '--older-than', '30d'),
  ]);
  assert.match(ok(requeueOut, 'dlq requeue'), new RegExp(`^requeued 1 job: ${jobIdOf(mail)} \\(${mail}\\)$`, 'm'));
  assert.match(ok(editOut, 'dlq edit'), /^payload of \d+ replaced \(13 bytes\); requeued as H:test:\d+$/m);
  assert.equal(ok(purgeOne, 'dlq purge ID'), 'purged 1 quarantined job\n');
  assert.equal(ok(purgeOld, 'dlq purge --older-than 30d'), 'purged 2 quarantined jobs\n', 'only the entries from 2020');
  const mailWorker = await rawWorker(server.gearmanPort, 'mail', () => Buffer.from('sent'));
  t.after(() => mailWorker.close());
  const [[mailJob], [bad1Job]] = await Promise.all([mailDone, bad1Done]);
  assert.deepEqual(
    mailJob.history.map((a) => a.outcome),
    ['completed'],
    'a fresh budget',
  );
  assert.equal(bad1Job.payload.toString(), '{"width":640}');
  assert.equal(received.at(-1), '{"width":640}', 'the worker got the fixed payload');
  assert.equal((await server.engine.quarantine.list({}, { limit: 10 })).total, 0);

  // ---- requeue --all: every entry back with a fresh budget (these fail again, once each)
  const again = [await quarantine(() => submitBg(client, 'img', 'bad-3')), await quarantine(() => submitBg(client, 'img', 'bad-4'))];
  const requarantined = [again[0]!, again[1]!].map((h) => waitEvent(server.engine, 'job:quarantined', (e) => e.handle === h));
  const requeued = JSON.parse(ok(await cli('dlq', 'requeue', '--all', '--json'), 'dlq requeue --all')) as { id: number }[];
  assert.deepEqual(requeued.map((j) => j.id).sort(), again.map(jobIdOf).sort());
  for (const [entry] of await Promise.all(requarantined)) assert.equal(entry.attempts.length, 1, 'a fresh budget: one attempt, not two');

  // ---- purge --older-than 0s (everything until now), then --all (whatever is left)
  assert.equal(ok(await cli('dlq', 'purge', '--older-than', '0s'), 'dlq purge --older-than 0s'), 'purged 2 quarantined jobs\n');
  await server.engine.store.write({ ...emptyBatch(), quarantine: [oldEntry(1_000_003, 'legacy')] });
  assert.equal(ok(await cli('dlq', 'purge', '--all', '--json'), 'dlq purge --all'), '{"purged":1}\n');
  assert.equal((await server.engine.quarantine.list({}, { limit: 10 })).total, 0);
  assert.equal(server.engine.jobCount, 0);
});

test('dlq errors: unknown ids, a purge that names nothing, a server that is down, a bad time', async (t) => {
  const server = await serverFor(t, { httpPort: 0 });
  const url = `http://127.0.0.1:${server.httpPort}`;
  // A port nothing listens on: bind one, then let it go.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const closedPort = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));

  const [show, requeue, purge, down, badTime] = await Promise.all([
    runCli(['dlq', 'show', '424242', '--server', url]),
    runCli(['dlq', 'requeue', '424242', '--server', url]),
    runCli(['dlq', 'purge', '--server', url]),
    runCli(['dlq', 'list'], { env: { LAZARET_URL: `http://127.0.0.1:${closedPort}` } }),
    runCli(['dlq', 'list', '--since', 'yesterday-ish', '--server', url]),
  ]);
  assert.notEqual(show.code, 0);
  assert.match(show.stderr, /^lazaret: No quarantined job with id 424242 \(HTTP 404\)\nhint: lazaret dlq list shows the ids\n$/);
  assert.equal(requeue.code, 1);
  assert.match(requeue.stderr, /not found in quarantine: 424242/);
  assert.notEqual(purge.code, 0, 'a purge that names nothing is refused');
  assert.match(purge.stderr, /Name ids to purge, or --older-than T, or --all/);
  assert.equal(down.code, 2, 'exit code 2 when the server is unreachable');
  assert.match(down.stderr, new RegExp(`^lazaret: Cannot reach the Lazaret server at http://127\\.0\\.0\\.1:${closedPort}`));
  assert.match(down.stderr, /hint: is `lazaret serve` running\?/);
  assert.doesNotMatch(down.stderr, /\n\s+at /, 'no stack trace');
  assert.notEqual(badTime.code, 0);
  assert.match(badTime.stderr, /"yesterday-ish" is neither a duration such as 2h or 7d nor an ISO time/);
  assert.doesNotMatch(badTime.stderr, /\n\s+at /, 'no stack trace');
});

// A non-loopback client cannot be made on one host without leaving loopback; the 401 path for remote
// peers is covered in test/quarantine/api.test.ts through fastify's inject with a remote address.
test('dlq with an admin token: loopback needs none, and a wrong token from loopback is not held against it', async (t) => {
  const server = await serverFor(t, { httpPort: 0, adminToken: 'sekret' });
  const loopback = `http://127.0.0.1:${server.httpPort}`;
  const [plain, wrongLocal, rightEnv] = await Promise.all([
    runCli(['dlq', 'list', '--server', loopback]),
    runCli(['dlq', 'list', '--server', loopback, '--token', 'wrong']),
    runCli(['dlq', 'list'], { env: { LAZARET_URL: loopback, LAZARET_TOKEN: 'sekret' } }),
  ]);
  assert.equal(ok(plain, 'loopback, no token'), 'quarantine is empty\n');
  assert.equal(ok(wrongLocal, 'loopback, wrong token'), 'quarantine is empty\n');
  assert.equal(ok(rightEnv, 'LAZARET_URL and LAZARET_TOKEN'), 'quarantine is empty\n');
});

// A requeue keeps the history: a job fails into quarantine, is requeued through the real CLI and then
// completes; its earlier attempts and the audit entry (when, by whom: loopback, the CLI) are still
// listed by the job API, /api/quarantine/:id/history and `lazaret dlq show`. A purge from the dashboard
// is recorded the same way, with the life it ended. A requeue before a restart keeps the life that
// finishes after it, committed with the job's end (no later write needed).

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { RawPeer, rawWorker } from '../helpers/gearman-client.js';
import { jobIdOf, submitBg } from '../quarantine/helpers.js';
import { api } from '../http/helpers.js';
import { runCli } from './run-cli.js';
import { peerFor, serverFor, startTestServer } from '../helpers/server.js';
import { waitEvent } from '../helpers/events.js';
import { freshSqlite, holdWriteLock } from '../helpers/store.js';

interface Attempt {
  n: number;
  outcome: string;
  worker: string;
}
interface History {
  lives: { life: number; end: string; endedBy: string; attempts: Attempt[] }[];
  audit: { action: string; actor: string; client: string | null; peer: string | null; at: string }[];
}

/** A worker of `img` that fails every job until fix() is called, then completes them with "done". */
async function failsUntilFixed(t: TestContext, port: number): Promise<{ fix(): void }> {
  let fixed = false;
  const worker = await rawWorker(port, 'img', (_payload, peer, handle) => {
    if (fixed) return Buffer.from('done');
    peer.send('WORK_FAIL', handle);
    return null;
  });
  t.after(() => worker.close());
  return { fix: () => void (fixed = true) };
}

test('after a requeue through the CLI and a success, every attempt of both lives and the requeue stay listed', async (t) => {
  const server = await serverFor(t, { httpPort: 0, policies: [{ match: 'img', maxAttempts: 2, backoff: { type: 'fixed', base: 5, cap: 5, jitter: false } }] });
  const url = `http://127.0.0.1:${server.httpPort}`;
  const worker = await failsUntilFixed(t, server.gearmanPort);
  const client = await peerFor(t, server.gearmanPort);

  const quarantined = waitEvent(server.engine, 'job:quarantined');
  const handle = await submitBg(client, 'img', 'photo-1');
  const id = jobIdOf(handle);
  await quarantined;

  worker.fix();
  const completed = waitEvent(server.engine, 'job:finished', (o) => o.id === id && o.state === 'completed');
  const requeue = await runCli(['dlq', 'requeue', String(id), '--server', url], { timeoutMs: 60_000 });
  assert.equal(requeue.code, 0, requeue.stderr);
  await completed;

  const job = await api<History & { state: string; attempts: number }>(url, 'GET', `/api/jobs/${encodeURIComponent(handle)}`);
  assert.equal(job.status, 200);
  assert.equal(job.body.state, 'completed');
  assert.deepEqual(
    job.body.lives.map((l) => [l.life, l.end, l.endedBy, l.attempts.map((a) => [a.n, a.outcome])]),
    [
      [
        1,
        'max_attempts',
        'requeued',
        [
          [1, 'failed'],
          [2, 'failed'],
        ],
      ],
      [2, 'completed', 'finished', [[1, 'completed']]],
    ],
  );
  assert.equal(job.body.audit.length, 1);
  const [entry] = job.body.audit;
  assert.deepEqual([entry!.action, entry!.actor, entry!.client, entry!.peer], ['requeued', 'loopback', 'cli', '127.0.0.1']);
  assert.ok(Date.parse(entry!.at) > 0);

  const history = await api<History & { id: number }>(url, 'GET', `/api/quarantine/${id}/history`);
  assert.equal(history.status, 200);
  assert.deepEqual({ lives: history.body.lives, audit: history.body.audit }, { lives: job.body.lives, audit: job.body.audit });

  const show = await runCli(['dlq', 'show', String(id), '--server', url], { timeoutMs: 60_000 });
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, new RegExp(`id: +${id} \\(no longer in quarantine\\)`));
  assert.match(show.stdout, /life 1: max_attempts \(2 attempts[^\n]*\), ended \S+, then requeued\n#\s+WORKER[^\n]*\n1 [^\n]*failed[^\n]*\n2 [^\n]*failed/);
  assert.match(show.stdout, /life 2: completed, ended \S+, then finished\n#[^\n]*\n1 [^\n]*completed/);
  assert.match(show.stdout, /audit:\nAT +ACTION +BY +CLIENT +PEER\n\S+ +requeued +loopback +cli +127\.0\.0\.1/);
});

test('a purge from the dashboard keeps the life it ended and who purged it; an edit is recorded too', async (t) => {
  const server = await serverFor(t, { httpPort: 0, policies: [{ match: 'img', maxAttempts: 1 }] });
  const url = `http://127.0.0.1:${server.httpPort}`;
  const worker = await rawWorker(server.gearmanPort, 'img', (_payload, peer, handle) => {
    peer.send('WORK_FAIL', handle);
    return null;
  });
  t.after(() => worker.close());
  const client = await peerFor(t, server.gearmanPort);
  const first = waitEvent(server.engine, 'job:quarantined');
  const id = jobIdOf(await submitBg(client, 'img', 'bad-1'));
  await first;

  // Edited (and so requeued) from the dashboard; it fails again and comes back to quarantine.
  const again = waitEvent(server.engine, 'job:quarantined', (e) => e.id === id);
  const edit = await api(url, 'PUT', `/api/quarantine/${id}/payload`, { payload: 'bad-2' }, { 'x-lazaret-client': 'dashboard' });
  assert.equal(edit.status, 200);
  await again;
  const inQuarantine = await api<History & { attemptList: Attempt[] }>(url, 'GET', `/api/quarantine/${id}`);
  assert.deepEqual(
    inQuarantine.body.audit.map((a) => [a.action, a.client]),
    [
      ['edited', 'dashboard'],
      ['requeued', 'dashboard'],
    ],
  );
  assert.deepEqual(
    inQuarantine.body.lives.map((l) => [l.life, l.endedBy, l.attempts.length]),
    [[1, 'requeued', 1]],
  );
  assert.equal(inQuarantine.body.attemptList.length, 1, 'this life');

  const purge = await api(url, 'DELETE', `/api/quarantine/${id}`, undefined, { 'x-lazaret-client': 'dashboard' });
  assert.equal(purge.status, 200);
  const history = await api<History>(url, 'GET', `/api/quarantine/${id}/history`);
  assert.deepEqual(
    history.body.lives.map((l) => [l.life, l.end, l.endedBy, l.attempts.length]),
    [
      [1, 'max_attempts', 'requeued', 1],
      [2, 'max_attempts', 'purged', 1],
    ],
  );
  assert.deepEqual(
    history.body.audit.map((a) => [a.action, a.actor, a.client]),
    [
      ['edited', 'loopback', 'dashboard'],
      ['requeued', 'loopback', 'dashboard'],
      ['purged', 'loopback', 'dashboard'],
    ],
  );

  const none = await api(url, 'GET', '/api/quarantine/999999/history');
  assert.equal(none.status, 404);
});

test('a change made with the admin token is recorded as by token; an odd X-Lazaret-Client is not stored', async (t) => {
  const token = 'an-admin-token-long-enough-for-any-rule-0123456789';
  const server = await serverFor(t, { httpPort: 0, adminToken: token, policies: [{ match: 'img', maxAttempts: 1 }] });
  const url = `http://127.0.0.1:${server.httpPort}`;
  const worker = await rawWorker(server.gearmanPort, 'img', (_payload, peer, handle) => {
    peer.send('WORK_FAIL', handle);
    return null;
  });
  t.after(() => worker.close());
  const client = await peerFor(t, server.gearmanPort);
  const quarantined = waitEvent(server.engine, 'job:quarantined');
  const id = jobIdOf(await submitBg(client, 'img', 'bad'));
  await quarantined;
  const purge = await api(url, 'POST', '/api/quarantine/purge', { ids: [id] }, { authorization: `Bearer ${token}`, 'x-lazaret-client': 'not/a client!' });
  assert.equal(purge.status, 200);
  const history = await api<History>(url, 'GET', `/api/quarantine/${id}/history`);
  assert.deepEqual(
    history.body.audit.map((a) => [a.action, a.actor, a.client]),
    [['purged', 'token', null]],
  );
});

test('a job requeued before a restart keeps the attempts of the life it finishes after it', async (t) => {
  const file = await freshSqlite();
  t.after(file.cleanup);
  const policies = [{ match: 'img', maxAttempts: 1 }];
  const first = await startTestServer({ httpPort: 0, policies }, { dbPath: file.path });
  let url = `http://127.0.0.1:${first.httpPort}`;
  const failing = await rawWorker(first.gearmanPort, 'img', (_payload, peer, handle) => {
    peer.send('WORK_FAIL', handle);
    return null;
  });
  const client = await RawPeer.connect(first.gearmanPort);
  const quarantined = waitEvent(first.engine, 'job:quarantined');
  const handle = await submitBg(client, 'img', 'photo-2');
  const id = jobIdOf(handle);
  await quarantined;
  failing.close();
  client.close();
  // Requeued with no worker left: the job is stored, queued, when the node stops.
  assert.equal((await api(url, 'POST', '/api/quarantine/requeue', { ids: [id] })).status, 200);
  await first.dispose();

  const second = await serverFor(t, { httpPort: 0, policies }, { dbPath: file.path });
  url = `http://127.0.0.1:${second.httpPort}`;
  const completed = waitEvent(second.engine, 'job:finished', (o) => o.id === id && o.state === 'completed');
  const worker = await rawWorker(second.gearmanPort, 'img', () => Buffer.from('done'));
  t.after(() => worker.close());
  await completed;
  // The last life is committed with the job's end, which the event follows: it is there at once.
  const job = await api<History>(url, 'GET', `/api/jobs/${encodeURIComponent(handle)}`);
  assert.deepEqual(
    job.body.lives.map((l) => [l.life, l.end, l.endedBy, l.attempts.map((a) => [a.n, a.outcome])]),
    [
      [1, 'max_attempts', 'requeued', [[1, 'failed']]],
      [2, 'completed', 'finished', [[1, 'completed']]],
    ],
  );
});

test("a requeued job's last life is committed with its end: no later write is needed to keep it", async (t) => {
  const server = await serverFor(t, { policies: [{ match: 'img', maxAttempts: 1 }] });
  const worker = await failsUntilFixed(t, server.gearmanPort);
  const client = await peerFor(t, server.gearmanPort);
  const quarantined = waitEvent(server.engine, 'job:quarantined');
  const id = jobIdOf(await submitBg(client, 'img', 'photo-3'));
  await quarantined;
  // Another process takes the write lock the moment the job's end has committed, as if the node died
  // then: no write after that commit lands while it holds it.
  let lock: { release(): void } | null = null;
  const completed = new Promise<void>((resolve) => {
    server.engine.on('job:finished', (o) => {
      if (o.id !== id || o.state !== 'completed') return;
      lock = holdWriteLock(server.dbPath, t);
      resolve();
    });
  });
  worker.fix();
  await server.engine.quarantine.requeue({ ids: [id] });
  await completed;
  const history = await server.engine.quarantine.history(id);
  (lock as { release(): void } | null)?.release();
  assert.deepEqual(
    history.map((e) => [e.action, e.life?.end, e.life?.attempts.map((a) => a.outcome)]),
    [
      ['requeued', 'max_attempts', ['failed']],
      ['finished', 'completed', ['completed']],
    ],
  );
});

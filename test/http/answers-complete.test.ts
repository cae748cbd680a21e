// Fastify serialises an answer with its route's response schema and drops every field the schema does
// not list. The quarantine and supervisor answers are read by the dashboard and the CLI through the
// types those schemas produce (http/schemas.ts): here each answer, fetched over a real socket, must
// equal what its handler built, with every optional part present (attempts with evidence, earlier
// lives, the audit trail, a supervisor's exits with their pid, stderr and message).

import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { test } from 'node:test';
import { buildApp } from '../../src/http/server.js';
import { waitEvent } from '../helpers/events.js';
import { peerFor, serverFor } from '../helpers/server.js';
import { FAST_BACKOFF, grab, jobIdOf, submitBg } from '../quarantine/helpers.js';

const EVIDENCE = { exitCode: 139, signal: 'SIGSEGV', stderr: 'boom', errorClass: 'Segfault', message: 'segfault in libvips' };

test('the quarantine and supervisor answers carry every field their handlers build', async (t) => {
  const server = await serverFor(t, { policies: [{ match: '*', maxAttempts: 1, backoff: FAST_BACKOFF }] });
  const app = await buildApp({
    engine: server.engine,
    health: server.health,
    config: server.config,
    log: server.log,
    supervisors: server.supervisors,
    alerts: null,
  });
  // What each handler returned, before the serialiser saw it.
  const built = new Map<string, unknown>();
  app.addHook('preSerialization', async (request, _reply, payload) => {
    built.set(`${request.method} ${request.url}`, JSON.parse(JSON.stringify(payload)));
    return payload;
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => app.close());
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  /** The answer as sent, after checking it equals what the handler built. */
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${base}${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    assert.equal(res.status, 200, `${method} ${path}`);
    const sent = (await res.json()) as T;
    assert.ok(built.has(`${method} ${path}`), `${method} ${path} went through the handler`);
    assert.deepEqual(sent, built.get(`${method} ${path}`), `${method} ${path} answers every field its handler built`);
    return sent;
  };

  const client = await peerFor(t, server.gearmanPort);
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('SET_CLIENT_ID', 'resize-worker');
  worker.send('CAN_DO', 'resize');
  const fail = async (handle: string): Promise<void> => {
    assert.equal((await grab(worker)).text[0], handle);
    const quarantined = waitEvent(server.engine, 'job:quarantined', (e) => e.handle === handle);
    worker.send('WORK_EXCEPTION', handle, `LAZARET-EVIDENCE ${JSON.stringify(EVIDENCE)}`);
    await quarantined;
  };

  // One job quarantined, requeued and quarantined again: its entry has attempts, a life and an audit trail.
  const again = await submitBg(client, 'resize', 'x'.repeat(2000), 'again');
  await fail(again);
  const requeued = await call<{ requeued: { id: number; handle: string; function: string }[] }>('POST', '/api/quarantine/requeue', { ids: [jobIdOf(again)] });
  assert.deepEqual(requeued.requeued, [{ id: jobIdOf(again), handle: again, function: 'resize' }]);
  await fail(again);
  // Another quarantined then purged: only its history answers.
  const gone = await submitBg(client, 'resize', 'y', 'gone');
  await fail(gone);
  assert.deepEqual(await call('DELETE', `/api/quarantine/${jobIdOf(gone)}`), { purged: 1 });

  const list = await call<{ total: number; entries: Record<string, unknown>[]; nextBeforeId: number | null }>('GET', '/api/quarantine?limit=1');
  assert.equal(list.total, 1);
  assert.deepEqual(Object.keys(list.entries[0]!).sort(), [
    'attempts',
    'detail',
    'function',
    'handle',
    'id',
    'payloadBytes',
    'priority',
    'quarantinedAt',
    'reason',
    'submittedAt',
    'unique',
  ]);
  assert.equal(list.nextBeforeId, jobIdOf(again));

  const entry = await call<{
    attemptList: { evidence: unknown }[];
    lives: { attempts: { evidence: unknown }[] }[];
    audit: { action: string }[];
    payloadTruncated: boolean;
  }>('GET', `/api/quarantine/${jobIdOf(again)}`);
  assert.equal(entry.payloadTruncated, true);
  assert.deepEqual(entry.attemptList[0]!.evidence, EVIDENCE);
  assert.equal(entry.lives.length, 1);
  assert.deepEqual(entry.lives[0]!.attempts[0]!.evidence, EVIDENCE);
  assert.deepEqual(
    entry.audit.map((a) => a.action),
    ['requeued'],
  );

  const history = await call<{ id: number; lives: unknown[]; audit: { action: string }[] }>('GET', `/api/quarantine/${jobIdOf(gone)}/history`);
  assert.equal(history.lives.length, 1);
  assert.deepEqual(
    history.audit.map((a) => a.action),
    ['purged'],
  );
  assert.deepEqual(await call('POST', '/api/quarantine/purge', { all: true }), { purged: 1 });

  // A supervisor with every optional field, and one that leaves them out.
  const exit = { at: '2026-01-02T03:04:05.000Z', code: null, signal: 'SIGKILL', pid: 4242, stderr: 'out of memory', message: 'killed: stuck' };
  const program = {
    name: 'resize',
    command: 'node resize.js',
    copies: 2,
    running: 1,
    restarts: 3,
    recycled: 1,
    flapping: false,
    lastExits: [exit],
    pids: [4243],
  };
  const bare = {
    name: 'thumbs',
    command: 'php thumbs.php',
    copies: 1,
    running: 1,
    restarts: 0,
    flapping: true,
    lastExits: [{ at: exit.at, code: 1, signal: null }],
  };
  const put = await fetch(`${base}/api/supervisors/web-1`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ host: hostname(), pid: 77, intervalMs: 1000, programs: [program, bare] }),
  });
  assert.equal(put.status, 200);
  const supervisors = await call<{ supervisors: Record<string, unknown>[] }>('GET', '/api/supervisors');
  const { reportedAt, stale, ...report } = supervisors.supervisors[0]!;
  assert.equal(typeof reportedAt, 'string');
  assert.equal(stale, false);
  assert.deepEqual(report, { id: 'web-1', host: hostname(), pid: 77, intervalMs: 1000, programs: [program, { ...bare, recycled: 0 }] });
});

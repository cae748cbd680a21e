// The /api/quarantine routes — the answers an operator's tools rely on, errors with stable
// codes, and the bearer token that guards the API from beyond loopback (fastify inject stands in for a
// remote peer, which one host cannot be for itself).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApp } from '../../src/http/server.js';
import { FAST_BACKOFF, grab, jobIdOf, submitBg } from './helpers.js';
import type { TestServer } from '../helpers/server.js';
import { peerFor, serverFor } from '../helpers/server.js';
import { waitEvent } from '../helpers/events.js';

interface ErrorBody {
  error: { code: string; message: string; hint: string | null };
}

async function appFor(server: TestServer, adminToken: string | null) {
  const app = await buildApp({
    engine: server.engine,
    health: server.health,
    config: { ...server.config, adminToken },
    log: server.log,
    supervisors: server.supervisors,
    alerts: null,
  });
  return app;
}

test('the API token: loopback is always let in; from elsewhere only with the right bearer token', async (t) => {
  const server = await serverFor(t);
  const guarded = await appFor(server, 'sekret');
  const open = await appFor(server, null);
  t.after(() => Promise.all([guarded.close(), open.close()]));
  const get = (app: typeof guarded, remoteAddress: string, authorization?: string) =>
    app.inject({ method: 'GET', url: '/api/quarantine', remoteAddress, headers: authorization === undefined ? {} : { authorization } });

  assert.equal((await get(guarded, '127.0.0.1')).statusCode, 200);
  assert.equal((await get(guarded, '::1')).statusCode, 200);
  assert.equal((await get(guarded, '127.0.0.1', 'Bearer wrong')).statusCode, 200, 'a wrong token from loopback is still loopback');
  assert.equal((await get(guarded, '203.0.113.9', 'Bearer sekret')).statusCode, 200);

  for (const auth of [undefined, 'Bearer wrong', 'Bearer sekret2', 'sekret', 'Basic c2VrcmV0']) {
    const res = await get(guarded, '203.0.113.9', auth);
    assert.equal(res.statusCode, 401, `remote with ${auth ?? 'no token'}`);
    const body = res.json<ErrorBody>();
    assert.equal(body.error.code, 'LAZ_UNAUTHORIZED');
    assert.match(body.error.hint ?? '', /Bearer/);
  }
  const refused = await get(open, '::ffff:203.0.113.9');
  assert.equal(refused.statusCode, 401, 'without a configured token the API is loopback only');
  assert.match(refused.json<ErrorBody>().error.hint ?? '', /adminToken/);
  // Only /api is guarded: a load balancer may read /health.
  assert.equal((await guarded.inject({ method: 'GET', url: '/health', remoteAddress: '203.0.113.9' })).statusCode, 200);
  // A mutation from beyond loopback is refused the same way.
  const purge = await guarded.inject({ method: 'POST', url: '/api/quarantine/purge', remoteAddress: '203.0.113.9', payload: { all: true } });
  assert.equal(purge.statusCode, 401);
});

test('API answers: list, get, requeue, payload edit, purge, delete — and errors with stable codes', async (t) => {
  const server = await serverFor(t, { policies: [{ match: '*', maxAttempts: 1, backoff: FAST_BACKOFF }] });
  const app = await appFor(server, null);
  t.after(() => app.close());
  const client = await peerFor(t, server.gearmanPort);
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'pdf');
  const handles: string[] = [];
  for (const payload of ['a', 'b', 'c']) {
    const h = await submitBg(client, 'pdf', payload, `pdf-${payload}`);
    assert.equal((await grab(worker)).text[0], h);
    const q = waitEvent(server.engine, 'job:quarantined', (e) => e.handle === h);
    worker.send('WORK_FAIL', h);
    await q;
    handles.push(h);
  }
  const ids = handles.map(jobIdOf);
  const inject = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object | Buffer, contentType?: string) =>
    app.inject({
      method,
      url,
      remoteAddress: '127.0.0.1',
      ...(payload === undefined ? {} : { payload }),
      ...(contentType ? { headers: { 'content-type': contentType } } : {}),
    });

  const list = (await inject('GET', '/api/quarantine?limit=2')).json<{ total: number; entries: { id: number }[]; nextBeforeId: number | null }>();
  assert.equal(list.total, 3);
  assert.deepEqual(
    list.entries.map((e) => e.id),
    [ids[2], ids[1]],
    'newest first',
  );
  assert.equal(list.nextBeforeId, ids[1]);
  const page2 = (await inject('GET', `/api/quarantine?limit=2&beforeId=${list.nextBeforeId}`)).json<{
    entries: { id: number }[];
    nextBeforeId: number | null;
  }>();
  assert.deepEqual(
    page2.entries.map((e) => e.id),
    [ids[0]],
  );
  assert.equal(page2.nextBeforeId, null);

  const one = (await inject('GET', `/api/quarantine/${ids[0]}`)).json<{
    payloadBase64: string;
    payloadPreview: string;
    attemptList: unknown[];
    reason: string;
  }>();
  assert.equal(one.payloadPreview, 'a');
  assert.equal(one.reason, 'max_attempts');
  assert.equal(one.attemptList.length, 1);

  // Errors carry a code, a message and (where it helps) a hint.
  const missing = await inject('GET', '/api/quarantine/999999');
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json<ErrorBody>().error.code, 'LAZ_NOT_FOUND');
  for (const [method, url, body] of [
    ['GET', '/api/quarantine?reason=bogus', undefined],
    // Never produced by any version, so no longer offered (src/domain.ts lists the reasons once).
    ['GET', '/api/quarantine?reason=rejected', undefined],
    ['GET', '/api/quarantine/abc', undefined],
    ['GET', '/api/quarantine?limit=0', undefined],
    ['POST', '/api/quarantine/requeue', {}],
    ['POST', '/api/quarantine/purge', {}],
    ['PUT', `/api/quarantine/${ids[0]}/payload`, { nothing: true }],
  ] as const) {
    const res = await inject(method, url, body);
    assert.equal(res.statusCode, 400, `${method} ${url}`);
    assert.equal(res.json<ErrorBody>().error.code, 'LAZ_BAD_REQUEST');
  }
  assert.equal((await inject('DELETE', '/api/quarantine/999999')).statusCode, 404);

  // Edit as raw bytes: the job comes back with the new payload and the same handle.
  const back = waitEvent(server.engine, 'job:queued', (job) => job.handle === handles[0]);
  const edited = await inject('PUT', `/api/quarantine/${ids[0]}/payload`, Buffer.from('fixed'), 'application/octet-stream');
  assert.equal(edited.statusCode, 200);
  const [job] = await back;
  assert.equal(job.payload.toString(), 'fixed');
  assert.equal((await grab(worker)).text[2], 'fixed');
  const done = waitEvent(server.engine, 'job:completed', (j) => j.handle === handles[0]);
  worker.send('WORK_COMPLETE', handles[0]!, 'ok');
  await done;

  assert.deepEqual((await inject('DELETE', `/api/quarantine/${ids[1]}`)).json(), { purged: 1 });
  assert.deepEqual((await inject('POST', '/api/quarantine/requeue', { ids: [ids[1]] })).json(), { requeued: [] }, 'purged is gone');
  assert.deepEqual((await inject('POST', '/api/quarantine/purge', { all: true })).json(), { purged: 1 });
  assert.equal((await inject('GET', '/api/quarantine')).json<{ total: number }>().total, 0);
});

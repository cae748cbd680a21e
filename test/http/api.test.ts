// The rest of the data API — functions, history, workers, the OpenAPI document, CORS and the
// token — against a running server with real Gearman workers.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { waitEvent } from '../helpers/events.js';
import { api, httpServer } from './helpers.js';
import { peerFor } from '../helpers/server.js';

interface FunctionJson {
  name: string;
  queued: { high: number; normal: number; low: number; total: number };
  scheduled: number;
  running: number;
  workers: number;
  oldestQueuedMs: number | null;
  quarantined: number;
  rates: { submittedPerMin: number; completedPerMin: number; failedPerMin: number };
}

interface WorkerJson {
  id: number;
  name: string;
  address: string;
  functions: string[];
  connectedAt: string;
  job: { handle: string; function: string; startedAt: string; runningMs: number; hung: boolean } | null;
}

test('functions, history and workers: counts, rates, oldest age, the running job and when it is hung', async (t) => {
  const clock = new ManualClock(Date.now());
  const server = await httpServer(t, { policies: [{ match: 'fast', timeout: 60_000 }] }, clock);
  for (const priority of ['high', 'low', 'low']) await api(server.url, 'POST', '/api/jobs', { function: 'slow', priority });
  const fast = await api<{ handle: string }>(server.url, 'POST', '/api/jobs', { function: 'fast' });
  clock.advance(30_000);

  const worker = await peerFor(t, server.gearmanPort);
  worker.send('SET_CLIENT_ID', 'resizer-1');
  worker.send('CAN_DO', 'slow');
  worker.send('CAN_DO', 'fast');
  const a = await worker.request('GRAB_JOB', [], 'JOB_ASSIGN');
  assert.equal(a.text[1], 'slow', 'high priority first');
  const fns = await api<{ functions: FunctionJson[] }>(server.url, 'GET', '/api/functions');
  const slow = fns.body.functions.find((f) => f.name === 'slow')!;
  assert.deepEqual(slow.queued, { high: 0, normal: 0, low: 2, total: 2 });
  assert.deepEqual([slow.running, slow.workers, slow.oldestQueuedMs, slow.quarantined], [1, 1, 30_000, 0]);
  assert.equal(slow.rates.submittedPerMin, 3);

  clock.advance(11 * 60_000);
  let workers = (await api<{ workers: WorkerJson[] }>(server.url, 'GET', '/api/workers')).body.workers;
  assert.equal(workers.length, 1);
  const w = workers[0]!;
  assert.deepEqual([w.name, w.address, w.functions], ['resizer-1', '127.0.0.1', ['slow', 'fast']]);
  assert.equal(w.job?.handle, a.text[0]);
  assert.equal(w.job?.runningMs, 11 * 60_000);
  assert.equal(w.job?.hung, true, 'no timeout: hung after 10 minutes');

  const done = waitEvent(server.engine, 'job:finished', (o) => o.handle === a.text[0]);
  worker.send('WORK_COMPLETE', a.text[0]!, '');
  await done;
  const b = await worker.request('GRAB_JOB', [], 'JOB_ASSIGN');
  workers = (await api<{ workers: WorkerJson[] }>(server.url, 'GET', '/api/workers')).body.workers;
  assert.equal(workers[0]!.job?.hung, false);
  assert.equal(b.text[0], fast.body.handle, 'normal priority before low');
  assert.equal(workers[0]!.job?.handle, fast.body.handle);

  clock.advance(10_000);
  const history = await api<{
    stepMs: number;
    points: { at: string; functions: Record<string, { queued: number; running: number; completed: number; failed: number }> }[];
  }>(server.url, 'GET', '/api/history?minutes=60');
  assert.equal(history.body.stepMs, 10_000);
  const last = history.body.points.at(-1)!;
  assert.deepEqual(last.functions.slow, { queued: 2, running: 0, completed: 1, failed: 0 });
  assert.deepEqual(last.functions.fast, { queued: 0, running: 1, completed: 0, failed: 0 });
  assert.ok(history.body.points.length >= 60, `${history.body.points.length} points of 10 s`);
  assert.ok((await api<{ points: unknown[] }>(server.url, 'GET', '/api/history?minutes=1')).body.points.length <= 6);
});

test('the OpenAPI document lists every /api route of docs/http-api.md and the quarantine routes', async (t) => {
  const server = await httpServer(t);
  const doc = await api<{ openapi: string; paths: Record<string, Record<string, unknown>> }>(server.url, 'GET', '/api/openapi.json');
  assert.equal(doc.status, 200);
  assert.match(doc.body.openapi, /^3\./);
  const listed = new Set(Object.entries(doc.body.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\/$/, '')}`)));
  const text = await readFile(new URL('../../docs/http-api.md', import.meta.url), 'utf8');
  const documented = [...text.matchAll(/`(GET|POST|PUT|DELETE) (\/api\/[^`?\s]*)/g)]
    .map(([, method, path]) => `${method} ${path!.replace(/:(\w+)/g, '{$1}')}`)
    .filter((r) => !r.includes('/api/supervisors'));
  assert.ok(documented.length >= 14, `found ${documented.length} routes in the doc`);
  for (const route of documented) assert.ok(listed.has(route), `${route} is missing from /api/openapi.json; listed: ${[...listed].join(', ')}`);
  const submit = doc.body.paths['/api/jobs/']?.post ?? doc.body.paths['/api/jobs']?.post;
  assert.ok(JSON.stringify(submit).includes('payloadBase64'), 'the submit body schema is in the document');
});

test('CORS: a configured origin gets the header, others do not, preflights pass without a token', async (t) => {
  const server = await httpServer(t, { http: { corsOrigins: ['https://app.example.com'] }, adminToken: 'sekret', trustLoopback: false });
  const allowed = await fetch(`${server.url}/api/functions`, { headers: { origin: 'https://app.example.com', authorization: 'Bearer sekret' } });
  assert.equal(allowed.status, 200);
  assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://app.example.com');
  const other = await fetch(`${server.url}/api/functions`, { headers: { origin: 'https://evil.example', authorization: 'Bearer sekret' } });
  assert.equal(other.headers.get('access-control-allow-origin'), null);
  const preflight = await fetch(`${server.url}/api/jobs`, {
    method: 'OPTIONS',
    headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
  });
  assert.ok(preflight.status < 300, `preflight answered ${preflight.status}`);
  assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://app.example.com');
  // The event stream is written by hand, and still carries the header.
  const headers = { origin: 'https://app.example.com', authorization: 'Bearer sekret' };
  const { body } = await api<{ handle: string }>(server.url, 'POST', '/api/jobs', { function: 'f' }, headers);
  const ac = new AbortController();
  const events = await fetch(`${server.url}/api/jobs/${body.handle}/events`, { headers, signal: ac.signal });
  assert.equal(events.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  assert.equal(events.headers.get('access-control-allow-origin'), 'https://app.example.com');
  ac.abort();
});

test('without loopback trust, every /api route refuses a request without the token', async (t) => {
  const server = await httpServer(t, { adminToken: 'sekret', trustLoopback: false });
  for (const [method, path] of [
    ['GET', '/api/jobs'],
    ['POST', '/api/jobs'],
    ['GET', '/api/functions'],
    ['GET', '/api/workers'],
    ['GET', '/api/impact'],
    ['GET', '/api/openapi.json'],
    ['GET', '/api/jobs/H:test:1/events'],
  ] as const) {
    const res = await api<{ error: { code: string } }>(server.url, method, path, method === 'POST' ? { function: 'f' } : undefined);
    assert.equal(res.status, 401, `${method} ${path}`);
    assert.equal(res.body.error.code, 'LAZ_UNAUTHORIZED');
  }
  const wrong = await api(server.url, 'GET', '/api/functions', undefined, { authorization: 'Bearer nope' });
  assert.equal(wrong.status, 401);
  const right = await api(server.url, 'POST', '/api/jobs', { function: 'f' }, { authorization: 'Bearer sekret' });
  assert.equal(right.status, 201);
});

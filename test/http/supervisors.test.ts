import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.js';

test('PUT /api/supervisors/:id stores a report, GET lists it, DELETE removes it; bad bodies get 400 with a reason', async (t) => {
  const server = await startTestServer({ httpPort: 0 });
  t.after(() => server.dispose());
  const url = `http://127.0.0.1:${server.httpPort}/api/supervisors`;
  const put = (id: string, body: unknown): Promise<Response> =>
    fetch(`${url}/${encodeURIComponent(id)}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  const report = {
    id: 'web-1:resize',
    host: 'web-1',
    pid: 4242,
    intervalMs: 2000,
    programs: [
      {
        name: 'resize',
        command: 'php worker.php',
        copies: 4,
        running: 3,
        restarts: 9,
        recycled: 1,
        flapping: true,
        lastExits: [{ at: '2026-11-27T10:00:00.000Z', code: null, signal: 'SIGSEGV' }],
      },
    ],
  };
  assert.equal((await put('web-1:resize', report)).status, 200);
  const listed = (await (await fetch(url)).json()) as { supervisors: Record<string, unknown>[] };
  assert.equal(listed.supervisors.length, 1);
  const s = listed.supervisors[0]!;
  assert.equal(s.stale, false);
  assert.equal(typeof s.reportedAt, 'string');
  assert.deepEqual({ ...s, reportedAt: undefined, stale: undefined }, { ...report, reportedAt: undefined, stale: undefined });
  assert.deepEqual(
    server.supervisors.flapping().map((f) => f.program.name),
    ['resize'],
  );

  const bad = await put('web-1:resize', { ...report, programs: [{ ...report.programs[0], copies: -1 }] });
  assert.equal(bad.status, 400);
  const error = ((await bad.json()) as { error: { code: string; message: string } }).error;
  assert.equal(error.code, 'LAZ_BAD_REQUEST');
  assert.match(error.message, /copies/);
  const mismatch = await put('other', report);
  assert.equal(mismatch.status, 400);
  assert.match(((await mismatch.json()) as { error: { message: string } }).error.message, /differs from the id "other"/);

  assert.equal((await fetch(`${url}/web-1%3Aresize`, { method: 'DELETE' })).status, 200);
  assert.equal((await fetch(`${url}/web-1%3Aresize`, { method: 'DELETE' })).status, 404);
  assert.deepEqual(await (await fetch(url)).json(), { supervisors: [] });
});

test('a flapping supervised program turns /health red, naming it, and green again when it settles', async (t) => {
  const server = await startTestServer({ httpPort: 0 });
  t.after(() => server.dispose());
  const base = `http://127.0.0.1:${server.httpPort}`;
  const program = {
    name: 'resize',
    command: 'php worker.php',
    copies: 2,
    running: 0,
    restarts: 7,
    recycled: 0,
    flapping: true,
    lastExits: [{ at: new Date().toISOString(), code: null, signal: 'SIGSEGV' }],
  };
  const report = (flapping: boolean) => ({ id: 'w1', host: 'w1', pid: 1, intervalMs: 60_000, programs: [{ ...program, flapping, running: flapping ? 0 : 2 }] });
  const put = (body: unknown) =>
    fetch(`${base}/api/supervisors/w1`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const health = async () => {
    await server.health.check();
    const res = await fetch(`${base}/health`);
    return { status: res.status, body: (await res.json()) as { checks: { name: string; function?: string; state: string; reason: string }[] } };
  };

  assert.equal((await put(report(true))).status, 200);
  const red = await health();
  assert.equal(red.status, 503);
  const check = red.body.checks.find((c) => c.name === 'supervisor' && c.function === 'resize');
  assert.equal(check?.state, 'fail');
  assert.match(check!.reason, /flapping.*SIGSEGV/);
  const workers = (await (await fetch(`${base}/api/workers`)).json()) as {
    supervised: { supervisor: string; name: string; flapping: boolean; lastExits: { signal: string }[] }[];
  };
  assert.deepEqual(
    workers.supervised.map((p) => [p.supervisor, p.name, p.flapping, p.lastExits[0]?.signal]),
    [['w1', 'resize', true, 'SIGSEGV']],
  );

  assert.equal((await put(report(false))).status, 200);
  const green = await health();
  assert.equal(green.status, 200);
  assert.ok(green.body.checks.some((c) => c.name === 'supervisor' && c.state === 'ok'));
});

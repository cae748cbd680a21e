// Paths no route serves, and known paths asked with a method they do not take, answer in the same
// error shape as every other error ({ error: { code, message, hint } }), not in fastify's own 404 body;
// the dashboard's files are still served beside them.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { test } from 'node:test';
import Fastify from 'fastify';
import { registerErrorHandler, registerNotFoundHandler } from '../../src/http/errors.js';
import { dashboardRoutes } from '../../src/http/routes/dashboard.js';
import { api, httpServer } from './helpers.js';

interface ErrorBody {
  error: { code: string; message: string; hint: string | null };
}

function assertNotFound(res: { status: number; body: unknown; headers: Headers }, what: string): void {
  assert.equal(res.status, 404, what);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/, what);
  const body = res.body as ErrorBody;
  assert.deepEqual(Object.keys(body), ['error'], `${what}: ${JSON.stringify(body)}`);
  assert.equal(body.error.code, 'LAZ_NOT_FOUND', what);
  assert.equal(typeof body.error.message, 'string', what);
  assert.equal(typeof body.error.hint, 'string', what);
}

test('unknown paths and wrong methods on known paths answer 404 LAZ_NOT_FOUND in the error shape', async (t) => {
  const server = await httpServer(t, { adminToken: 'a-long-enough-admin-token' });
  const cases: [string, string][] = [
    ['GET', '/api/nope'],
    ['GET', '/api/quarantine/x/y/z'],
    ['GET', '/nope'],
    ['GET', '/nope?x=1'],
    ['POST', '/nope'],
    // Known paths, wrong method:
    ['POST', '/api/quarantine'],
    ['DELETE', '/health'],
    ['PUT', '/metrics'],
    ['PATCH', '/api/jobs'],
  ];
  for (const [method, path] of cases) {
    const res = await api<ErrorBody>(server.url, method, path);
    assertNotFound(res, `${method} ${path}`);
    assert.match(res.body.error.message, new RegExp(`${method} ${path.split('?')[0]!.replace(/[/]/g, '\\/')}`));
  }
  // A HEAD answer has no body, but the status is the same.
  assert.equal((await fetch(`${server.url}/nope`, { method: 'HEAD' })).status, 404);
  // The routes themselves still answer.
  assert.equal((await api(server.url, 'GET', '/api/quarantine')).status, 200);
});

test('a file missing under the dashboard answers in the error shape; its files are still served', async (t) => {
  const dir = await mkdtemp(`${tmpdir()}/lazaret-web-`);
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(`${dir}/assets`);
  await writeFile(`${dir}/index.html`, '<!doctype html><title>Lazaret</title>');
  await writeFile(`${dir}/assets/app-1234.js`, 'console.log(1)');
  const app = Fastify();
  t.after(() => app.close());
  registerErrorHandler(app);
  registerNotFoundHandler(app);
  await app.register(dashboardRoutes(`${dir}/`));
  const base = await app.listen({ host: '127.0.0.1', port: 0 });

  const index = await fetch(`${base}/`);
  assert.equal(index.status, 200);
  assert.match(await index.text(), /Lazaret/);
  assert.equal((await fetch(`${base}/assets/app-1234.js`)).status, 200);
  assertNotFound(await api(base, 'GET', '/assets/nope.js'), 'missing asset');
  assertNotFound(await api(base, 'GET', '/no/such/page'), 'missing page');
  assertNotFound(await api(base, 'POST', '/'), 'POST to the dashboard');
});

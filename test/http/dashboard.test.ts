// Serving the dashboard: index.html revalidated, hashed assets cached for a year, and a clear answer
// with the build command when the assets were never built.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import Fastify from 'fastify';
import { DASHBOARD_DIR, dashboardRoutes } from '../../src/http/routes/dashboard.js';
import { startTestServer } from '../helpers/server.js';

test('a running server hands out the built dashboard: index revalidated, hashed assets immutable', async (t) => {
  assert.ok(existsSync(`${DASHBOARD_DIR}index.html`), 'dist/web is not built: run npm run build');
  const server = await startTestServer({ httpPort: 0 });
  t.after(() => server.dispose());
  const base = `http://127.0.0.1:${server.httpPort}`;
  const index = await fetch(`${base}/`);
  assert.equal(index.status, 200);
  assert.equal(index.headers.get('cache-control'), 'no-cache');
  const html = await index.text();
  const asset = /src="\.\/(assets\/[^"]+\.js)"/.exec(html)?.[1];
  assert.ok(asset, `index.html names its script: ${html}`);
  const js = await fetch(`${base}/${asset}`);
  assert.equal(js.status, 200);
  assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.match(js.headers.get('content-type') ?? '', /javascript/);
  assert.equal((await fetch(`${base}/assets/nope.js`)).status, 404);
  const unknownApi = await fetch(`${base}/api/nope`);
  assert.equal(unknownApi.status, 404);
  assert.match(unknownApi.headers.get('content-type') ?? '', /json/, 'an unknown API route stays a JSON 404, not a file lookup');
  // The API still answers under the dashboard.
  assert.equal((await fetch(`${base}/api/quarantine`)).status, 200);
});

test('without built assets, / says how to build them', async (t) => {
  const empty = await mkdtemp(`${tmpdir()}/lazaret-web-`);
  t.after(() => rm(empty, { recursive: true, force: true }));
  const app = Fastify();
  t.after(() => app.close());
  await app.register(dashboardRoutes(`${empty}/`));
  const res = await app.inject({ method: 'GET', url: '/' });
  assert.equal(res.statusCode, 503);
  assert.match(res.headers['content-type'] as string, /text\/plain/);
  assert.match(res.body, /npm run build/);
});

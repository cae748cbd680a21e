// The HTTP token cannot be walked around by spelling a protected path differently: percent-encoded
// letters and slashes, doubled slashes, dot segments, case, trailing dots and slashes. Every protected
// route is taken from the app's own route table, so a route added later is covered without editing
// this file.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { routeTable } from '../../src/http/auth.js';
import { startTestServer } from '../helpers/server.js';
import { httpSideFor, rawRequest } from './helpers.js';

const TOKEN = 'a-long-enough-admin-token';

/** A concrete path for a route pattern: every `:param` and `*` becomes a plain word. */
function concrete(url: string): string {
  return url.replace(/:[A-Za-z_]+/g, 'x').replace(/\*$/, 'x');
}

const encodeChar = (c: string): string => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`;

/** Other spellings of one path that a lenient router or a raw-text check might confuse. */
export function spellings(path: string): string[] {
  const segments = path.split('/').slice(1);
  const first = segments[0]!;
  const rest = segments.slice(1).join('/');
  const tail = rest === '' ? '' : `/${rest}`;
  const out = new Set<string>([
    `/${encodeChar(first[0]!)}${first.slice(1)}${tail}`,
    `/${encodeChar(first[0]!).toUpperCase()}${first.slice(1)}${tail}`,
    `/${[...first].map(encodeChar).join('')}${tail}`,
    `/${segments.map((s) => [...s].map(encodeChar).join('')).join('/')}`,
    `/${segments.join('%2F')}`,
    `/${segments.join('%2f')}`,
    `//${segments.join('/')}`,
    `/${segments.join('//')}`,
    `/nothing/../${segments.join('/')}`,
    `/${first}/../${segments.join('/')}`,
    `/./${segments.join('/')}`,
    `/${segments.join('/./')}`,
    `/${segments.join('/')}/..`,
    `/${segments.join('/')}/`,
    `/${segments.join('/')}.`,
    `/${segments.join('/')}%2e`,
    `/${segments.join('/')}/.`,
    `/${segments.join('/')};x`,
    `/${segments.join('/')}%00`,
    `/${segments.join('/')}%20`,
    `/${segments.join('/').toUpperCase()}`,
    `/${first[0]!.toUpperCase()}${first.slice(1)}${tail}`,
    `/%2e%2e/${segments.join('/')}`,
    `/${segments.join('/')}?x=/api`,
    `/${segments.join('/')}#frag`,
  ]);
  out.delete(path);
  return [...out];
}

test('no spelling of a protected path gets past the token', async (t) => {
  const server = await startTestServer({ adminToken: TOKEN, trustLoopback: false, http: { protectHealth: true, protectMetrics: true } });
  t.after(() => server.dispose());
  const http = await httpSideFor(t, server);

  const routes = routeTable(http.app).filter((r) => r.auth !== 'open' && r.method !== 'OPTIONS');
  const urls = new Set(routes.map((r) => r.url));
  for (const expected of ['/api/jobs', '/api/quarantine', '/api/quarantine/purge', '/api/supervisors/:id', '/health', '/metrics', '/api/openapi.json']) {
    assert.ok(urls.has(expected), `${expected} is in the route table`);
  }

  const leaks: string[] = [];
  let tried = 0;
  for (const route of routes) {
    const path = concrete(route.url);
    const body = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(route.method) ? '{"all":true,"function":"x"}' : undefined;
    const plain = await rawRequest(http.port, route.method, path, {}, body);
    assert.equal(plain.status, 401, `${route.method} ${path} without the token: ${plain.text}`);
    for (const spelled of spellings(path)) {
      tried++;
      const res = await rawRequest(http.port, route.method, spelled, {}, body);
      if (res.status < 400 || res.status >= 500) leaks.push(`${route.method} ${spelled} -> ${res.status} ${res.text.slice(0, 80)}`);
    }
  }
  assert.ok(tried > 200, `tried ${tried} spellings`);
  assert.deepEqual(leaks, [], 'every other spelling is refused or not found');

  // The token still opens the canonical path, so the 401s above were not a server that refuses everything.
  const ok = await rawRequest(http.port, 'GET', '/api/quarantine', { authorization: `bearer ${TOKEN}` });
  assert.equal(ok.status, 200, 'the bearer scheme is accepted in any case');
});

test('a job submitted through an encoded path without the token is never created', async (t) => {
  const server = await startTestServer({ adminToken: TOKEN, trustLoopback: false });
  t.after(() => server.dispose());
  const http = await httpSideFor(t, server);
  const res = await rawRequest(http.port, 'POST', '/%61pi/jobs', {}, '{"function":"sneaky"}');
  assert.equal(res.status, 401);
  assert.equal(server.engine.functions.get('sneaky') !== undefined, false);
});

// DNS rebinding and cross-site requests: a web page can make a browser on the server's own host send
// requests from 127.0.0.1, but it cannot choose the Host header (its own DNS name) nor hide its Origin.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SECURITY_HEADERS } from '../../src/http/browser.js';
import { api, httpServer, rawRequest } from './helpers.js';

const job = JSON.stringify({ function: 'rebound' });

test('loopback trust needs a loopback Host name (or one from http.allowedHosts)', async (t) => {
  const server = await httpServer(t, { http: { allowedHosts: ['buildbox.lan'] } });
  const port = server.httpPort!;
  const attempt = (host: string): Promise<{ status: number }> => rawRequest(port, 'POST', '/api/jobs', { host }, job);

  for (const host of [
    'rebind.attacker.example',
    `rebind.attacker.example:${port}`,
    '127.0.0.1.attacker.example',
    'localhost.attacker.example',
    'localhost:80@evil.example',
  ]) {
    assert.equal((await attempt(host)).status, 401, `Host ${JSON.stringify(host)} is not trusted`);
  }
  const purge = await rawRequest(
    port,
    'POST',
    '/api/quarantine/purge',
    { host: 'rebind.attacker.example', origin: 'http://rebind.attacker.example' },
    '{"all":true}',
  );
  assert.equal(purge.status, 401, 'the purge of the report is refused');
  assert.equal(server.engine.functions.get('rebound'), undefined, 'no job was created');

  for (const host of ['localhost', `localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'LOCALHOST', 'buildbox.lan', `BuildBox.lan:${port}`]) {
    assert.equal((await attempt(host)).status, 201, `Host ${host} is trusted from loopback`);
  }
});

test('a change carrying a foreign Origin is refused; reads, own origin and corsOrigins pass', async (t) => {
  const server = await httpServer(t, { http: { corsOrigins: ['https://app.example.com'] } });
  const port = server.httpPort!;
  const host = `127.0.0.1:${port}`;
  for (const origin of ['http://evil.example', 'null', `http://127.0.0.1:${port + 1}`, `https://${host}`, 'not a url']) {
    const res = await rawRequest(port, 'POST', '/api/jobs', { host, origin }, job);
    assert.equal(res.status, 403, `Origin ${origin}`);
    assert.equal(JSON.parse(res.text).error.code, 'LAZ_FORBIDDEN_ORIGIN');
  }
  assert.equal(server.engine.functions.get('rebound'), undefined);
  assert.equal((await rawRequest(port, 'POST', '/api/jobs', { host, origin: `http://${host}` }, job)).status, 201, 'same origin');
  assert.equal((await rawRequest(port, 'POST', '/api/jobs', { host, origin: 'https://app.example.com' }, job)).status, 201, 'listed origin');
  assert.equal((await rawRequest(port, 'POST', '/api/jobs', { host }, job)).status, 201, 'no Origin: not a browser');
  assert.equal((await rawRequest(port, 'GET', '/api/functions', { host, origin: 'http://evil.example' })).status, 200, 'reads are left to CORS');
});

test('every response carries the browser security headers, the event stream too', async (t) => {
  const server = await httpServer(t);
  const port = server.httpPort!;
  const { handle } = (await api<{ handle: string }>(server.url, 'POST', '/api/jobs', { function: 'headers' })).body;
  for (const path of ['/', '/api/functions', '/health', '/metrics', '/nothing-here']) {
    const res = await rawRequest(port, 'GET', path);
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) assert.equal(res.headers[name], value, `${name} on ${path}`);
  }
  const sse = await fetch(`${server.url}/api/jobs/${encodeURIComponent(handle)}/events`);
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) assert.equal(sse.headers.get(name), value, `${name} on the event stream`);
  await sse.body?.cancel();
});

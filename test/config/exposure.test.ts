// A node listening beyond loopback with no admin token, or with a token short enough to guess, does not
// start unless the operator says so out loud.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { isLazaretError } from '../../src/errors.js';
import { startTestServer } from '../helpers/server.js';
import { runCli } from '../cli/run-cli.js';
import { certDir, makeCa, makeCert } from '../helpers/tls.js';

function emptyDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'laz-exposure-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const invalid = (pattern: RegExp) => (err: unknown) => isLazaretError(err) && err.code === 'LAZ_CONFIG_INVALID' && pattern.test(`${err.message} ${err.hint}`);

test('beyond loopback without a token is refused; a token or an explicit opt-in lets it start', (t) => {
  const cwd = emptyDir(t);
  assert.throws(
    () => loadConfig({ host: '0.0.0.0' }, {}, cwd),
    invalid(/host 0\.0\.0\.0.*no adminToken.*allow-unauthenticated.*Gearman protocol has no authentication/s),
  );
  assert.throws(() => loadConfig({ httpHost: '::' }, {}, cwd), invalid(/httpHost ::/));
  assert.throws(() => loadConfig({ host: 'gearman.internal' }, {}, cwd), invalid(/gearman\.internal/));
  assert.throws(() => loadConfig({}, { LAZARET_HTTP_HOST: '10.0.0.5' }, cwd), invalid(/httpHost 10\.0\.0\.5/));

  for (const host of ['127.0.0.1', '127.0.1.1', 'localhost', '::1', '[::1]']) assert.equal(loadConfig({ host, httpHost: host }, {}, cwd).host, host);
  assert.equal(loadConfig({ httpHost: '0.0.0.0', httpPort: 'off' }, {}, cwd).httpPort, null, 'no HTTP side: its host does not matter');
  assert.equal(loadConfig({ host: '0.0.0.0', allowUnauthenticated: true }, {}, cwd).allowUnauthenticated, true);
  assert.equal(loadConfig({ host: '0.0.0.0' }, { LAZARET_ALLOW_UNAUTHENTICATED: '1' }, cwd).allowUnauthenticated, true);
  assert.equal(loadConfig({ host: '0.0.0.0', adminToken: 'x'.repeat(16) }, {}, cwd).adminToken, 'x'.repeat(16));
});

test('an admin token shorter than 16 characters is refused wherever it comes from', (t) => {
  const cwd = emptyDir(t);
  assert.throws(() => loadConfig({ adminToken: 'x' }, {}, cwd), invalid(/adminToken \(command line\): must be at least 16 characters.*got 1/));
  assert.throws(() => loadConfig({}, { LAZARET_ADMIN_TOKEN: 'fifteen-chars-x' }, cwd), invalid(/adminToken \(environment\).*got 15/));
});

test('startServer itself refuses, so an embedding program cannot skip the check', async () => {
  await assert.rejects(startTestServer({ host: '0.0.0.0' }), invalid(/host 0\.0\.0\.0/));
});

test('lazaret serve on 0.0.0.0 without a token exits 2 with the reason and the way out', async (t) => {
  const dir = emptyDir(t);
  const res = await runCli(['serve', '--host', '0.0.0.0', '--port', '0', '--http-port', 'off', '--db', join(dir, 'x.db')], { dist: true });
  assert.equal(res.code, 2, res.stderr);
  assert.match(res.stderr, /Listening beyond loopback \(host 0\.0\.0\.0\) with no adminToken/);
  assert.match(res.stderr, /--allow-unauthenticated/);
});

test("mutual TLS is the Gearman port's authentication: beyond loopback it starts without a token, unless a plain port sits beside it", (t) => {
  const cwd = emptyDir(t);
  const dir = certDir(t);
  const ca = makeCa(dir);
  const server = makeCert(dir, ca, 'server');
  const tls = { host: '0.0.0.0', ssl: true, sslCertificate: server.cert, sslKey: server.key };
  assert.throws(() => loadConfig(tls, {}, cwd), invalid(/host 0\.0\.0\.0/), 'TLS without client certificates authenticates nobody');
  assert.equal(loadConfig({ ...tls, sslCaFile: ca.cert }, {}, cwd).sslCaFile, ca.cert);
  assert.throws(() => loadConfig({ ...tls, sslCaFile: ca.cert, plainPort: '4740' }, {}, cwd), invalid(/host 0\.0\.0\.0/));
  assert.throws(
    () => loadConfig({ ...tls, sslCaFile: ca.cert, httpHost: '0.0.0.0' }, {}, cwd),
    invalid(/httpHost 0\.0\.0\.0/),
    'the HTTP side still needs a token',
  );
});

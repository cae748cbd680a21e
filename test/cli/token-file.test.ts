// Tokens read from files (kept out of `ps`): the server's --token-file / LAZARET_ADMIN_TOKEN_FILE, the
// CLI's --token-file / LAZARET_TOKEN_FILE, and the supervisor's; and the bearer scheme in any case.

import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { isLazaretError } from '../../src/errors.js';
import { loadSupervisorConfig } from '../../src/supervisor/config.js';
import { httpServer, rawRequest } from '../http/helpers.js';
import { runCli } from './run-cli.js';

const TOKEN = 'token-from-a-file-0123456789';

function tokenFile(t: TestContext, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'laz-token-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'token');
  writeFileSync(path, content);
  chmodSync(path, 0o600);
  return path;
}

test('the server reads its admin token from --token-file or LAZARET_ADMIN_TOKEN_FILE', (t) => {
  const file = tokenFile(t, `${TOKEN}\n`);
  const cwd = mkdtempSync(join(tmpdir(), 'laz-cwd-'));
  t.after(() => rmSync(cwd, { recursive: true, force: true }));
  assert.equal(loadConfig({ tokenFile: file }, {}, cwd).adminToken, TOKEN, 'trailing newline dropped');
  assert.equal(loadConfig({}, { LAZARET_ADMIN_TOKEN_FILE: file }, cwd).adminToken, TOKEN);
  assert.equal(loadConfig({ tokenFile: file }, { LAZARET_ADMIN_TOKEN: 'from-the-environment-x' }, cwd).adminToken, TOKEN, 'a flag beats the environment');
  assert.throws(
    () => loadConfig({ tokenFile: join(cwd, 'missing') }, {}, cwd),
    (e: unknown) => isLazaretError(e) && e.code === 'LAZ_CONFIG_INVALID' && /Cannot read the admin token file .*missing: ENOENT/.test(e.message),
  );
  assert.throws(() => loadConfig({ tokenFile: tokenFile(t, 'short\n') }, {}, cwd), /at least 16 characters/);
  assert.throws(() => loadConfig({ tokenFile: tokenFile(t, '\n') }, {}, cwd), /must hold one non-empty line/);
});

test('lazaret status and dlq take --token-file or LAZARET_TOKEN_FILE; the bearer scheme is case-insensitive', async (t) => {
  const server = await httpServer(t, { adminToken: TOKEN, trustLoopback: false });
  const file = tokenFile(t, `${TOKEN}\r\n`);
  const without = await runCli(['status', '--server', server.url, '--json'], { dist: true });
  assert.notEqual(without.code, 0, 'refused without the token');
  const viaFlag = await runCli(['status', '--server', server.url, '--json', '--token-file', file], { dist: true });
  assert.equal(viaFlag.code, 0, viaFlag.stderr);
  const viaEnv = await runCli(['dlq', 'list', '--server', server.url, '--json'], { dist: true, env: { LAZARET_TOKEN_FILE: file } });
  assert.equal(viaEnv.code, 0, viaEnv.stderr);
  const missing = await runCli(['status', '--server', server.url, '--token-file', `${file}.nope`], { dist: true });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /Cannot read the token file/);

  for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
    assert.equal((await rawRequest(server.httpPort!, 'GET', '/api/functions', { authorization: `${scheme} ${TOKEN}` })).status, 200, scheme);
  }
  assert.equal((await rawRequest(server.httpPort!, 'GET', '/api/functions', { authorization: `Basic ${TOKEN}` })).status, 401);
});

test('the supervisor takes --token-file or LAZARET_TOKEN_FILE', (t) => {
  const file = tokenFile(t, `${TOKEN}\n`);
  assert.equal(loadSupervisorConfig({ tokenFile: file }, ['w'], {}, 'h').token, TOKEN);
  assert.equal(loadSupervisorConfig({}, ['w'], { LAZARET_TOKEN_FILE: file }, 'h').token, TOKEN);
  assert.equal(loadSupervisorConfig({ token: 'given-on-the-command-line' }, ['w'], { LAZARET_TOKEN_FILE: file }, 'h').token, 'given-on-the-command-line');
  assert.throws(() => loadSupervisorConfig({ tokenFile: `${file}.nope` }, ['w'], {}, 'h'), /Cannot read the token file/);
});

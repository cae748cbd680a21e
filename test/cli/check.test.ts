// `lazaret check` as an operator runs it after a deploy: the built dist/cli/main.js (npm run build first)
// against a real server and a real library worker.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Worker } from '../../src/client/index.js';
import { startTestServer } from '../helpers/server.js';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

async function check(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  assert.ok(existsSync(MAIN), `${MAIN} is missing: run npm run build first`);
  const proc = spawn(process.execPath, [MAIN, 'check', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const [code] = (await once(proc, 'close')) as [number | null];
  return { code, stdout, stderr };
}

test('lazaret check: success, wrong result, failure, no worker, timeout, unreachable', async (t) => {
  const server = await startTestServer();
  t.after(() => server.dispose());
  const address = `127.0.0.1:${server.gearmanPort}`;

  const none = await check('--server', address, '--timeout', '5s');
  assert.equal(none.code, 4);
  assert.match(none.stderr, /FAILED: no worker is registered for lazaret\.check on 127\.0\.0\.1:\d+; start a worker with check: true/);

  let release: () => void = () => undefined;
  const worker = new Worker({
    servers: [address],
    concurrency: 2,
    check: true,
    functions: {
      upper: (job) => job.payload.toString().toUpperCase(),
      broken: () => {
        throw new Error('database is down');
      },
      stuck: () => new Promise<string>((resolve) => (release = () => resolve('late'))),
    },
  });
  t.after(() => worker.stop({ graceMs: 0 }));
  await worker.start();

  const ok = await check('--server', address);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /ok: lazaret\.check on 127\.0\.0\.1:\d+ answered in \d+ ms/);

  assert.equal((await check('--server', address, '--function', 'upper', '--payload', 'abc', '--expect', 'ABC')).code, 0);
  const wrong = await check('--server', address, '--function', 'upper', '--payload', 'abc', '--expect', 'abc');
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /upper on 127\.0\.0\.1:\d+ answered "ABC", expected "abc"/);

  const failed = await check('--server', address, '--function', 'broken');
  assert.equal(failed.code, 1);
  assert.match(failed.stderr, /failed with an exception: database is down/);

  const slow = await check('--server', address, '--function', 'stuck', '--timeout', '300ms');
  release();
  assert.equal(slow.code, 5);
  assert.match(slow.stderr, /stuck.*no answer within 300 ms/);

  const dead = createServer();
  dead.listen(0, '127.0.0.1');
  await once(dead, 'listening');
  const port = (dead.address() as { port: number }).port;
  dead.close();
  const unreachable = await check('--server', `127.0.0.1:${port}`, '--timeout', '2s');
  assert.equal(unreachable.code, 3);
  assert.match(unreachable.stderr, /no server reachable \(cannot connect to 127\.0\.0\.1:\d+/);
});

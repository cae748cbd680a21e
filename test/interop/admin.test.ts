// The admin text protocol through the real `gearadmin` tool. gearadmin
// stops reading once the socket has been idle for a few ms, so these also prove each reply is one write.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { GEARMAN_VERSION } from '../../src/server.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { gearadmin, gearman, need, perlWorker, phpClient, workersOf } from './procs.js';
import type { Owner } from './procs.js';
import { waitEvent } from '../helpers/events.js';
import { eventually } from '../helpers/wait.js';

let server: TestServer;
let port: number;

before(async () => {
  server = await startTestServer();
  port = server.gearmanPort;
});
after(() => server?.dispose());

/** The listing's lines (without the closing `.`) that start with `prefix`. */
function linesOf(listing: string, prefix: string): string[] {
  assert.ok(listing.endsWith('.\n'), `a complete listing: ${JSON.stringify(listing)}`);
  return listing.split('\n').filter((l) => l.startsWith(prefix));
}

async function admin(t: Owner, ...args: string[]): Promise<string> {
  return (await gearadmin(t, port, ...args)).stdout;
}

/** Background jobs through the `gearman` tool; returns their handles in submission order. */
async function submitBackground(t: Owner, fn: string, jobs: { flag?: '-I' | '-L'; unique: string; payload: string }[]): Promise<string[]> {
  const handles: string[] = [];
  for (const { flag, unique, payload } of jobs) {
    const created = waitEvent(server.engine, 'job:created', (job) => job.fn.name === fn && job.unique === unique);
    const client = gearman(t, port, '-b', ...(flag ? [flag] : []), '-u', unique, '-f', fn, payload);
    assert.deepEqual(await client.done(), { code: 0, signal: null }, client.describe());
    handles.push((await created)[0].handle);
  }
  return handles;
}

test('gearadmin --getpid and --server-version', async (t) => {
  await need.gearmanTools();
  // The server runs inside this test process.
  assert.equal(await admin(t, '--getpid'), `${process.pid}\n`);
  assert.equal(await admin(t, '--server-version'), `${GEARMAN_VERSION}\n`);
});

test('gearadmin --create-function, --status and --drop-function', async (t) => {
  await need.gearmanTools();
  assert.equal(await admin(t, '--create-function', 'adm_created'), 'OK\n');
  assert.deepEqual(linesOf(await admin(t, '--status'), 'adm_created\t'), ['adm_created\t0\t0\t0']);
  assert.deepEqual(linesOf(await admin(t, '--priority-status'), 'adm_created\t'), ['adm_created\t0\t0\t0\t0']);
  assert.equal(await admin(t, '--drop-function', 'adm_created'), 'OK\n');
  assert.deepEqual(linesOf(await admin(t, '--status'), 'adm_created\t'), []);
  assert.equal(server.engine.functions.get('adm_created'), undefined);
  // An error reply goes to stderr as sent (ERR lines end in CRLF); gearadmin still exits 0.
  const missing = await gearadmin(t, port, '--drop-function', 'adm_created');
  assert.equal(missing.stdout, '');
  assert.equal(missing.stderr, 'Error: function not found\r\n');
});

test('gearadmin --status, --priority-status, --show-jobs and --show-unique-jobs describe queued background jobs', async (t) => {
  await need.gearmanTools();
  const handles = await submitBackground(t, 'adm_queue', [
    { flag: '-L', unique: 'adm-low', payload: 'l' },
    { unique: 'adm-normal', payload: 'n' },
    { flag: '-I', unique: 'adm-high', payload: 'h' },
  ]);
  assert.deepEqual(linesOf(await admin(t, '--status'), 'adm_queue\t'), ['adm_queue\t3\t0\t0']);
  assert.deepEqual(linesOf(await admin(t, '--priority-status'), 'adm_queue\t'), ['adm_queue\t1\t1\t1\t0']);
  // HANDLE, retries, ignored, persisted (background jobs are stored).
  const jobs = linesOf(await admin(t, '--show-jobs'), 'H:test:');
  for (const h of handles) assert.ok(jobs.includes(`${h}\t0\t0\t1`), `${h} in ${JSON.stringify(jobs)}`);
  const uniques = (await admin(t, '--show-unique-jobs')).split('\n');
  for (const u of ['adm-low', 'adm-normal', 'adm-high']) assert.ok(uniques.includes(u), `${u} in ${JSON.stringify(uniques)}`);

  // Dropping a function that still has jobs is refused (B12 improved) and changes nothing.
  const refused = await gearadmin(t, port, '--drop-function', 'adm_queue');
  assert.match(refused.stderr, /^Error: there /);
  assert.deepEqual(linesOf(await admin(t, '--status'), 'adm_queue\t'), ['adm_queue\t3\t0\t0']);
});

test('gearadmin --workers lists worker connections with their client ids and functions', async (t) => {
  await Promise.all([need.gearmanTools(), need.perl()]);
  gearman(t, port, '-w', '-f', 'adm_cli_worker');
  const perl = perlWorker(t, port, 'adm_perl_a=reverse', 'adm_perl_b=reverse');
  // Registration has no engine event; look for it before asking.
  await eventually(
    () => workersOf(server.engine, 'adm_cli_worker') === 1 && workersOf(server.engine, 'adm_perl_a') === 1 && workersOf(server.engine, 'adm_perl_b') === 1,
    'both workers have registered',
  );
  const workers = (await admin(t, '--workers')).split('\n');
  assert.equal(workers.at(-1), '');
  assert.equal(workers.at(-2), '.');
  assert.equal(workers.filter((l) => /^\d+ 127\.0\.0\.1 - : adm_cli_worker$/.test(l)).length, 1, JSON.stringify(workers));
  // Newest registration first; Perl registers in the order the functions were added.
  const perlLine = new RegExp(`^\\d+ 127\\.0\\.0\\.1 perl-worker-${perl.pid} : adm_perl_b adm_perl_a$`);
  assert.equal(workers.filter((l) => perlLine.test(l)).length, 1, JSON.stringify(workers));
  // The admin connection itself is listed too, with no functions.
  assert.ok(
    workers.some((l) => /^\d+ 127\.0\.0\.1 - :$/.test(l)),
    JSON.stringify(workers),
  );
  assert.deepEqual(linesOf(await admin(t, '--status'), 'adm_cli_worker\t'), ['adm_cli_worker\t0\t0\t1']);
});

test('gearadmin --cancel-job takes a queued background job out and fails a waiting PHP client', async (t) => {
  await Promise.all([need.gearmanTools(), need.php()]);
  const [bgHandle] = await submitBackground(t, 'adm_cancel', [{ unique: 'adm-cancel-bg', payload: 'x' }]);
  const quarantined = waitEvent(server.engine, 'job:quarantined', (entry) => entry.handle === bgHandle);
  assert.equal(await admin(t, '--cancel-job', bgHandle!), 'OK\n');
  const [entry] = await quarantined;
  assert.equal(entry.reason, 'cancelled');
  assert.deepEqual(linesOf(await admin(t, '--show-jobs'), `${bgHandle}\t`), []);
  // With no job and no worker left, the function is forgotten (gearmand would list it forever).
  assert.deepEqual(linesOf(await admin(t, '--status'), 'adm_cancel\t'), []);
  const again = await gearadmin(t, port, '--cancel-job', bgHandle!);
  assert.equal(again.stderr, 'Error: UNKNOWN_JOB\r\n');

  // A foreground job: its client is told WORK_FAIL at once.
  const client = phpClient(t, port, 'fg', 'adm_cancel', 'waiting');
  const fgHandle = (await client.event('created')).handle;
  assert.equal(typeof fgHandle, 'string');
  assert.equal(await admin(t, '--cancel-job', String(fgHandle)), 'OK\n');
  assert.deepEqual(await client.event('fail'), { event: 'fail', handle: fgHandle });
  assert.deepEqual(await client.event('done'), { event: 'done', ok: true, returnCode: 0 });
});

// The admin text protocol against a real server, byte for byte (README, Pointing existing clients at it; README, Where Lazaret
// differs: B4, B12, B13): listings, version/getpid/verbose, cancel, create/drop,
// maxqueue and its threshold-on-total refusals, shutdown, unknown commands, the admin token, and one
// write per reply.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { GEARMAN_VERSION } from '../../src/server.js';
import { RawPeer } from '../helpers/gearman-client.js';
import { assertSilent, sync } from './util.js';
import { peerFor, serverFor } from '../helpers/server.js';

/** Sends one line on a fresh socket and returns the first chunk that arrives (a reply must be one write). */
async function firstChunk(port: number, line: string, host = '127.0.0.1'): Promise<string> {
  const socket = connect({ port, host });
  try {
    await once(socket, 'connect');
    socket.write(`${line}\r\n`);
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    return chunk.toString('utf8');
  } finally {
    socket.destroy();
  }
}

const INCOMPLETE = (word: string): string => `ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+${word}\r\n`;

test('status, prioritystatus, show jobs, show unique jobs: exact bytes, each reply one chunk', async (t) => {
  const server = await serverFor(t);
  const port = server.gearmanPort;
  assert.equal(await firstChunk(port, 'status'), '.\n', 'empty listing');
  const client = await peerFor(t, server);
  const worker = await peerFor(t, server);
  worker.send('CAN_DO', 'alpha');
  worker.send('CAN_DO', 'alpha');
  const h1 = (await client.request('SUBMIT_JOB_BG', ['alpha', 'u-1', 'a'], 'JOB_CREATED')).text[0];
  const h2 = (await client.request('SUBMIT_JOB_LOW_BG', ['alpha', '', 'b'], 'JOB_CREATED')).text[0];
  const h3 = (await client.request('SUBMIT_JOB_HIGH', ['beta', '-', 'c'], 'JOB_CREATED')).text[0];
  const running = await worker.request('GRAB_JOB', [], 'JOB_ASSIGN');
  assert.equal(running.text[0], h1);
  await client.request('SUBMIT_JOB_BG', ['beta', 'u-4', 'd'], 'JOB_CREATED');
  const h4 = client.received.at(-1)!.text[0];

  assert.equal(await firstChunk(port, 'status'), 'alpha\t2\t1\t1\nbeta\t2\t0\t0\n.\n');
  assert.equal(await firstChunk(port, 'STATUS extra words'), 'alpha\t2\t1\t1\nbeta\t2\t0\t0\n.\n', 'case-insensitive, extra words ignored');
  // Queued jobs only (the running one is not counted), by priority.
  assert.equal(await firstChunk(port, 'prioritystatus'), 'alpha\t0\t0\t1\t1\nbeta\t1\t1\t0\t0\n.\n');
  assert.equal(await firstChunk(port, 'show jobs'), `${h1}\t0\t0\t1\n${h2}\t0\t0\t1\n${h3}\t0\t0\t0\n${h4}\t0\t0\t1\n.\n`);
  assert.equal(await firstChunk(port, 'show unique jobs'), 'u-1\n\n-\nu-4\n.\n');
  assert.equal(await firstChunk(port, 'SHOW JOBS'), `${h1}\t0\t0\t1\n${h2}\t0\t0\t1\n${h3}\t0\t0\t0\n${h4}\t0\t0\t1\n.\n`);

  // A larger listing still arrives in one piece (gearadmin stops reading after ~5 ms of silence).
  for (let i = 0; i < 300; i++) client.send('SUBMIT_JOB_BG', 'gamma', `many-${i}`, 'x');
  for (let i = 0; i < 300; i++) await client.next('JOB_CREATED');
  const unique = await firstChunk(port, 'show unique jobs');
  assert.ok(unique.endsWith('many-299\n.\n'), 'whole listing in the first chunk');
  assert.equal(unique.split('\n').length, 4 + 300 + 2);
});

test('workers lists every connection with its id and functions; version, getpid, verbose', async (t) => {
  const server = await serverFor(t);
  const port = server.gearmanPort;
  const worker = await peerFor(t, server);
  worker.send('SET_CLIENT_ID', 'w-1');
  worker.send('CAN_DO', 'first');
  worker.send('CAN_DO', 'second');
  const idle = await peerFor(t, server);
  await sync(worker);
  await sync(idle);
  const workers = await firstChunk(port, 'workers');
  const lines = workers.split('\n');
  assert.deepEqual(lines.slice(-2), ['.', '']);
  assert.equal(lines.length, 5, workers);
  assert.match(lines[0]!, /^\d+ 127\.0\.0\.1 w-1 : second first$/);
  assert.match(lines[1]!, /^\d+ 127\.0\.0\.1 - :$/);
  assert.match(lines[2]!, /^\d+ 127\.0\.0\.1 - :$/, 'the asking connection itself');
  const ids = lines.slice(0, 3).map((l) => Number(l.split(' ')[0]));
  assert.equal(new Set(ids).size, 3, 'each connection has its own number');

  assert.equal(await firstChunk(port, 'version'), `OK ${GEARMAN_VERSION}\n`);
  assert.match(GEARMAN_VERSION, /^1\.1\.(19|[2-9]\d)/, 'clients read a 1.1.x >= 1.1.19 as millisecond timeouts');
  assert.equal(await firstChunk(port, 'getpid'), `OK ${process.pid}\n`);
  assert.match(await firstChunk(port, 'verbose'), /^OK (FATAL|ALERT|CRITICAL|ERROR|WARNING|NOTICE|INFO|DEBUG)\n$/);
  assert.equal(await firstChunk(port, 'Version now'), `OK ${GEARMAN_VERSION}\n`);
});

test('unknown commands and malformed show/cancel/create/drop lines', async (t) => {
  const server = await serverFor(t);
  const admin = await peerFor(t, server);
  const cases: [string, string][] = [
    ['bogus', 'ERR UNKNOWN_COMMAND Unknown+server+commandbogus\r\n'],
    ['', 'ERR UNKNOWN_COMMAND Unknown+server+command\r\n'],
    ['  status', 'ERR UNKNOWN_COMMAND Unknown+server+command\r\n'],
    ['show', 'ERR UNKNOWN_COMMAND Unknown+server+commandshow\r\n'],
    ['show foo', 'ERR UNKNOWN_SHOW_ARGUMENTS\r\n'],
    ['show jobs extra', 'ERR UNKNOWN_SHOW_ARGUMENTS\r\n'],
    ['cancel', 'ERR UNKNOWN_COMMAND Unknown+server+commandcancel\r\n'],
    ['cancel foo bar', 'ERR UNKNOWN_ERROR\r\n'],
    ['create', INCOMPLETE('create')],
    ['create function', INCOMPLETE('create')],
    ['drop', INCOMPLETE('drop')],
    ['maxqueue', INCOMPLETE('maxqueue')],
  ];
  for (const [line, reply] of cases) assert.equal(await admin.admin(line), reply, JSON.stringify(line));
  // A text command on a connection that already spoke binary is answered too.
  const mixed = await peerFor(t, server);
  await mixed.request('ECHO_REQ', ['bin'], 'ECHO_RES');
  assert.equal(await mixed.admin('bogus'), 'ERR UNKNOWN_COMMAND Unknown+server+commandbogus\r\n');
  await mixed.request('ECHO_REQ', ['bin again'], 'ECHO_RES');
});

test('cancel job: OK or ERR UNKNOWN_JOB; waiting clients get one WORK_FAIL; a running job reports nothing more (README: B12)', async (t) => {
  const server = await serverFor(t);
  const client = await peerFor(t, server);
  const worker = await peerFor(t, server);
  const admin = await peerFor(t, server);
  const queued = (await client.request('SUBMIT_JOB', ['cx', '', 'q'], 'JOB_CREATED')).text[0]!;
  const bg = (await client.request('SUBMIT_JOB_BG', ['cx', '', 'b'], 'JOB_CREATED')).text[0]!;
  assert.equal(await admin.admin(`cancel job ${queued}`), 'OK\r\n');
  assert.deepEqual((await client.next('WORK_FAIL')).text, [queued]);
  assert.equal(await admin.admin(`cancel job ${queued}`), 'ERR UNKNOWN_JOB\r\n', 'already cancelled');
  assert.equal(await admin.admin('cancel job H:test:999999'), 'ERR UNKNOWN_JOB\r\n');
  assert.equal(await admin.admin(`cancel job ${queued.toLowerCase()}`), 'ERR UNKNOWN_JOB\r\n', 'handles are case-sensitive');
  assert.equal(await admin.admin(`CANCEL JOB ${bg}`), 'OK\r\n');
  // No job and no worker left: the function is forgotten (gearmand would list it forever).
  assert.equal(await admin.admin('status'), '.\n');

  const run = (await client.request('SUBMIT_JOB', ['cx', '', 'r'], 'JOB_CREATED')).text[0]!;
  worker.send('CAN_DO', 'cx');
  assert.equal((await worker.request('GRAB_JOB', [], 'JOB_ASSIGN')).text[0], run);
  assert.equal(await admin.admin(`cancel job ${run}`), 'OK\r\n');
  assert.deepEqual((await client.next('WORK_FAIL')).text, [run]);
  worker.send('WORK_COMPLETE', run, 'finished anyway');
  await assertSilent(worker, 'the worker of a cancelled job is not punished with an ERROR');
  await assertSilent(client, 'the client hears WORK_FAIL once, not WORK_COMPLETE after it');
  await worker.request('GRAB_JOB', [], 'NO_JOB');
});

test('create function and drop function; drop is refused while workers or jobs remain', async (t) => {
  const server = await serverFor(t);
  const admin = await peerFor(t, server);
  assert.equal(await admin.admin('create function newfn'), 'OK\r\n');
  assert.equal(await admin.admin('create function newfn'), 'OK\r\n', 'creating an existing function is OK');
  assert.equal(await admin.admin('create function abcdef'), 'OK\r\n');
  assert.equal(await admin.admin('status'), 'newfn\t0\t0\t0\nabcdef\t0\t0\t0\n.\n', 'the name is kept whole (no lost last letter)');
  assert.equal(await admin.admin('drop function NEWFN'), 'OK\r\n', 'matched case-insensitively');
  assert.equal(await admin.admin('drop function nosuch'), 'ERR function not found\r\n');

  const worker = await peerFor(t, server);
  worker.send('CAN_DO', 'busy');
  await sync(worker);
  const busy = 'ERR there are still connected workers, executing clients or queued jobs\r\n';
  assert.equal(await admin.admin('drop function busy'), busy);
  worker.send('CANT_DO', 'busy');
  await sync(worker);
  const client = await peerFor(t, server);
  const h = (await client.request('SUBMIT_JOB_BG', ['busy', '', 'x'], 'JOB_CREATED')).text[0];
  assert.equal(await admin.admin('drop function busy'), busy, 'queued jobs keep it (README: B12)');
  worker.send('CAN_DO', 'busy');
  assert.equal((await worker.request('GRAB_JOB', [], 'JOB_ASSIGN')).text[0], h);
  worker.send('CANT_DO', 'busy');
  await sync(worker);
  // CANT_DO requeued the running job: still refused.
  assert.equal(await admin.admin('drop function busy'), busy);
  assert.equal(await admin.admin(`cancel job ${h}`), 'OK\r\n');
  assert.equal(await admin.admin('drop function busy'), 'OK\r\n');
  assert.equal(await admin.admin('status'), 'abcdef\t0\t0\t0\n.\n');
});

test('maxqueue: OK for every form, thresholds on the function total per submitted priority (B4)', async (t) => {
  const server = await serverFor(t);
  const admin = await peerFor(t, server);
  const client = await peerFor(t, server);
  type Form = 'SUBMIT_JOB' | 'SUBMIT_JOB_BG' | 'SUBMIT_JOB_HIGH_BG' | 'SUBMIT_JOB_LOW_BG' | 'SUBMIT_JOB_HIGH' | 'SUBMIT_JOB_LOW';
  const accepted = async (form: Form, unique = ''): Promise<void> => {
    const r = await client.request(form, ['mq', unique, form], undefined);
    assert.equal(r.name, 'JOB_CREATED', `${form} should be accepted, got ${r.name} ${JSON.stringify(r.text)}`);
  };
  const refused = async (form: Form): Promise<void> => {
    const r = await client.request(form, ['mq', '', form], undefined);
    assert.deepEqual([r.name, ...r.text], ['ERROR', 'QUEUE_ERROR', 'Job queue is full'], `${form} should be refused`);
  };

  // On a function that does not exist yet: OK, and no effect.
  assert.equal(await admin.admin('maxqueue mq 1'), 'OK\r\n');
  await accepted('SUBMIT_JOB_BG', 'first');
  await accepted('SUBMIT_JOB_BG');
  assert.equal(await admin.admin('maxqueue mq 2'), 'OK\r\n');
  await refused('SUBMIT_JOB_BG');
  await refused('SUBMIT_JOB');
  await accepted('SUBMIT_JOB_BG', 'first'); // coalescing never creates a job, so it is never refused

  assert.equal(await admin.admin('maxqueue mq 4 3 1'), 'OK\r\n');
  await refused('SUBMIT_JOB_LOW_BG'); // total 2 >= 1
  await accepted('SUBMIT_JOB_BG'); // 2 < 3
  await refused('SUBMIT_JOB_BG'); // 3 >= 3
  await accepted('SUBMIT_JOB_HIGH_BG'); // 3 < 4
  await refused('SUBMIT_JOB_HIGH'); // 4 >= 4

  // Two numbers: gearmand 1.1.20 (text.cc, argc <= 3) copies the first number only when it is alone.
  assert.equal(await admin.admin('maxqueue mq 1 0'), 'OK\r\n');
  await refused('SUBMIT_JOB_HIGH_BG');
  await accepted('SUBMIT_JOB_BG');
  await accepted('SUBMIT_JOB_LOW');
  client.close();

  const c2 = await peerFor(t, server);
  assert.equal(await admin.admin('maxqueue mq'), 'OK\r\n');
  await c2.request('SUBMIT_JOB_LOW_BG', ['mq', '', 'unlimited'], 'JOB_CREATED');
  assert.equal(await admin.admin('maxqueue mq 1'), 'OK\r\n');
  assert.deepEqual((await c2.request('SUBMIT_JOB_LOW_BG', ['mq', '', 'x'], 'ERROR')).text, ['QUEUE_ERROR', 'Job queue is full']);
  assert.equal(await admin.admin('maxqueue mq -5'), 'OK\r\n', 'negative means unlimited');
  await c2.request('SUBMIT_JOB_LOW_BG', ['mq', '', 'again'], 'JOB_CREATED');
  assert.equal(await admin.admin('maxqueue nosuch 3 2 1'), 'OK\r\n');
  assert.ok(!(await admin.admin('status')).includes('nosuch'), 'maxqueue does not create the function');
});

test('shutdown from loopback: OK, then the server stops', async (t) => {
  const server = await serverFor(t);
  const admin = await peerFor(t, server);
  const client = await peerFor(t, server);
  await client.request('SUBMIT_JOB_BG', ['sd', '', 'kept'], 'JOB_CREATED');
  assert.equal(await admin.admin('shutdown now'), 'ERR UNKNOWN_ARGS\r\n');
  assert.equal(await admin.admin('shutdown'), 'OK\r\n');
  await server.stopped;
  await client.waitClosed();
  await admin.waitClosed();
  await assert.rejects(RawPeer.connect(server.gearmanPort), 'no longer listening');
});

test('shutdown graceful lets the running job finish', async (t) => {
  const server = await serverFor(t);
  const admin = await peerFor(t, server);
  const client = await peerFor(t, server);
  const worker = await peerFor(t, server);
  worker.send('CAN_DO', 'g');
  const h = (await client.request('SUBMIT_JOB', ['g', '', 'x'], 'JOB_CREATED')).text[0]!;
  await worker.request('GRAB_JOB', [], 'JOB_ASSIGN');
  assert.equal(await admin.admin('shutdown graceful'), 'OK\r\n');
  // New work is refused while draining; the running job may finish and reach its client.
  await worker.request('GRAB_JOB', [], 'NO_JOB');
  worker.send('WORK_COMPLETE', h, 'made it');
  assert.deepEqual((await client.next('WORK_COMPLETE')).text, [h, 'made it']);
  await server.stopped;
});

// One host cannot make a non-loopback peer without leaving loopback, so the server is told not to
// trust loopback (as behind a local proxy) and its peers are treated as remote.
test('state-changing admin commands need the token from beyond loopback; auth TOKEN unlocks them', async (t) => {
  const address = '127.0.0.1';
  const server = await serverFor(t, { trustLoopback: false, adminToken: 's3cret' });
  const remote = await peerFor(t, server, address);
  const client = await peerFor(t, server, address);
  const h = (await client.request('SUBMIT_JOB_BG', ['tok', '', 'x'], 'JOB_CREATED')).text[0]!;
  const denied = 'ERR PERMISSION_DENIED this+command+changes+state;+send+"auth+TOKEN"+first+or+connect+from+loopback\r\n';
  for (const line of [`cancel job ${h}`, 'create function f', 'drop function tok', 'maxqueue tok 1', 'shutdown']) {
    assert.equal(await remote.admin(line), denied, line);
  }
  // Reading is allowed.
  assert.equal(await remote.admin('status'), 'tok\t1\t0\t0\n.\n');
  assert.match(await remote.admin('workers'), new RegExp(`^\\d+ ${address.replaceAll('.', '\\.')} - :\n`));
  assert.equal(await remote.admin('auth wrong'), 'ERR PERMISSION_DENIED bad+admin+token\r\n');
  assert.equal(await remote.admin(`cancel job ${h}`), denied, 'a wrong token unlocks nothing');
  assert.equal(await remote.admin('auth'), INCOMPLETE('auth'));
  assert.equal(await remote.admin('auth s3cret'), 'OK\r\n');
  assert.equal(await remote.admin(`cancel job ${h}`), 'OK\r\n');
  // The token is per connection.
  const other = await peerFor(t, server, address);
  assert.equal(await other.admin('maxqueue tok 1'), denied);
});

test('loopback needs no token; auth with a wrong token or with none configured is refused', async (t) => {
  const server = await serverFor(t, { adminToken: 's3cret' });
  const admin = await peerFor(t, server);
  assert.equal(await admin.admin('create function lo'), 'OK\r\n');
  assert.equal(await admin.admin('maxqueue lo 3'), 'OK\r\n');
  assert.equal(await admin.admin('auth nope'), 'ERR PERMISSION_DENIED bad+admin+token\r\n');
  assert.equal(await admin.admin('auth s3cret'), 'OK\r\n');
  const open = await serverFor(t);
  const admin2 = await peerFor(t, open);
  assert.equal(await admin2.admin('auth anything'), 'ERR PERMISSION_DENIED bad+admin+token\r\n', 'no token configured: nothing matches');
});

// Function names, client ids and unique keys come from anyone who can connect: names are checked (length,
// control characters), functions nobody uses any more are forgotten, their number is capped, and what
// the admin protocol echoes is escaped so no name can forge a row or end a listing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawPeer } from '../helpers/gearman-client.js';
import { escapeControls } from '../../src/protocol/escape.js';
import { sync } from './util.js';
import { peerFor, serverFor } from '../helpers/server.js';

test('2,000 CAN_DOs, then the worker leaves: the functions are gone from status, workers and /metrics', async (t) => {
  const server = await serverFor(t, { httpPort: 0, limits: { maxFunctions: 5000 } });
  const worker = await RawPeer.connect(server.gearmanPort);
  t.after(() => worker.close());
  for (let i = 0; i < 2000; i++) worker.send('CAN_DO', `spray-${i}-${'n'.repeat(400)}`);
  await sync(worker);
  const admin = await peerFor(t, server);
  assert.equal((await admin.admin('status')).split('\n').length, 2002);
  const metricsBefore = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
  assert.ok(metricsBefore.includes('spray-1999-'));

  // One that has a queued job, one an operator created, one with a maxqueue: those stay.
  const keeper = await peerFor(t, server);
  keeper.send('CAN_DO', 'kept-queued');
  await keeper.request('SUBMIT_JOB_BG', ['kept-queued', '', 'x'], 'JOB_CREATED');
  assert.equal(await admin.admin('create function kept-created'), 'OK\r\n');
  keeper.send('CAN_DO', 'kept-maxqueue');
  await sync(keeper);
  assert.equal(await admin.admin('maxqueue kept-maxqueue 5'), 'OK\r\n');
  keeper.close();
  worker.close();
  await worker.waitClosed();
  await keeper.waitClosed();
  await sync(admin);

  assert.equal(await admin.admin('status'), 'kept-queued\t1\t0\t0\nkept-created\t0\t0\t0\nkept-maxqueue\t0\t0\t0\n.\n');
  assert.equal(server.engine.functions.size, 3, 'forgotten, not just hidden');
  const metrics = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
  assert.ok(!metrics.includes('spray-'), 'no series left for forgotten functions');
  assert.equal(await admin.admin('drop function kept-created'), 'OK\r\n');
});

test('name length: over limits.maxFunctionNameBytes (512) is refused with ERROR INVALID_FUNCTION_NAME, a 4 MiB one included', async (t) => {
  const server = await serverFor(t);
  const peer = await peerFor(t, server);
  const huge = 'f'.repeat(4 * 1024 * 1024);
  for (const name of [huge, 'g'.repeat(513)]) {
    const e = await peer.request('CAN_DO', [name], 'ERROR');
    assert.equal(e.text[0], 'INVALID_FUNCTION_NAME');
    assert.match(e.text[1]!, new RegExp(`Function name of ${name.length} bytes is over the limit of 512`));
    assert.equal((await peer.request('SUBMIT_JOB_BG', [name, '', 'x'], 'ERROR')).text[0], 'INVALID_FUNCTION_NAME');
    assert.equal((await peer.request('CAN_DO_TIMEOUT', [name, '10'], 'ERROR')).text[0], 'INVALID_FUNCTION_NAME');
  }
  await peer.request('SUBMIT_JOB_BG', ['h'.repeat(512), '', 'x'], 'JOB_CREATED');
  const admin = await peerFor(t, server);
  assert.equal(await admin.admin('status'), `${'h'.repeat(512)}\t1\t0\t0\n.\n`);
  // Multi-byte characters count as bytes.
  assert.equal((await peer.request('SUBMIT_JOB_BG', ['é'.repeat(257), '', 'x'], 'ERROR')).text[0], 'INVALID_FUNCTION_NAME');
  const small = await serverFor(t, { limits: { maxFunctionNameBytes: 8 } });
  assert.equal((await (await peerFor(t, small)).request('CAN_DO', ['123456789'], 'ERROR')).text[0], 'INVALID_FUNCTION_NAME');
});

test('names with tab, newline, CR, escape, NUL-free controls: ERROR INVALID_FUNCTION_NAME, nothing forged in status', async (t) => {
  const server = await serverFor(t);
  const peer = await peerFor(t, server);
  for (const name of ['a\tb', 'fake\t9\t9\t9\nreal', 'x\r', '\n.\n', '\x1b[31mred', 'del\x7f', 'c1\u009b', '']) {
    const e = await peer.request('CAN_DO', [name], 'ERROR');
    assert.equal(e.text[0], 'INVALID_FUNCTION_NAME', JSON.stringify(name));
    assert.equal((await peer.request('SUBMIT_JOB', [name, '', 'x'], 'ERROR')).text[0], 'INVALID_FUNCTION_NAME');
  }
  // A lone "." is a printable name: its row has columns, so it cannot end the listing.
  peer.send('CAN_DO', '.');
  peer.send('CAN_DO', 'after-dot');
  await sync(peer);
  const admin = await peerFor(t, server);
  assert.equal(await admin.admin('status'), '.\t0\t0\t1\nafter-dot\t0\t0\t1\n.\n');
  assert.equal(
    await admin.admin('create function bad\x1bname'),
    'ERR INVALID_FUNCTION_NAME Function+name+contains+the+control+character+U+001B+at+position+3\r\n',
  );
});

test('names already stored with control characters (an older database) are escaped in every admin listing', async (t) => {
  const server = await serverFor(t);
  const fn = server.engine.functions.ensure('old\tname\n.');
  fn.pinned = true;
  const admin = await peerFor(t, server);
  assert.equal(await admin.admin('status'), 'old\\x09name\\x0a.\t0\t0\t0\n.\n');
  assert.equal(await admin.admin('prioritystatus'), 'old\\x09name\\x0a.\t0\t0\t0\t0\n.\n');
  assert.equal(await admin.admin('bogus\x1b[2J'), 'ERR UNKNOWN_COMMAND Unknown+server+commandbogus\\x1b[2J\r\n');
});

test('names that are not UTF-8 are refused: two byte strings never become one function', async (t) => {
  const server = await serverFor(t);
  const peer = await peerFor(t, server);
  for (const name of [Buffer.from([0xff, 0xfe]), Buffer.from([0xfe, 0xff]), Buffer.from('caf\xe9', 'latin1')]) {
    const e = await peer.request('CAN_DO', [name], 'ERROR');
    assert.deepEqual([e.text[0], e.text[1]], ['INVALID_FUNCTION_NAME', 'Function name is not valid UTF-8 (it decodes to U+FFFD)']);
    assert.equal((await peer.request('SUBMIT_JOB_BG', [name, '', 'x'], 'ERROR')).text[0], 'INVALID_FUNCTION_NAME');
  }
  await peer.request('SUBMIT_JOB_BG', ['café', '', 'x'], 'JOB_CREATED');
  const admin = await peerFor(t, server);
  assert.equal(await admin.admin('status'), 'café\t1\t0\t0\n.\n');
});

test('SET_CLIENT_ID with a newline is refused with ERROR INVALID_CLIENT_ID and forges no line in workers', async (t) => {
  const server = await serverFor(t);
  const worker = await peerFor(t, server);
  worker.send('SET_CLIENT_ID', 'good-id');
  worker.send('CAN_DO', 'cid');
  const e = await worker.request('SET_CLIENT_ID', ['x :\n999 6.6.6.6 forged : cid'], 'ERROR');
  assert.deepEqual(e.text, ['INVALID_CLIENT_ID', 'Client id must not contain control characters; the previous id is kept']);
  assert.equal((await worker.request('SET_CLIENT_ID', ['tab\there'], 'ERROR')).text[0], 'INVALID_CLIENT_ID');
  await sync(worker);
  const admin = await peerFor(t, server);
  const rows = (await admin.admin('workers')).split('\n');
  assert.equal(rows.length, 4, JSON.stringify(rows));
  assert.match(rows[0]!, / good-id : cid$/);
  assert.ok(!rows.some((r) => r.includes('forged')));
});

test('show unique jobs: a unique "." or with a newline cannot end or forge the listing', async (t) => {
  const server = await serverFor(t);
  const client = await peerFor(t, server);
  await client.request('SUBMIT_JOB_BG', ['uq', '.', 'a'], 'JOB_CREATED');
  await client.request('SUBMIT_JOB_BG', ['uq', 'line\n.\nmore', 'b'], 'JOB_CREATED');
  await client.request('SUBMIT_JOB_BG', ['uq', 'plain', 'c'], 'JOB_CREATED');
  const admin = await peerFor(t, server);
  assert.equal(await admin.admin('show unique jobs'), '\\x2e\nline\\x0a.\\x0amore\nplain\n.\n');
});

test('limits.maxFunctions: a new function past the cap gets ERROR TOO_MANY_FUNCTIONS; idle ones make room', async (t) => {
  const server = await serverFor(t, { httpPort: 0, limits: { maxFunctions: 3 } });
  const w1 = await peerFor(t, server);
  w1.send('CAN_DO', 'a');
  w1.send('CAN_DO', 'b');
  const client = await peerFor(t, server);
  await client.request('SUBMIT_JOB_BG', ['c', '', 'x'], 'JOB_CREATED');
  const e = await w1.request('CAN_DO', ['d'], 'ERROR');
  assert.deepEqual(e.text, ['TOO_MANY_FUNCTIONS', 'Too many functions: 3 are in use (limit 3)']);
  assert.equal((await client.request('SUBMIT_JOB', ['d', '', 'x'], 'ERROR')).text[0], 'TOO_MANY_FUNCTIONS');
  const admin = await peerFor(t, server);
  assert.match(await admin.admin('create function d'), /^ERR TOO_MANY_FUNCTIONS Too\+many\+functions/);
  const api = await fetch(`http://127.0.0.1:${server.httpPort}/api/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ function: 'd', payload: 'x' }),
  });
  assert.equal(api.status, 503);
  assert.equal(((await api.json()) as { error: { code: string } }).error.code, 'LAZ_TOO_MANY_FUNCTIONS');
  // Existing functions are unaffected.
  await client.request('SUBMIT_JOB_BG', ['a', '', 'x'], 'JOB_CREATED');
  // b loses its only worker... (a keeps its queued job): room for one more.
  w1.send('CANT_DO', 'b');
  await sync(w1);
  w1.send('CAN_DO', 'd');
  assert.deepEqual(await sync(w1), []);
  assert.equal(await admin.admin('status'), 'a\t1\t0\t1\nc\t1\t0\t0\nd\t0\t0\t1\n.\n');
});

test('POST /api/jobs applies the same name check: 400 LAZ_BAD_FUNCTION_NAME', async (t) => {
  const server = await serverFor(t, { httpPort: 0 });
  for (const name of ['tab\there', 'x'.repeat(513), 'nul\0', 'esc\x1b']) {
    const res = await fetch(`http://127.0.0.1:${server.httpPort}/api/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ function: name, payload: 'x' }),
    });
    assert.equal(res.status, 400, JSON.stringify(name));
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'LAZ_BAD_FUNCTION_NAME');
  }
  assert.equal(server.engine.jobCount, 0);
});

test('escapeControls: controls, separators and bidi overrides become visible; other text is untouched', () => {
  assert.equal(escapeControls('a\tb\nc\x1b[0m\x00\x7f\u009b'), 'a\\x09b\\x0ac\\x1b[0m\\x00\\x7f\\x9b');
  assert.equal(escapeControls('r\u202eevil\u2028'), 'r\\u{202e}evil\\u{2028}');
  assert.equal(escapeControls('naïve 名前 emoji 🚀 \\x41'), 'naïve 名前 emoji 🚀 \\x41');
});

// Background jobs only the store holds (beyond a window of 2), over a real Gearman connection:
// GET_STATUS_UNIQUE finds them, and a foreground submission of the same function and unique joins one
// (its handle, its result), which runs once.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rawWorker } from '../helpers/gearman-client.js';
import { peerFor, serverFor } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';

test('GET_STATUS_UNIQUE and a foreground SUBMIT_JOB find a background job only the store holds; it runs once and the foreground client gets its result', async (t) => {
  const server = await serverFor(t, { queue: { window: 2 } });
  const client = await peerFor(t, server);
  const handles: string[] = [];
  for (let i = 0; i < 4; i++) handles.push((await client.request('SUBMIT_JOB_BG', ['resize', `u${i}`, `p${i}`], 'JOB_CREATED')).text[0]!);
  assert.equal(server.engine.job(handles[3]!), undefined, 'beyond the window');

  const status = async (unique: string): Promise<string[]> => (await client.request('GET_STATUS_UNIQUE', [unique], 'STATUS_RES_UNIQUE')).text;
  assert.deepEqual(await status('u3'), ['u3', '1', '0', '0', '0', '0']);
  assert.deepEqual(await status('nope'), ['nope', '0', '0', '0', '0', '0']);

  // Pipelined: the foreground submission and a status query behind it answer in order.
  client.send('SUBMIT_JOB', 'resize', 'u3', 'ignored');
  client.send('GET_STATUS_UNIQUE', 'u3');
  assert.equal((await client.next('JOB_CREATED')).text[0], handles[3], 'the stored job takes the submission');
  assert.deepEqual((await client.next('STATUS_RES_UNIQUE')).text, ['u3', '1', '0', '0', '0', '1'], 'in memory now, with its client');

  const ran: string[] = [];
  const worker = await rawWorker(server.gearmanPort, 'resize', (payload) => {
    ran.push(payload.toString());
    return Buffer.from(`done ${payload.toString()}`);
  });
  t.after(() => worker.close());
  const complete = await client.next('WORK_COMPLETE');
  assert.deepEqual(complete.text, [handles[3], 'done p3']);
  // p3 joined the window, behind p0 and p1, ahead of p2 that still waited in the store.
  await eventually(() => ran.length === 4, 'every job ran');
  assert.deepEqual([...ran].sort(), ['p0', 'p1', 'p2', 'p3'], 'each job once');
  assert.deepEqual(await status('u3'), ['u3', '0', '0', '0', '0', '0']);
});

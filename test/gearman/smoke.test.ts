import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawPeer } from '../helpers/gearman-client.js';
import { startTestServer } from '../helpers/server.js';

test('foreground and background jobs flow through a raw worker', async (t) => {
  const server = await startTestServer();
  t.after(() => server.dispose());
  const client = await RawPeer.connect(server.gearmanPort);
  const worker = await RawPeer.connect(server.gearmanPort);
  t.after(() => {
    client.close();
    worker.close();
  });
  const created = await client.request('SUBMIT_JOB_BG', ['rev', 'u1', 'abc'], 'JOB_CREATED');
  assert.match(created.text[0]!, /^H:test:\d+$/);
  const fg = await client.request('SUBMIT_JOB', ['rev', '', 'xyz'], 'JOB_CREATED');
  worker.send('CAN_DO', 'rev');
  const a1 = await worker.request('GRAB_JOB_UNIQ', [], 'JOB_ASSIGN_UNIQ');
  assert.deepEqual(a1.text.slice(1), ['rev', 'u1', 'abc']);
  worker.send('WORK_COMPLETE', a1.args[0]!, 'cba');
  const a2 = await worker.request('GRAB_JOB', [], 'JOB_ASSIGN');
  assert.equal(a2.text[0], fg.text[0]);
  worker.send('WORK_STATUS', a2.args[0]!, '1', '2');
  const st = await client.next('WORK_STATUS');
  assert.deepEqual(st.text, [fg.text[0], '1', '2']);
  worker.send('WORK_COMPLETE', a2.args[0]!, 'zyx');
  const done = await client.next('WORK_COMPLETE');
  assert.deepEqual(done.text, [fg.text[0], 'zyx']);
  assert.equal(await client.admin('status'), 'rev\t0\t0\t1\n.\n');
});

// /health on a node of a cluster: a function whose jobs wait in the shared store is served when any node
// has a worker for it (the workers each node publishes at its lease renewal), and red when none has.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { STORE_CHECK_EVERY_MS } from '../../src/observe/health.js';
import { freshPostgres, TEST_POSTGRES_URL } from '../helpers/postgres.js';
import { peerFor, startTestServer, type TestServer } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';
import { grab, submitBg } from '../quarantine/helpers.js';

test('unserved on a cluster: green while another node has a worker for the queue, red once no node has', async (t) => {
  const db = freshPostgres();
  const servers: TestServer[] = [];
  t.after(async () => {
    for (const s of servers) await s.dispose();
    await db.cleanup();
  });
  const clock = new ManualClock(Date.now());
  const node = async (name: string, c?: ManualClock): Promise<TestServer> => {
    const server = await startTestServer(
      { store: TEST_POSTGRES_URL, storeSchema: db.schema, cluster: { node: name, leaseMs: 1500 } },
      c === undefined ? {} : { clock: c },
    );
    servers.push(server);
    return server;
  };
  // `a` has no worker; its clock is the test's, so its checks see an unserved queue as old as the test says.
  const a = await node('a', clock);
  const b = await node('b');
  // b's one worker takes one job and keeps it; b's window takes what it may; the rest waits in the store.
  const worker = await peerFor(t, b.gearmanPort);
  worker.send('CAN_DO', 'thumb');
  const client = await peerFor(t, a.gearmanPort);
  for (let i = 0; i < 40; i++) await submitBg(client, 'thumb', `job ${i}`);
  await grab(worker);
  const unserved = async () => {
    clock.advance(STORE_CHECK_EVERY_MS);
    return (await a.health.check()).checks.find((c) => c.name === 'unserved' && c.function === 'thumb');
  };
  clock.advance(60_000);
  const served = await eventually(async () => {
    const check = await unserved();
    return check?.state === 'ok' && /worker on other nodes/.test(check.reason) && check;
  }, "a's health to count b's worker");
  assert.match(served.reason, /^1 worker on other nodes for \d+ queued jobs$/);

  // b's worker leaves: b gives its window back, and its next renewal publishes no worker.
  worker.close();
  const red = await eventually(async () => {
    clock.advance(60_000);
    const check = await unserved();
    return check?.state === 'fail' && check;
  }, "a's health to turn red once no node has a worker");
  assert.match(red.reason, /^\d+ jobs queued and no worker connected on any node for \d+ s$/);
});

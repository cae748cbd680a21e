// Webhook alerts reach a local HTTP receiver, signed: a check turning red and recovering, a quarantined
// job, the per-minute limit with its summary, and a retry after the receiver failed.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { test } from 'node:test';
import pino from 'pino';
import { ManualClock } from '../../src/core/clock.js';
import { AlertOutbox } from '../../src/observe/alerts/outbox.js';
import { AlertSender } from '../../src/observe/alerts/sender.js';
import { SqliteStore } from '../../src/storage/sqlite/store.js';
import type { QuarantineRow } from '../../src/storage/types.js';
import { receiver, type Received } from '../observe/alerts/receiver.js';
import { grab, health, healthWith, httpServer, submitBg } from './helpers.js';
import { peerFor } from '../helpers/server.js';

/** The receiver's check from docs/observability.md: the HMAC of "t.body", and t within 5 minutes. */
function validSignature(r: Received, secret: string, nowSeconds = Math.floor(Date.now() / 1000)): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(r.headers['x-lazaret-signature']));
  if (m === null) return false;
  const expected = createHmac('sha256', secret).update(`${m[1]}.${r.raw}`).digest('hex');
  return expected === m[2] && Math.abs(nowSeconds - Number(m[1])) <= 300;
}

test('a red check, its recovery and a quarantined job each POST once, with a valid HMAC', async (t) => {
  const hook = await receiver(t);
  const secret = 'webhook-secret';
  const server = await httpServer(t, {
    health: healthWith([{ function: 'ship*', minWorkers: 1 }]),
    alerts: { webhooks: [{ url: hook.url, secret, events: ['health.failed', 'health.recovered', 'job.quarantined'] }], quarantinePerMinute: 10 },
    policies: [{ match: 'ship_poison', maxAttempts: 1 }],
  });
  const client = await peerFor(t, server.gearmanPort);
  await submitBg(client, 'ship_label', 'order-1');
  assert.equal((await health(server)).status, 503);
  const [failed] = await hook.count(1);
  assert.equal(failed!.body.event, 'health.failed');
  assert.equal(failed!.headers['x-lazaret-event'], 'health.failed');
  assert.deepEqual(failed!.body.check, {
    name: 'workers',
    function: 'ship_label',
    state: 'fail',
    reason: '0 workers connected, at least 1 wanted',
    value: 0,
    threshold: 1,
  });
  assert.ok(validSignature(failed!, secret), 'HMAC of the body');

  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'ship_label');
  await worker.request('ECHO_REQ', ['registered'], 'ECHO_RES');
  assert.equal((await health(server)).status, 200);
  const recovered = (await hook.count(2))[1]!;
  assert.equal(recovered.body.event, 'health.recovered');
  assert.equal((recovered.body.check as { function: string; state: string }).state, 'ok');
  assert.ok(validSignature(recovered, secret));

  const poisonWorker = await peerFor(t, server.gearmanPort);
  poisonWorker.send('CAN_DO', 'ship_poison');
  const handle = await submitBg(client, 'ship_poison', 'bad');
  await grab(poisonWorker);
  poisonWorker.send('WORK_FAIL', handle);
  const quarantined = (await hook.count(3))[2]!;
  assert.equal(quarantined.body.event, 'job.quarantined');
  const job = quarantined.body.job as { handle: string; function: string; reason: string; attempts: number };
  assert.deepEqual([job.handle, job.function, job.reason, job.attempts], [handle, 'ship_poison', 'max_attempts', 1]);
  assert.ok(validSignature(quarantined, secret));
  assert.equal(hook.got.length, 3, 'one POST each');
});

function entry(id: number, fn: string): QuarantineRow {
  return {
    id,
    handle: `H:t:${id}`,
    function: fn,
    unique: '',
    payload: Buffer.alloc(0),
    priority: 1,
    submittedAt: 0,
    deadline: null,
    reason: 'max_crashes',
    detail: 'x',
    quarantinedAt: 0,
    attempts: [],
    tags: [],
  };
}

test('a burst of quarantines: the first N one by one, then one summary a minute later; failed deliveries are retried', async (t) => {
  const clock = new ManualClock();
  // The first request fails: the retry (after 1 s of clock time) delivers it.
  const hook = await receiver(t, (n) => (n === 1 ? 500 : 204));
  const store = new SqliteStore({ path: ':memory:' });
  await store.open();
  const outbox = new AlertOutbox(store, [{ url: hook.url, secret: null, events: ['job.quarantined'] }], {
    clock,
    log: pino({ level: 'silent' }),
    retryForMs: 86_400_000,
    undeliveredAfterMs: 300_000,
  });
  await outbox.start();
  const sender = new AlertSender(outbox, { clock, quarantinePerMinute: 2, repeatEveryMs: 0 });
  t.after(async () => {
    sender.close();
    outbox.close();
    await store.close();
  });
  const failed = once(outbox, 'alert:failed');
  sender.healthChanged({ name: 'workers', state: 'fail', reason: 'not subscribed' });
  for (let i = 1; i <= 5; i++) sender.quarantined(entry(i, i <= 3 ? 'pdf' : 'zip'));

  await failed; // the 500; its retry is armed
  assert.equal(hook.got.length, 0);
  clock.advance(1_000);
  await hook.count(2);
  assert.deepEqual(
    hook.got.map((r) => (r.body.job as { id: number }).id),
    [1, 2],
  );
  assert.equal(hook.got[0]!.headers['x-lazaret-signature'], undefined, 'no secret, no signature');

  clock.advance(59_000);
  const summary = (await hook.count(3))[2]!;
  assert.equal(summary.body.event, 'job.quarantined');
  assert.deepEqual(summary.body.summary, {
    count: 3,
    since: new Date(clock.now() - 60_000).toISOString(),
    functions: { pdf: 1, zip: 2 },
    reasons: { max_crashes: 3 },
  });
  assert.equal(hook.got.length, 3, 'health alerts were not asked for');
});

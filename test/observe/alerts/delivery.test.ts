// Alert delivery rules: a redirect is a failed delivery and is never followed; an alert is given up only
// after alerts.retryFor; a check that stays red is alerted again every alerts.repeatEvery and no more once
// it recovered; a webhook's stored alerts are bounded.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import pino from 'pino';
import { AlertOutbox, type OutboxOptions } from '../../../src/observe/alerts/outbox.js';
import { ManualClock } from '../../../src/core/clock.js';
import { SqliteStore } from '../../../src/storage/sqlite/store.js';
import type { AlertRow } from '../../../src/storage/types.js';
import { checkOf, health, healthWith, submitBg } from '../../http/helpers.js';
import { closedPort, receiver, type Received } from './receiver.js';
import { peerFor, serverFor } from '../../helpers/server.js';

async function outboxFor(t: TestContext, url: string, opts: Partial<OutboxOptions> = {}) {
  const clock = new ManualClock();
  const store = new SqliteStore({ path: ':memory:' });
  await store.open();
  const outbox = new AlertOutbox(store, [{ url, secret: 's', events: ['health.failed', 'job.quarantined'] }], {
    clock,
    log: pino({ level: 'silent' }),
    retryForMs: 86_400_000,
    undeliveredAfterMs: 300_000,
    ...opts,
  });
  await outbox.start();
  t.after(async () => {
    outbox.close();
    await store.close();
  });
  return { clock, store, outbox };
}

test('a 3xx is a failed delivery: the Location is not followed and the signed body goes nowhere else', async (t) => {
  const elsewhere = await receiver(t);
  const hook = await receiver(t, (n) => (n === 1 ? { status: 302, location: `${elsewhere.url}?token=x` } : 204));
  const { clock, outbox } = await outboxFor(t, hook.url);
  const failed = once(outbox, 'alert:failed');
  await outbox.raise('health.failed', 'd-1', '{"event":"health.failed"}');
  const [, error] = (await failed) as [AlertRow, string];
  assert.match(error, /^HTTP 302 redirect to http:\/\/127\.0\.0\.1:\d+\/hook not followed/);
  assert.doesNotMatch(error, /token/, 'the Location is logged without its query');
  assert.equal(elsewhere.requests, 0);
  clock.advance(1000);
  await hook.count(1);
  assert.equal(elsewhere.requests, 0);
});

test('an alert is retried until alerts.retryFor after it was raised, the last try exactly then, and then given up', async (t) => {
  const port = await closedPort();
  const { clock, store, outbox } = await outboxFor(t, `http://127.0.0.1:${port}/hook`, { retryForMs: 20 * 60_000 });
  const start = clock.now();
  const tries: number[] = [];
  outbox.on('alert:failed', () => tries.push(clock.now() - start));
  const dropped = once(outbox, 'alert:dropped').then(() => {
    tries.push(clock.now() - start);
    return null;
  });
  const first = once(outbox, 'alert:failed');
  await outbox.raise('health.failed', 'd-1', '{}');
  let [row] = (await first) as [AlertRow];
  for (;;) {
    const next = Promise.race([once(outbox, 'alert:failed') as Promise<[AlertRow]>, dropped]);
    clock.advance(row.nextAt - clock.now());
    const ended = await next;
    if (ended === null) break;
    [row] = ended;
  }
  const s = 1000;
  // 1, 2, 4 ... 256 s, then every 300 s; the last try falls at 20 min and fails: given up.
  const expected = [0, 1, 3, 7, 15, 31, 63, 127, 255, 511, 811, 1111].map((x) => x * s);
  assert.deepEqual(tries.slice(0, expected.length), expected);
  assert.equal(tries[tries.length - 1], 20 * 60_000);
  assert.equal(outbox.pending, 0);
  assert.equal(outbox.dropped, 1);
  assert.deepEqual(await store.alertsList(), [], 'deleted from the store once given up');
});

test('a webhook keeps at most maxPerHook alerts; the oldest waiting one is dropped, the one in flight stays', async (t) => {
  // A receiver that takes the connection and never answers: the first alert stays in flight all along.
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => void sockets.add(socket));
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  t.after(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const { port } = silent.address() as AddressInfo;
  const { store, outbox } = await outboxFor(t, `http://127.0.0.1:${port}/hook`, { maxPerHook: 3 });
  for (let i = 1; i <= 5; i++) await outbox.raise('job.quarantined', `d-${i}`, `{"n":${i}}`);
  assert.equal(outbox.pending, 3);
  assert.equal(outbox.dropped, 2);
  assert.deepEqual(
    (await store.alertsList()).map((a) => a.delivery),
    ['d-1', 'd-4', 'd-5'],
  );
});

test('a check that stays red is alerted again every repeatEvery, and no more once it recovered', async (t) => {
  const hook = await receiver(t);
  const clock = new ManualClock();
  const server = await serverFor(
    t,
    {
      httpPort: 0,
      health: healthWith([{ function: 'ship_label', minWorkers: 1 }]),
      alerts: { webhooks: [{ url: hook.url, secret: null, events: ['health.failed', 'health.recovered'] }] },
    },
    { clock },
  );
  const client = await peerFor(t, server.gearmanPort);
  await submitBg(client, 'ship_label', 'order-1');
  const raisedAt = clock.now();
  // Only the `workers` check's alerts: the job waiting with no worker also trips the default `unserved` one.
  const workers = (r: Received): boolean => (r.body.check as { name: string }).name === 'workers';
  const ofWorkers = (): Received[] => hook.got.filter(workers);
  assert.equal((await health(server)).status, 503);
  const first = await hook.until(workers);
  assert.equal(first.body.event, 'health.failed');
  assert.equal(first.body.repeat, undefined);

  clock.advance(3_600_000);
  const repeat = await hook.until((r) => workers(r) && r.body.repeat === 1);
  assert.equal(repeat.body.event, 'health.failed');
  assert.equal(repeat.body.failingSince, new Date(raisedAt).toISOString());
  assert.equal((repeat.body.check as { function: string }).function, 'ship_label');

  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'ship_label');
  await worker.request('ECHO_REQ', ['registered'], 'ECHO_RES');
  assert.equal((await health(server)).status, 200);
  await hook.until((r) => workers(r) && r.body.event === 'health.recovered');

  clock.advance(2 * 3_600_000);
  worker.close();
  // Wait for the `workers` check itself: after two idle hours the default `stalled` check is red too.
  while (checkOf((await health(server)).body, 'workers', 'ship_label').state !== 'fail') clock.advance(1000);
  const next = await hook.until((r, i) => workers(r) && i > hook.got.indexOf(repeat) && r.body.event === 'health.failed');
  assert.equal(next.body.repeat, undefined, 'a new outage, not a repeat of the old one');
  assert.deepEqual(
    ofWorkers().map((r) => [r.body.event, r.body.repeat]),
    [
      ['health.failed', undefined],
      ['health.failed', 1],
      ['health.recovered', undefined],
      ['health.failed', undefined],
    ],
  );
});

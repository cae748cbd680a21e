// A webhook receiver that is down (connection refused) while a check turns red: the alert is stored,
// retried on the documented schedule, shows in /metrics and, once it has failed for
// alerts.undeliveredAfter, in /health; the node restarts with it pending, the receiver comes back on its
// port, and the very same alert (same delivery id and body) arrives, signed. The clock is injected: the
// minutes of the outage pass in an instant.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { test } from 'node:test';
import type { AlertRow } from '../../../src/storage/types.js';
import { ManualClock } from '../../../src/core/clock.js';
import { checkOf, get, health, healthWith, submitBg } from '../../http/helpers.js';
import { freshSqlite } from '../../helpers/store.js';
import { closedPort, receiver } from './receiver.js';
import { peerFor, serverFor } from '../../helpers/server.js';

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{node="[^"]*"\\})? (\\S+)$`, 'm').exec(text);
  assert.ok(m, `${name} in /metrics`);
  return Number(m[1]);
}

test('an alert raised while the receiver is down survives a restart and arrives when it is back', async (t) => {
  const port = await closedPort();
  const url = `http://127.0.0.1:${port}/hook`;
  const secret = 'outage-secret';
  const db = await freshSqlite();
  t.after(() => db.cleanup());
  const patch = {
    httpPort: 0,
    health: healthWith([{ function: 'ship_label', minWorkers: 1 }]),
    alerts: { webhooks: [{ url, secret, events: ['health.failed' as const] }], undeliveredAfter: 60_000 },
  };

  const clock = new ManualClock();
  const first = await serverFor(t, patch, { clock, dbPath: db.path });
  const outbox = first.alerts!.outbox;
  const client = await peerFor(t, first.gearmanPort);
  await submitBg(client, 'ship_label', 'order-1');

  let failed = once(outbox, 'alert:failed');
  assert.equal((await health(first)).status, 503, 'no worker for ship_label');
  const [alert, error] = (await failed) as [AlertRow, string];
  assert.equal(error, 'ECONNREFUSED');
  assert.deepEqual([alert.event, alert.attempts, alert.nextAt - clock.now()], ['health.failed', 1, 1000], 'first retry 1 s later');
  assert.equal((await health(first)).body.checks.find((c) => c.name === 'alerts')?.state, 'ok', 'one failed try is not yet an outage');

  // Retries back off: 1 s, 2 s, 4 s ... each timer fires one try; the clock jumps past the 60 s mark.
  let last = alert;
  for (const wait of [1000, 2000, 4000, 8000, 16_000, 32_000]) {
    failed = once(outbox, 'alert:failed');
    clock.advance(wait);
    [last] = (await failed) as [AlertRow];
    assert.equal(last.delivery, alert.delivery, 'the oldest alert is retried first');
  }
  assert.equal(last.nextAt - clock.now(), 64_000, 'the 7th failure waits 64 s');
  const red = await health(first);
  assert.equal(red.status, 503);
  const check = checkOf(red.body, 'alerts');
  assert.equal(check.state, 'fail');
  assert.match(check.reason, /127\.0\.0\.1:\d+\/hook .*failing for 63s: ECONNREFUSED/);
  const metrics = (await get(first, '/metrics')).text;
  assert.ok(metric(metrics, 'lazaret_alert_deliveries_failed_total') >= 7);
  assert.ok(metric(metrics, 'lazaret_alerts_pending') >= 1);
  assert.equal(metric(metrics, 'lazaret_alerts_delivered_total'), 0);

  await first.stop();

  // The receiver comes back where it was; the restarted node resumes the stored alert.
  const hook = await receiver(t, () => 204, port);
  const clock2 = new ManualClock(clock.now());
  const second = await serverFor(t, patch, { clock: clock2, dbPath: db.path });
  assert.ok(second.alerts!.outbox.pending >= 1, 'the pending alert was loaded from the store');
  clock2.advance(5 * 60_000);
  const got = await hook.until((r) => r.headers['x-lazaret-delivery'] === alert.delivery);
  assert.equal(got.raw, alert.body, 'the very body raised before the restart');
  assert.equal(got.body.event, 'health.failed');
  assert.equal((got.body.check as { function: string }).function, 'ship_label');
  const sig = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(got.headers['x-lazaret-signature']));
  assert.ok(sig, 'signed with a timestamp');
  assert.equal(Number(sig[1]), Math.floor(last.nextAt / 1000), 'the time of this try (its stored schedule), not of the first');
  assert.equal(sig[2], createHmac('sha256', secret).update(`${sig[1]}.${got.raw}`).digest('hex'));

  await once(second.alerts!.outbox, 'alert:delivered');
  const after = (await get(second, '/metrics')).text;
  assert.ok(metric(after, 'lazaret_alerts_delivered_total') >= 1);
});

// Webhook alerts reach a local HTTP receiver, signed: a check turning red and recovering, a quarantined
// job, the per-minute limit with its summary, and a retry after the receiver failed.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { setTimeout } from 'node:timers/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import pino from 'pino';
import { ManualClock } from '../../src/core/clock.js';
import { AlertSender } from '../../src/http/alerts.js';
import type { QuarantineRow } from '../../src/storage/types.js';
import { grab, health, healthWith, httpServer, peerFor, submitBg } from './helpers.js';

interface Received {
  headers: IncomingHttpHeaders;
  raw: string;
  body: Record<string, unknown> & { event: string };
}

/** A webhook receiver on a port of its own; `answer` picks the status of each request. */
async function receiver(t: TestContext, answer: (n: number) => number = () => 204) {
  const got: Received[] = [];
  const events = new EventEmitter();
  let requests = 0;
  const server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      const status = answer(++requests);
      if (status < 300) got.push({ headers: req.headers, raw, body: JSON.parse(raw) as Received['body'] });
      res.writeHead(status).end();
      events.emit('request');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  /** Resolves once n alerts were accepted in all. */
  const until = async (n: number): Promise<Received[]> => {
    while (got.length < n) await once(events, 'request');
    return got;
  };
  return { url, got, until, events };
}

function validSignature(r: Received, secret: string): boolean {
  return r.headers['x-lazaret-signature'] === `sha256=${createHmac('sha256', secret).update(r.raw).digest('hex')}`;
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
  const [failed] = await hook.until(1);
  assert.equal(failed!.body.event, 'health.failed');
  assert.equal(failed!.headers['x-lazaret-event'], 'health.failed');
  assert.deepEqual(failed!.body.check, { name: 'workers', function: 'ship_label', state: 'fail', reason: '0 workers connected, at least 1 wanted', value: 0, threshold: 1 });
  assert.ok(validSignature(failed!, secret), 'HMAC of the body');

  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'ship_label');
  await worker.request('ECHO_REQ', ['registered'], 'ECHO_RES');
  assert.equal((await health(server)).status, 200);
  const recovered = (await hook.until(2))[1]!;
  assert.equal(recovered.body.event, 'health.recovered');
  assert.equal((recovered.body.check as { function: string; state: string }).state, 'ok');
  assert.ok(validSignature(recovered, secret));

  const poisonWorker = await peerFor(t, server.gearmanPort);
  poisonWorker.send('CAN_DO', 'ship_poison');
  const handle = await submitBg(client, 'ship_poison', 'bad');
  await grab(poisonWorker);
  poisonWorker.send('WORK_FAIL', handle);
  const quarantined = (await hook.until(3))[2]!;
  assert.equal(quarantined.body.event, 'job.quarantined');
  const job = quarantined.body.job as { handle: string; function: string; reason: string; attempts: number };
  assert.deepEqual([job.handle, job.function, job.reason, job.attempts], [handle, 'ship_poison', 'max_attempts', 1]);
  assert.ok(validSignature(quarantined, secret));
  assert.equal(hook.got.length, 3, 'one POST each');
});

function entry(id: number, fn: string): QuarantineRow {
  return { id, handle: `H:t:${id}`, function: fn, unique: '', payload: Buffer.alloc(0), priority: 1, submittedAt: 0, deadline: null, reason: 'max_crashes', detail: 'x', quarantinedAt: 0, attempts: [], tags: [] };
}

test('a burst of quarantines: the first N one by one, then one summary a minute later; failed deliveries are retried', async (t) => {
  const clock = new ManualClock();
  // The first request fails: the retry (after 1 s of clock time) delivers it.
  const hook = await receiver(t, (n) => (n === 1 ? 500 : 204));
  const sender = new AlertSender([{ url: hook.url, secret: null, events: ['job.quarantined'] }], { clock, log: pino({ level: 'silent' }), quarantinePerMinute: 2 });
  t.after(() => sender.close());
  sender.healthChanged({ name: 'workers', state: 'fail', reason: 'not subscribed' });
  for (let i = 1; i <= 5; i++) sender.quarantined(entry(i, i <= 3 ? 'pdf' : 'zip'));

  await once(hook.events, 'request'); // the 500
  assert.equal(hook.got.length, 0);
  // The sender learns of the 500 a moment after the receiver answered it; no event marks its retry
  // timer, so look for it (the other timer is the summary's).
  while (clock.pending < 2) await setTimeout(5);
  clock.advance(1_000);
  await hook.until(2);
  assert.deepEqual(hook.got.map((r) => (r.body.job as { id: number }).id), [1, 2]);
  assert.equal(hook.got[0]!.headers['x-lazaret-signature'], undefined, 'no secret, no signature');

  clock.advance(59_000);
  const summary = (await hook.until(3))[2]!;
  assert.equal(summary.body.event, 'job.quarantined');
  assert.deepEqual(summary.body.summary, { count: 3, since: new Date(clock.now() - 60_000).toISOString(), functions: { pdf: 1, zip: 2 }, reasons: { max_crashes: 3 } });
  assert.equal(hook.got.length, 3, 'health alerts were not asked for');
});

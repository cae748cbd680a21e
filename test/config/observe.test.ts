// The health, alerts and http sections of the config: defaults, durations, and every bad value named.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { isLazaretError } from '../../src/errors.js';

function fromFile(t: TestContext, content: unknown) {
  const dir = mkdtempSync(join(tmpdir(), 'lazaret-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'lazaret.json');
  writeFileSync(file, JSON.stringify(content));
  return loadConfig({ config: file }, {}, dir);
}

test('defaults: checks every 10 s, 30 s without a worker is red, nothing protected, no webhooks', (t) => {
  const c = fromFile(t, {});
  assert.deepEqual(c.health, { intervalMs: 10_000, unservedAfterMs: 30_000, stalledAfterMs: 60_000, rules: [] });
  assert.deepEqual(c.http, {
    corsOrigins: [],
    allowedHosts: [],
    protectHealth: false,
    protectMetrics: false,
    maxEventStreams: 1000,
    maxEventStreamsPerJob: 16,
    maxEventStreamBytes: 262144,
    maxConnections: 1000,
    requestTimeoutMs: 30000,
    idleTimeoutMs: 60000,
    tls: null,
  });
  assert.deepEqual(c.alerts, { webhooks: [], quarantinePerMinute: 10, retryFor: 86_400_000, repeatEvery: 3_600_000, undeliveredAfter: 300_000 });
});

test('alert delivery takes durations; repeatEvery 0 alerts once; bad ones are named', (t) => {
  const c = fromFile(t, { alerts: { retryFor: '2h', repeatEvery: 0, undeliveredAfter: '90s' } });
  assert.deepEqual([c.alerts.retryFor, c.alerts.repeatEvery, c.alerts.undeliveredAfter], [7_200_000, 0, 90_000]);
  assert.throws(
    () => fromFile(t, { alerts: { retryFor: 'forever', repeatEvery: -1, undeliveredAfter: 10 } }),
    (err: Error) => ['alerts.retryFor', 'alerts.repeatEvery', 'alerts.undeliveredAfter'].every((k) => err.message.includes(k)),
  );
});

test('rules take durations; webhooks default to every event', (t) => {
  const c = fromFile(t, {
    health: {
      intervalMs: '5s',
      rules: [{ function: 'resize*', minWorkers: 2, maxQueued: 100, maxOldestQueuedAge: '5m', hangAfter: '15m', maxP95Wait: '30s', maxP95Run: 2000 }],
    },
    http: { protectMetrics: true },
    alerts: { webhooks: [{ url: 'https://ops.example.com/hook', secret: 's' }], quarantinePerMinute: 3 },
  });
  assert.equal(c.health.intervalMs, 5000);
  assert.deepEqual(c.health.rules, [
    { function: 'resize*', minWorkers: 2, maxQueued: 100, maxOldestQueuedAge: 300_000, hangAfter: 900_000, maxP95Wait: 30_000, maxP95Run: 2000 },
  ]);
  assert.deepEqual(c.http, {
    corsOrigins: [],
    allowedHosts: [],
    protectHealth: false,
    protectMetrics: true,
    maxEventStreams: 1000,
    maxEventStreamsPerJob: 16,
    maxEventStreamBytes: 262144,
    maxConnections: 1000,
    requestTimeoutMs: 30000,
    idleTimeoutMs: 60000,
    tls: null,
  });
  assert.deepEqual(c.alerts.webhooks, [{ url: 'https://ops.example.com/hook', secret: 's', events: ['health.failed', 'health.recovered', 'job.quarantined'] }]);
  assert.equal(c.alerts.quarantinePerMinute, 3);
});

test('every bad value is named in one error', (t) => {
  try {
    fromFile(t, {
      health: { intervalMs: '2m', rules: [{ minWorkers: -1, hangAfter: 'soon', colour: 'red' }] },
      http: { protectHealth: 'yes' },
      alerts: { webhooks: [{ url: 'ftp://x' }, { url: 'http://x', events: ['job.done'] }] },
    });
    assert.fail('accepted');
  } catch (err) {
    assert.ok(isLazaretError(err));
    for (const key of [
      'health.intervalMs',
      'health.rules[0].function',
      'health.rules[0].minWorkers',
      'health.rules[0].hangAfter',
      'health.rules[0].colour',
      'http.protectHealth',
      'alerts.webhooks[0].url',
      'alerts.webhooks[1].events',
    ]) {
      assert.ok(err.message.includes(key), `${key} in ${err.message}`);
    }
    assert.match(err.message, /from 100 ms to 60 s/);
  }
});

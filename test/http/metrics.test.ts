// /metrics: the figures after known work done by a real worker, and the token when protected.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildApp } from '../../src/http/server.js';
import { get, grab, httpServer, submitBg } from './helpers.js';
import { peerFor, serverFor } from '../helpers/server.js';
import { waitEvent } from '../helpers/events.js';

/** The value of one series, e.g. `lazaret_jobs_completed_total{function="m"}`. */
export function sample(text: string, series: string): number | undefined {
  // Every series carries the node's name; the tests name series without it.
  const line = text
    .split('\n')
    .map((l) =>
      l
        .replace(/,?node="[^"]*"/, '')
        .replace('{}', '')
        .replace('{,', '{'),
    )
    .find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('counters, gauges and histograms after 2 completed and 1 failed job', async (t) => {
  const server = await httpServer(t, { policies: [{ match: 'thumb', maxAttempts: 1 }] });
  const client = await peerFor(t, server.gearmanPort);
  for (const p of ['a', 'b', 'c', 'd']) await submitBg(client, 'thumb', p);
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'thumb');
  for (let i = 0; i < 2; i++) {
    const job = await grab(worker);
    const done = waitEvent(server.engine, 'job:completed');
    worker.send('WORK_COMPLETE', job.text[0]!, 'ok');
    await done;
  }
  const failing = await grab(worker);
  const quarantined = waitEvent(server.engine, 'job:quarantined');
  worker.send('WORK_FAIL', failing.text[0]!);
  await quarantined;

  const res = await get(server, '/metrics');
  assert.equal(res.status, 200);
  const fn = '{function="thumb"}';
  const expect: Record<string, number> = {
    [`lazaret_jobs_submitted_total${fn}`]: 4,
    [`lazaret_jobs_started_total${fn}`]: 3,
    [`lazaret_jobs_completed_total${fn}`]: 2,
    [`lazaret_jobs_failed_total${fn}`]: 1,
    [`lazaret_jobs_crashed_total${fn}`]: 0,
    [`lazaret_jobs_quarantined_total${fn}`]: 1,
    [`lazaret_jobs_expired_total${fn}`]: 0,
    'lazaret_queued_jobs{function="thumb",priority="normal"}': 1,
    'lazaret_queued_jobs{function="thumb",priority="high"}': 0,
    [`lazaret_running_jobs${fn}`]: 0,
    [`lazaret_workers${fn}`]: 1,
    lazaret_worker_connections: 1,
    lazaret_quarantine_size: 1,
    [`lazaret_queue_wait_seconds_count${fn}`]: 3,
    'lazaret_queue_wait_seconds_bucket{function="thumb",le="+Inf"}': 3,
    [`lazaret_run_seconds_count${fn}`]: 3,
  };
  for (const [series, value] of Object.entries(expect)) assert.equal(sample(res.text, series), value, series);
  // The node's name on every series, so nodes sharing a store can be scraped side by side.
  const series = res.text.split('\n').filter((l) => l.startsWith('lazaret_'));
  assert.ok(series.length > 0);
  for (const l of series) assert.match(l, new RegExp(`node="${server.config.cluster.node}"`), l);
  assert.ok(sample(res.text, `lazaret_oldest_queued_age_seconds${fn}`)! >= 0);
  assert.ok(sample(res.text, 'lazaret_process_cpu_user_seconds_total')! > 0, 'process metrics');
  assert.match(res.text, /# TYPE lazaret_run_seconds histogram/);
});

test('http.protectMetrics: /metrics needs the bearer token like /api; /health stays open', async (t) => {
  const server = await httpServer(t, { adminToken: 'tok-123', trustLoopback: false, http: { protectMetrics: true, protectHealth: false } });
  const refused = await get(server, '/metrics');
  assert.equal(refused.status, 401);
  assert.equal((JSON.parse(refused.text) as { error: { code: string } }).error.code, 'LAZ_UNAUTHORIZED');
  assert.equal((await get(server, '/metrics', { authorization: 'Bearer wrong' })).status, 401);
  assert.equal((await get(server, '/metrics', { authorization: 'Bearer tok-123' })).status, 200);
  assert.equal((await get(server, '/health')).status, 200);
});

test('http.protectHealth puts /health behind the token too', async (t) => {
  const server = await httpServer(t, { adminToken: 'tok-123', trustLoopback: false, http: { protectMetrics: false, protectHealth: true } });
  assert.equal((await get(server, '/health')).status, 401);
  assert.equal((await get(server, '/health', { authorization: 'Bearer tok-123' })).status, 200);
  assert.equal((await get(server, '/metrics')).status, 200);
});

test('closing the HTTP side takes its metrics listeners off the engine', async (t) => {
  const server = await serverFor(t);
  const before = server.engine.listenerCount('attempt:ended');
  const app = await buildApp({
    engine: server.engine,
    health: server.health,
    config: server.config,
    log: server.log,
    supervisors: server.supervisors,
    alerts: null,
  });
  assert.equal(server.engine.listenerCount('attempt:ended'), before + 1);
  await app.close();
  assert.equal(server.engine.listenerCount('attempt:ended'), before);
});

// The sliding window behind the p95 checks: quantiles within one bucket's width, and samples that age out.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatencyWindow } from '../../src/observe/latency.js';

test('p95 of 100 samples lands in the bucket of the 95th, per function and kind', () => {
  const w = new LatencyWindow(300_000, 30);
  for (let i = 1; i <= 100; i++) w.record('a', 'run', i * 10, 1_000);
  w.record('a', 'wait', 5, 1_000);
  const p = w.quantile('a', 'run', 0.95, 1_000)!;
  assert.equal(p.samples, 100);
  // The 95th sample is 950 ms; buckets are about 41% wide, reported by their upper bound.
  assert.ok(p.ms >= 950 && p.ms <= 950 * 1.42, `p95 ${p.ms}`);
  assert.equal(w.quantile('a', 'wait', 0.95, 1_000)!.samples, 1);
  assert.equal(w.quantile('b', 'run', 0.95, 1_000), null);
});

test('samples older than the window no longer count, and a reused slot starts empty', () => {
  const w = new LatencyWindow(300_000, 30);
  w.record('a', 'run', 60_000, 0);
  w.record('a', 'run', 10, 200_000);
  assert.equal(w.quantile('a', 'run', 0.95, 200_000)!.samples, 2);
  assert.equal(w.quantile('a', 'run', 0.95, 300_000)!.samples, 1, 'the first sample left the window');
  assert.ok(w.quantile('a', 'run', 0.95, 300_000)!.ms < 100);
  w.record('a', 'run', 20, 600_000); // same ring slot as the first, two windows later
  assert.equal(w.quantile('a', 'run', 0.95, 600_000)!.samples, 1);
  assert.equal(w.quantile('a', 'run', 0.95, 900_001), null);
});

// The overview shows /health as it is, and a failing check is impossible to miss. A real PHP
// worker serves "resize" under a minWorkers rule; when it stops while jobs wait, the check turns red.
// Its charts draw the server's history of the last hour.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Job } from '../../src/core/job.js';
import { ManualClock } from '../../src/core/clock.js';
import { grab, REPO_ROOT, startChild, submitBg } from '../quarantine/helpers.js';
import { browserFor, missingPrerequisite, pageFor, PHONE, screenshot } from './browser.js';
import { peerFor, serverFor } from '../helpers/server.js';
import { waitEvent } from '../helpers/events.js';

const WORKER = `${REPO_ROOT}test/interop/scripts/worker.php`;

// Checked every 200 ms, so the page (polling every 2 s) sees a change within one poll.
const HEALTH = { intervalMs: 200, unservedAfterMs: 200, rules: [{ function: 'resize', minWorkers: 1 }] };

test('the overview turns a health check red, saying why, when the workers stop', async (t) => {
  assert.equal(missingPrerequisite(), null);
  const server = await serverFor(t, { httpPort: 0, health: HEALTH });
  const base = `http://127.0.0.1:${server.httpPort}/`;
  const client = await peerFor(t, server.gearmanPort);
  const worker = startChild(t, 'php', [WORKER, String(server.gearmanPort), 'resize=reverse']);
  const warm = waitEvent(server.engine, 'job:completed', (job: Job) => job.unique === 'warm-up', 15_000);
  await submitBg(client, 'resize', 'warm', 'warm-up');
  await warm;

  const browser = await browserFor(t);
  const page = await pageFor(browser);
  await page.goto(base);
  const panel = page.getByTestId('health');
  await panel.locator('.health-status', { hasText: 'OK' }).waitFor();
  if ((await fetch(`${base}api/functions`)).ok) await page.getByTestId('function').filter({ hasText: 'resize' }).waitFor();
  await screenshot(t, page, 'overview-healthy');

  // The workers go away while jobs keep arriving.
  worker.proc.kill('SIGKILL');
  await worker.exited;
  await submitBg(client, 'resize', 'waits', 'waits-1');
  const red = page.getByTestId('check-fail').filter({ hasText: 'resize' }).first();
  await red.waitFor();
  assert.match(await panel.locator('.health-status').innerText(), /FAILING/);
  assert.match((await panel.getAttribute('class')) ?? '', /health-fail/);
  const why = await red.innerText();
  assert.match(why, /resize/);
  assert.ok(why.split(':').slice(1).join(':').trim().length > 0, `the red check says why: ${why}`);
  // In human units: the threshold of 200 ms, never the raw "value 4249, limit 30000".
  const unserved = page.getByTestId('check-fail').filter({ hasText: 'unserved · resize' });
  assert.match(await unserved.innerText(), /no worker connected for [\d.]+ (ms|s), limit 200 ms$/);
  assert.doesNotMatch(await panel.innerText(), /value \d/);
  assert.equal((await page.getByRole('alert').filter({ hasText: 'resize' }).count()) > 0, true, 'announced as an alert');
  await screenshot(t, page, 'overview-red');
  const phone = await pageFor(browser, PHONE);
  await phone.goto(base);
  await phone.getByTestId('check-fail').first().waitFor();
  await screenshot(t, phone, 'overview-red-phone');

  // A worker comes back: the job runs and the check recovers.
  const done = waitEvent(server.engine, 'job:completed', (job: Job) => job.unique === 'waits-1', 15_000);
  startChild(t, 'php', [WORKER, String(server.gearmanPort), 'resize=reverse']);
  await done;
  await panel.locator('.health-status', { hasText: 'OK' }).waitFor();
  assert.deepEqual([...page.errors, ...phone.errors], []);
});

test('the overview charts queue depth and throughput over the last hour', async (t) => {
  assert.equal(missingPrerequisite(), null);
  // The history is sampled every 10 s on the server's clock; a manual clock makes an hour of samples.
  const clock = new ManualClock(Date.now() - 60 * 60_000);
  const server = await serverFor(t, { httpPort: 0 }, { clock });
  const client = await peerFor(t, server.gearmanPort);
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'render');
  const STEPS = 12;
  for (let i = 0; i < STEPS; i++) {
    await submitBg(client, 'render', `page-${i}-a`);
    await submitBg(client, 'render', `page-${i}-b`);
    const done = waitEvent(server.engine, 'job:completed');
    worker.send('WORK_COMPLETE', (await grab(worker)).text[0]!, 'ok');
    await done;
    clock.advance(10_000);
  }

  const browser = await browserFor(t);
  const page = await pageFor(browser);
  let historyRequests = 0;
  page.on('request', (r) => void (r.url().includes('/api/history') && historyRequests++));
  await page.goto(`http://127.0.0.1:${server.httpPort}/`);
  const card = page.getByTestId('function').filter({ hasText: 'render' });
  await card.locator('.spark-queue path.line').waitFor();
  const points = async (chart: string): Promise<number> => ((await card.locator(`${chart} path.line`).getAttribute('d')) ?? '').split('L').length;
  // The closed steps of the hour, then the live value as the last point.
  assert.equal(await points('.spark-queue'), STEPS + 1);
  assert.equal(await points('.spark-throughput'), STEPS + 1);
  assert.match(await card.locator('.spark-queue figcaption').innerText(), /Queued, 1 h\s+12/);
  // One job per 10 s step: 6 in every minute, on the chart and in Throughput alike.
  assert.match(await card.locator('.spark-throughput figcaption').innerText(), /Done\/min, 1 h\s+6\.0\/min/);
  assert.equal(await card.getByTestId('throughput').innerText(), '6.0/min');
  assert.equal(historyRequests, 1, 'drawn from the first answer, not after a poll cycle');
  await screenshot(t, page, 'overview-charts');
  assert.deepEqual(page.errors, []);
});

test('the charts and Throughput show data from the first answer, before the server has closed a history step', async (t) => {
  assert.equal(missingPrerequisite(), null);
  // The clock never moves: no 10 s step ever closes, so /api/history has no point at all.
  const clock = new ManualClock(Date.now());
  const server = await serverFor(t, { httpPort: 0 }, { clock });
  const client = await peerFor(t, server.gearmanPort);
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'burst');
  for (let i = 0; i < 3; i++) {
    await submitBg(client, 'burst', `job-${i}`);
    const done = waitEvent(server.engine, 'job:completed');
    worker.send('WORK_COMPLETE', (await grab(worker)).text[0]!, 'ok');
    await done;
  }
  await submitBg(client, 'burst', 'waiting');
  const history = (await (await fetch(`http://127.0.0.1:${server.httpPort}/api/history`)).json()) as { points: unknown[] };
  assert.deepEqual(history.points, []);

  const browser = await browserFor(t);
  const page = await pageFor(browser);
  await page.goto(`http://127.0.0.1:${server.httpPort}/`);
  const card = page.getByTestId('function').filter({ hasText: 'burst' });
  // A level line (one value) has no height, so it is attached rather than "visible".
  await card.locator('.spark-throughput path.line').waitFor({ state: 'attached' });
  assert.equal(await card.locator('.spark-throughput text').count(), 0, 'no "no samples yet"');
  assert.match(await card.locator('.spark-throughput figcaption').innerText(), /Done\/min, 1 h\s+3\.0\/min/);
  assert.equal(await card.getByTestId('throughput').innerText(), '3.0/min', 'the chart and Throughput agree');
  assert.match(await card.locator('.spark-queue figcaption').innerText(), /Queued, 1 h\s+1/);
  assert.equal(await card.getByTestId('by-priority').innerText(), 'high 0 · normal 1 · low 0');
  assert.deepEqual(page.errors, []);
});

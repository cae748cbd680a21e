// Issue 7: on the workers page, an attempt that runs past its hang threshold stands out. The server's
// clock is moved past the default threshold (10 min) while a worker holds a job.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { assertNothingElse, grab, peerFor, serverFor, submitBg } from '../quarantine/helpers.js';
import { browserFor, missingPrerequisite, pageFor, screenshot } from './browser.js';

test('a hung attempt is marked on the workers page, above the healthy ones', async (t) => {
  assert.equal(missingPrerequisite(), null);
  const clock = new ManualClock(Date.now());
  const server = await serverFor(t, { httpPort: 0 }, { clock });
  const client = await peerFor(t, server.gearmanPort);
  const busy = await peerFor(t, server.gearmanPort);
  busy.send('SET_CLIENT_ID', 'report-builder-1');
  busy.send('CAN_DO', 'report');
  const idle = await peerFor(t, server.gearmanPort);
  idle.send('SET_CLIENT_ID', 'mailer-1');
  idle.send('CAN_DO', 'mail');
  await assertNothingElse(idle);
  const handle = await submitBg(client, 'report', 'monthly', 'report-1');
  await grab(busy);
  clock.advance(11 * 60_000);

  const browser = await browserFor(t);
  const page = await pageFor(browser);
  await page.goto(`http://127.0.0.1:${server.httpPort}/#/workers`);
  await page.getByRole('alert').getByText('1 attempt running past the hang threshold.').waitFor();
  const rows = page.getByTestId('worker');
  assert.equal(await rows.count(), 2);
  const first = await rows.first().innerText();
  assert.match(first, /report-builder-1[\s\S]*HUNG[\s\S]*report[\s\S]*H:test:1[\s\S]*11 min/);
  assert.equal(await rows.first().getAttribute('class'), 'row-bad');
  assert.match(await rows.nth(1).innerText(), /mailer-1[\s\S]*idle/);
  assert.equal(await page.getByRole('link', { name: handle }).count(), 1);
  await screenshot(t, page, 'workers-hung');
  assert.deepEqual(page.errors, []);
});

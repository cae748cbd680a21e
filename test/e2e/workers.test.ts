// On the workers page, an attempt that runs past its hang threshold stands out. The server's
// clock is moved past the default threshold (10 min) while a worker holds a job.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { assertNothingElse, grab, submitBg } from '../quarantine/helpers.js';
import { browserFor, missingPrerequisite, pageFor, screenshot } from './browser.js';
import { peerFor, serverFor } from '../helpers/server.js';

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

test('a worker stuck in an attempt that timed out is marked STUCK on the workers page, first', async (t) => {
  assert.equal(missingPrerequisite(), null);
  const clock = new ManualClock(Date.now());
  const server = await serverFor(t, { httpPort: 0, policies: [{ match: 'report', timeout: 60_000 }] }, { clock });
  const client = await peerFor(t, server.gearmanPort);
  const idle = await peerFor(t, server.gearmanPort);
  idle.send('SET_CLIENT_ID', 'mailer-1');
  idle.send('CAN_DO', 'mail');
  await assertNothingElse(idle);
  const hung = await peerFor(t, server.gearmanPort);
  hung.send('SET_CLIENT_ID', 'report-builder-2');
  hung.send('CAN_DO', 'report');
  const handle = await submitBg(client, 'report', 'yearly', 'report-2');
  await grab(hung);
  clock.advance(60_000 + 3 * 60_000);

  const browser = await browserFor(t);
  const page = await pageFor(browser);
  await page.goto(`http://127.0.0.1:${server.httpPort}/#/workers`);
  await page.getByTestId('stuck-notice').waitFor();
  assert.match(await page.getByTestId('stuck-notice').innerText(), /1 worker is stuck in an attempt that timed out/);
  const rows = page.getByTestId('worker');
  const first = await rows.first().innerText();
  assert.match(first, /report-builder-2 pid \d+[\s\S]*STUCK[\s\S]*report[\s\S]*H:test:\d+[\s\S]*timed out 3 min 0 s ago/);
  assert.equal(await rows.first().getAttribute('class'), 'row-bad');
  assert.equal(await page.getByRole('link', { name: handle }).count(), 1);
  await screenshot(t, page, 'workers-stuck');
  assert.deepEqual(page.errors, []);
});

test('a flapping supervised program stands out on the workers page', async (t) => {
  assert.equal(missingPrerequisite(), null);
  const server = await serverFor(t, { httpPort: 0 });
  const base = `http://127.0.0.1:${server.httpPort}/`;
  const now = Date.now();
  const exit = (agoMs: number, signal: string | null, code: number | null) => ({ at: new Date(now - agoMs).toISOString(), code, signal });
  // What `lazaret supervise` reports (docs/http-api.md): one program keeps dying of SIGSEGV.
  const put = await fetch(`${base}api/supervisors/web1-sup`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      host: 'web1',
      pid: 4242,
      programs: [
        {
          name: 'resize',
          command: 'php resize-worker.php',
          copies: 4,
          running: 1,
          restarts: 37,
          flapping: true,
          lastExits: [exit(9000, 'SIGSEGV', null), exit(4000, 'SIGSEGV', null), exit(1000, null, 255)],
        },
        { name: 'mail', command: 'perl mail-worker.pl', copies: 2, running: 2, restarts: 0, flapping: false, lastExits: [] },
      ],
    }),
  });
  assert.equal(put.status, 200);

  const browser = await browserFor(t);
  const page = await pageFor(browser);
  await page.goto(`${base}#/workers`);
  const programs = page.getByTestId('program');
  await programs.first().waitFor();
  const resize = programs.filter({ hasText: 'resize' });
  assert.match(await resize.innerText(), /web1[\s\S]*pid 4242[\s\S]*resize[\s\S]*FLAPPING[\s\S]*1 \/ 4[\s\S]*37[\s\S]*exit 255/);
  assert.equal(await resize.getAttribute('class'), 'row-bad');
  assert.equal(await programs.filter({ hasText: 'mail' }).getAttribute('class'), '');
  await screenshot(t, page, 'workers-flapping');
  assert.deepEqual(page.errors, []);
});

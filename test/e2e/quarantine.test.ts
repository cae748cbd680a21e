// A job that kills a real PHP worker's job process shows up in the dashboard's quarantine view
// with its signal, and the operator brings it back from the browser: requeue, edit-and-requeue, purge.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Job } from '../../src/core/job.js';
import { FAST_BACKOFF, REPO_ROOT, startChild, submitBg } from '../quarantine/helpers.js';
import { browserFor, missingPrerequisite, pageFor, PHONE, screenshot } from './browser.js';
import { peerFor, serverFor } from '../helpers/server.js';
import { waitEvent } from '../helpers/events.js';

const SANDBOX_WORKER = `${REPO_ROOT}test/e2e/fixtures/sandbox-worker.php`;
const HEALTHY_WORKER = `${REPO_ROOT}test/interop/scripts/worker.php`;

test('a poison job is quarantined with its signal, then requeued, edited and purged from the browser', async (t) => {
  assert.equal(missingPrerequisite(), null);
  const server = await serverFor(t, { httpPort: 0, policies: [{ match: '*', maxAttempts: 2, backoff: FAST_BACKOFF }] });
  const base = `http://127.0.0.1:${server.httpPort}/`;
  const client = await peerFor(t, server.gearmanPort);

  // A worker whose job process segfaults on "poison"; three poison jobs spend their budgets.
  const sandbox = startChild(t, 'sh', ['-c', 'ulimit -c 0; exec php "$0" "$@"', SANDBOX_WORKER, String(server.gearmanPort), 'resize']);
  await sandbox.waitLine((l) => l.includes('"ready"'), 'the sandbox worker to start');
  const quarantined = new Set<string>();
  const allThree = new Promise<void>((resolve) => {
    server.engine.on('job:quarantined', (entry) => {
      quarantined.add(entry.handle);
      if (quarantined.size === 3) resolve();
    });
  });
  const handles = [];
  for (const unique of ['poison-1', 'poison-2', 'poison-3']) handles.push(await submitBg(client, 'resize', 'poison', unique));
  await allThree;
  sandbox.proc.kill('SIGKILL');
  await sandbox.exited;
  const [first, second, third] = handles.map((h) => Number(h.slice(h.lastIndexOf(':') + 1)));

  const browser = await browserFor(t);
  const page = await pageFor(browser);

  // The list: three rows, newest first, each with its reason.
  await page.goto(`${base}#/quarantine`);
  await page.getByTestId('quarantine-row').nth(2).waitFor();
  assert.equal(await page.getByTestId('quarantine-row').count(), 3);
  assert.match(await page.getByTestId('quarantine-row').first().innerText(), /resize\s+max_attempts/);
  await screenshot(t, page, 'quarantine-list');
  // Filters narrow the list and live in the URL.
  await page.getByLabel('Reason').selectOption('max_crashes');
  await page.getByText('Nothing in quarantine matches these filters.').waitFor();
  assert.match(page.url(), /reason=max_crashes/);
  await page.getByLabel('Reason').selectOption('max_attempts');
  await page.getByLabel('Quarantined in the last').selectOption('1h');
  await page.getByLabel('Function').fill('resize');
  await page.getByLabel('Function').press('Enter');
  await page.getByText('3 of 3 shown, 0 selected').waitFor();

  // The entry: every attempt with the worker and the signal that killed the job process.
  await page.getByRole('link', { name: String(first), exact: true }).click();
  await page.getByTestId('attempt').nth(1).waitFor();
  const exits = await page.getByTestId('exit').allInnerTexts();
  assert.deepEqual(exits, ['SIGSEGV, exit 139', 'SIGSEGV, exit 139']);
  assert.match(await page.getByTestId('attempt').first().innerText(), /php-sandbox-\d+[\s\S]*crashed[\s\S]*job process killed by a signal/);
  assert.equal(await page.getByTestId('payload').innerText(), 'poison');
  await screenshot(t, page, 'quarantine-entry');
  const phone = await pageFor(browser, PHONE);
  await phone.goto(page.url());
  await phone.getByTestId('attempt').nth(1).waitFor();
  await screenshot(t, phone, 'quarantine-entry-phone');

  // The fix is deployed: a healthy worker. Requeue from the entry page, after the confirmation.
  startChild(t, 'php', [HEALTHY_WORKER, String(server.gearmanPort), 'resize=reverse']);
  const completed = (handle: string) => waitEvent(server.engine, 'job:completed', (job: Job) => job.handle === handle, 15_000);
  const firstDone = completed(handles[0]!);
  await page.getByRole('button', { name: 'Requeue', exact: true }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Requeue' }).click();
  await firstDone;
  // The notice links to the job, which the healthy worker completed.
  await page.getByTestId('done').getByRole('link', { name: handles[0]! }).click();
  await page.getByTestId('job-state').getByText('completed').waitFor();
  assert.equal(await page.getByTestId('payload').innerText(), 'nosiop');
  // Its first life is still there, with both attempts, and who requeued it from where.
  await page.getByTestId('history').getByTestId('audit').first().waitFor();
  assert.match(await page.getByTestId('audit').first().innerText(), /requeued\s+loopback\s+dashboard\s+127\.0\.0\.1/);
  assert.match(await page.getByTestId('life').first().innerText(), /Life 1: max_attempts[\s\S]*then requeued/);
  assert.equal(await page.getByTestId('life').first().getByTestId('attempt').count(), 2);
  await screenshot(t, page, 'requeued-job-completed');

  // Edit-and-requeue: the second job runs with the payload typed in the browser.
  await page.goto(`${base}#/quarantine/${second}`);
  await page.getByRole('button', { name: /Edit payload/ }).click();
  await page.getByLabel(/New payload/).fill('fixed');
  const secondDone = completed(handles[1]!);
  await page.getByRole('button', { name: 'Save and requeue' }).click();
  const [job] = await secondDone;
  assert.equal(job.payload.toString(), 'fixed');
  await page.getByTestId('done').waitFor();

  // Bulk purge of what is left, after a confirmation that says what it will do.
  await page.goto(`${base}#/quarantine`);
  await page.getByLabel(`Select job ${third}`).check();
  await page.getByRole('button', { name: 'Purge selected' }).click();
  assert.match(await page.getByRole('dialog').innerText(), /Delete 1 selected job/);
  await screenshot(t, page, 'quarantine-confirm');
  await page.getByRole('dialog').getByRole('button', { name: 'Purge selected' }).click();
  await page.getByText('Purged 1 job.').waitFor();
  await page.getByText('Nothing in quarantine.').waitFor();
  assert.equal((await server.engine.quarantine.list({}, { limit: 10 })).total, 0);
  assert.deepEqual([...page.errors, ...phone.errors], []);
});

// Every page renders at laptop and phone widths with a live server behind it — a worker busy
// with a job, one quarantined job — and leaves a screenshot for a person to look at. Routes this server
// does not have yet must read "not available", never break the page.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { assertNothingElse, grab, submitBg } from '../quarantine/helpers.js';
import { browserFor, LAPTOP, missingPrerequisite, pageFor, PHONE, screenshot } from './browser.js';
import { peerFor, serverFor } from '../helpers/server.js';
import { waitEvent } from '../helpers/events.js';

const PAGES = [
  { hash: '#/overview', title: 'Overview' },
  { hash: '#/quarantine', title: 'Quarantine' },
  { hash: '#/quarantine/1', title: 'Quarantined job 1' },
  { hash: '#/jobs', title: 'Jobs' },
  { hash: '#/jobs?by=tag&q=user_id:42', title: 'Jobs' },
  { hash: '#/jobs/H:test:2', title: 'Job H:test:2' },
  { hash: '#/workers', title: 'Workers' },
  { hash: '#/nodes', title: 'Nodes' },
  { hash: '#/impact', title: 'Impact' },
];

test('every page renders at laptop and phone widths, with screenshots', async (t) => {
  assert.equal(missingPrerequisite(), null);
  const server = await serverFor(t, { httpPort: 0, policies: [{ match: '*', maxAttempts: 1 }] });
  const base = `http://127.0.0.1:${server.httpPort}/`;
  const client = await peerFor(t, server.gearmanPort);
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('SET_CLIENT_ID', 'thumbnailer-1');
  worker.send('CAN_DO', 'thumbnail');
  // Job 1, tagged through the HTTP API, fails once and is quarantined (binary payload: the hex view);
  // job 2 stays running with progress reported.
  const quarantined = waitEvent(server.engine, 'job:quarantined');
  const submitted = await fetch(`${base}api/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      function: 'thumbnail',
      payloadBase64: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff]).toString('base64'),
      unique: 'png-1',
      tags: ['user_id:42'],
    }),
  });
  assert.equal(submitted.status, 201);
  worker.send('WORK_EXCEPTION', (await grab(worker)).text[0]!, 'LAZARET-EVIDENCE {"errorClass":"ImageDecodeError","message":"truncated PNG"}');
  await quarantined;
  await submitBg(client, 'thumbnail', '{"image": 2, "sizes": [64, 128]}', 'json-2');
  worker.send('WORK_STATUS', (await grab(worker)).text[0]!, '1', '4');
  await assertNothingElse(worker);
  for (let i = 0; i < 5; i++) await submitBg(client, 'thumbnail', `{"image": ${10 + i}}`, `queued-${i}`);

  const browser = await browserFor(t);
  for (const [width, viewport] of [
    ['laptop', LAPTOP],
    ['phone', PHONE],
  ] as const) {
    const page = await pageFor(browser, viewport);
    for (const p of PAGES) {
      await page.goto(`${base}${p.hash}`);
      await page.getByRole('heading', { level: 1, name: p.title }).waitFor();
      // Let the first answers arrive: no "Loading…" left, the page as an operator sees it.
      await page.waitForLoadState('networkidle');
      const broken = await page.locator('.notice.error').allInnerTexts();
      assert.deepEqual(broken, [], `${p.hash} shows no error`);
      const unlabelled = await page.evaluate(
        "[...document.querySelectorAll('input, select, textarea')].filter((e) => e.labels.length === 0 && !e.getAttribute('aria-label')).map((e) => e.outerHTML)",
      );
      assert.deepEqual(unlabelled, [], `${p.hash}: every control has a label`);
      const name = `${p.hash.slice(2).replace(/[/:?&=]+/g, '-')}-${width}`;
      await screenshot(t, page, name);
      // Nothing is wider than the screen except inside the scrollable table boxes.
      const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
      assert.equal(overflow, 0, `${p.hash} at ${width} width does not scroll sideways`);
    }
    assert.deepEqual(page.errors, []);
  }

  // Keyboard: the first Tab reaches "skip to content", which moves focus to the page; the links precede it.
  const page = await pageFor(browser);
  await page.goto(`${base}#/overview`);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate('document.activeElement.textContent'), 'Skip to content');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate('document.activeElement.id'), 'main');
  await page.keyboard.press('Shift+Tab');
  assert.equal(await page.evaluate('document.activeElement.textContent'), 'Impact');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: 'Impact' }).waitFor();

  // What the pages say, not only that they render.
  await page.goto(`${base}#/quarantine/1`);
  assert.match(await page.getByTestId('payload').innerText(), /^00000000 {2}89 50 4e 47 0d 0a 1a 0a 00 ff/);
  assert.match(await page.getByTestId('attempt').innerText(), /ImageDecodeError: truncated PNG/);
  await page.goto(`${base}#/jobs/H:test:2`);
  await page.getByTestId('job-state').getByText('running').waitFor();
  await page.getByText('1 / 4').waitFor();
  await page.goto(`${base}#/jobs?by=tag&q=user_id:42`);
  await page.getByRole('link', { name: 'H:test:1' }).click();
  await page.getByTestId('job-state').getByText('quarantined').waitFor();
  await page.goto(`${base}#/impact?since=1h&waitedLongerThan=5m&by=user_id`);
  assert.match(await page.getByTestId('impact-row').innerText(), /user_id:42\s+1\s+0\s+0\s+0\s+1/);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
  const csv = await readFile((await download.path())!, 'utf8');
  assert.match(csv, /^tag,jobs,waitedTooLong,failed,expired,quarantined,worstWaitMs\r\nuser_id:42,1,0,0,0,1,\d*\r\n$/);
  assert.deepEqual(page.errors, []);
});

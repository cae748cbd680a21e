// Issue 7: every page renders at laptop and phone widths with a live server behind it — a worker busy
// with a job, one quarantined job — and leaves a screenshot for a person to look at. Routes this server
// does not have yet must read "not available", never break the page.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { grab, peerFor, serverFor, submitBg, waitEvent } from '../quarantine/helpers.js';
import { browserFor, LAPTOP, missingPrerequisite, pageFor, PHONE, screenshot } from './browser.js';

const PAGES = [
  { hash: '#/overview', title: 'Overview' },
  { hash: '#/quarantine', title: 'Quarantine' },
  { hash: '#/quarantine/1', title: 'Quarantined job 1' },
  { hash: '#/jobs', title: 'Jobs' },
  { hash: '#/jobs/H:test:2', title: 'Job H:test:2' },
  { hash: '#/workers', title: 'Workers' },
  { hash: '#/impact', title: 'Impact' },
];

test('every page renders at laptop and phone widths, with screenshots', async (t) => {
  assert.equal(missingPrerequisite(), null);
  const server = await serverFor(t, { httpPort: 0, policies: [{ match: '*', maxAttempts: 1 }] });
  const client = await peerFor(t, server.gearmanPort);
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('SET_CLIENT_ID', 'thumbnailer-1');
  worker.send('CAN_DO', 'thumbnail');
  // Job 1 fails once and is quarantined (binary payload: the hex view); job 2 stays running.
  const quarantined = waitEvent(server.engine, 'job:quarantined');
  await submitBg(client, 'thumbnail', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff]), 'png-1');
  worker.send('WORK_EXCEPTION', (await grab(worker)).text[0]!, 'LAZARET-EVIDENCE {"errorClass":"ImageDecodeError","message":"truncated PNG"}');
  await quarantined;
  await submitBg(client, 'thumbnail', '{"image": 2, "sizes": [64, 128]}', 'json-2');
  await grab(worker);
  for (let i = 0; i < 5; i++) await submitBg(client, 'thumbnail', `{"image": ${10 + i}}`, `queued-${i}`);

  const browser = await browserFor(t);
  for (const [width, viewport] of [['laptop', LAPTOP], ['phone', PHONE]] as const) {
    const page = await pageFor(browser, viewport);
    for (const p of PAGES) {
      await page.goto(`http://127.0.0.1:${server.httpPort}/${p.hash}`);
      await page.getByRole('heading', { level: 1, name: p.title }).waitFor();
      // Let the first answers arrive: no "Loading…" left, the page as an operator sees it.
      await page.waitForLoadState('networkidle');
      const broken = await page.locator('.notice.error').allInnerTexts();
      assert.deepEqual(broken, [], `${p.hash} shows no error`);
      const name = `${p.hash.slice(2).replace(/[/:]/g, '-')}-${width}`;
      await screenshot(t, page, name);
      // Nothing is wider than the screen except inside the scrollable table boxes.
      const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
      assert.equal(overflow, 0, `${p.hash} at ${width} width does not scroll sideways`);
    }
    assert.deepEqual(page.errors, []);
  }

  // The quarantined binary payload is shown as hex, the attempt with its error class.
  const page = await pageFor(browser);
  await page.goto(`http://127.0.0.1:${server.httpPort}/#/quarantine/1`);
  assert.match(await page.getByTestId('payload').innerText(), /^00000000 {2}89 50 4e 47 0d 0a 1a 0a 00 ff/);
  assert.match(await page.getByTestId('attempt').innerText(), /ImageDecodeError: truncated PNG/);
});

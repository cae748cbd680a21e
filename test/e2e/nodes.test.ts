// The nodes page lists every node of a shared (PostgreSQL) store: this one marked, addresses, version,
// lease, workers per function; a node whose lease expired and whose jobs no peer has rescued yet comes
// first, in red. (A SQLite node alone: test/e2e/pages.test.ts.)

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { migrationsDir, readMigrations } from '../../src/storage/postgres/migrate.js';
import { VERSION } from '../../src/version.js';
import { threeNodes } from '../cluster/nodes.js';
import { peerFor } from '../helpers/server.js';
import { browserFor, missingPrerequisite, pageFor, screenshot } from './browser.js';

test('the nodes page lists the nodes of a PostgreSQL store, this one marked, an expired lease first and in red', async (t) => {
  assert.equal(missingPrerequisite(), null);
  const { a, b } = await threeNodes(t);
  const resizer = await peerFor(t, a.gearmanPort);
  resizer.send('CAN_DO', 'resize');
  resizer.send('CAN_DO', 'thumb');
  for (let i = 0; i < 2; i++) (await peerFor(t, b.gearmanPort)).send('CAN_DO', 'mail');

  const browser = await browserFor(t);
  const page = await pageFor(browser);
  await page.goto(`${a.url}/#/nodes`);
  const rows = page.getByTestId('node');
  // Each node publishes its workers when it renews its lease: wait for both.
  await rows.filter({ hasText: 'mail 2' }).waitFor();
  await rows.filter({ hasText: 'resize 1 · thumb 1' }).waitFor();
  const schemaVersion = Math.max(...readMigrations(migrationsDir()).map((m) => m.version));
  assert.equal(await page.getByTestId('store').innerText(), `Store ${a.engine.store.describe()}, schema version ${schemaVersion}; 3 nodes.`);
  assert.match(await page.getByRole('alert').innerText(), /1 node's lease has expired/);

  assert.equal(await rows.count(), 3);
  assert.match(await rows.nth(0).innerText(), /^c\b[\s\S]*lease expired, jobs not yet rescued/);
  assert.equal(await rows.nth(0).getAttribute('class'), 'row-bad');
  const self = await rows.nth(1).innerText();
  assert.match(self, /^a \(this node\)[\s\S]*epoch \d+/);
  assert.match(self, new RegExp(`gearman 127\\.0\\.0\\.1:${a.gearmanPort}[\\s\\S]*${VERSION.replace(/\./g, '\\.')}[\\s\\S]*renewed [\\s\\S]*expires in`));
  assert.match(self, /\b1\s+resize 1 · thumb 1/, 'one worker, of two functions');
  assert.equal(await rows.nth(1).getAttribute('class'), '');
  assert.match(await rows.nth(2).innerText(), /^b\n[\s\S]*\b2\s+mail 2/);
  assert.equal(await rows.nth(2).getByRole('link', { name: b.url }).getAttribute('href'), b.url);
  await screenshot(t, page, 'nodes-three');
  assert.deepEqual(page.errors, []);
});

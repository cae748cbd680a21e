// Beyond loopback the API needs the admin token. The page asks for it on the first 401, keeps
// it in sessionStorage only, and sends it as a bearer token — also for the mutations.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { grab, submitBg } from '../quarantine/helpers.js';
import { browserFor, missingPrerequisite, pageFor, screenshot } from './browser.js';
import { peerFor, serverFor } from '../helpers/server.js';
import { waitEvent } from '../helpers/events.js';

const TOKEN = 's3cret-token';

test('the dashboard asks for the token on a 401, keeps it for the tab only, and purges with it', async (t) => {
  assert.equal(missingPrerequisite(), null);
  // trustLoopback off: the browser on 127.0.0.1 is treated as a remote operator.
  const server = await serverFor(t, { httpPort: 0, adminToken: TOKEN, trustLoopback: false, policies: [{ match: '*', maxAttempts: 1 }] });
  const client = await peerFor(t, server.gearmanPort);
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'mail');
  const quarantined = waitEvent(server.engine, 'job:quarantined');
  const handle = await submitBg(client, 'mail', '{"to":"a@example.com"}', 'mail-1');
  const assigned = await grab(worker);
  worker.send('WORK_FAIL', assigned.text[0]!);
  const [entry] = await quarantined;
  assert.equal(entry.handle, handle);

  const browser = await browserFor(t);
  const page = await pageFor(browser);
  await page.goto(`http://127.0.0.1:${server.httpPort}/#/quarantine/${entry.id}`);
  const dialog = page.getByRole('dialog', { name: 'Admin token needed' });
  await dialog.waitFor();
  assert.match(await dialog.innerText(), /Missing or wrong bearer token/);
  await screenshot(t, page, 'token-prompt');
  await dialog.getByLabel('Token').fill(TOKEN);
  await dialog.getByRole('button', { name: 'Use token' }).click();

  // The retried request shows the entry, JSON pretty-printed.
  await page.getByTestId('payload').getByText('"to": "a@example.com"').waitFor();
  assert.deepEqual(await page.evaluate("[sessionStorage.getItem('lazaret.token'), localStorage.length, document.cookie]"), [TOKEN, 0, '']);

  await page.getByRole('button', { name: 'Purge', exact: true }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Purge' }).click();
  await page.getByTestId('done').getByText('Purged for good.').waitFor();
  assert.equal((await server.engine.quarantine.list({}, { limit: 10 })).total, 0);

  // A new tab (a new session) starts without the token.
  const other = await pageFor(browser);
  await other.goto(`http://127.0.0.1:${server.httpPort}/#/quarantine`);
  const asked = other.getByRole('dialog', { name: 'Admin token needed' });
  await asked.waitFor();
  // Cancelled, the prompt stays closed (no re-prompt on every poll); the error offers it again.
  await asked.getByRole('button', { name: 'Cancel' }).click();
  const offer = other.getByRole('button', { name: 'Enter the admin token' }).first();
  await offer.waitFor();
  assert.equal(await asked.isVisible(), false);
  await screenshot(t, other, 'token-declined');
  await offer.click();
  await asked.getByLabel('Token').fill(TOKEN);
  await asked.getByRole('button', { name: 'Use token' }).click();
  await other.getByText('Nothing in quarantine.').waitFor();
  assert.deepEqual([...page.errors, ...other.errors], []);
});

// contrib/: every lazaret_* metric that the Grafana dashboard and the Prometheus rules name exists in a
// real /metrics scrape of a server that did some work.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { get, grab, httpServer, submitBg } from '../http/helpers.js';
import { peerFor } from '../helpers/server.js';
import { waitEvent } from '../helpers/events.js';

const ROOT = new URL('../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, ROOT), 'utf8');

function namesIn(text: string): Set<string> {
  return new Set(text.match(/\blazaret_[a-z0-9_]+/g) ?? []);
}

interface Dashboard {
  panels: { title: string; targets: { expr: string }[] }[];
}

test('the dashboard and the alerting rules name only metrics that /metrics serves', async (t) => {
  const dashboard = JSON.parse(read('contrib/grafana/lazaret-dashboard.json')) as Dashboard;
  const rules = read('contrib/prometheus/lazaret-alerts.yml');
  assert.ok(dashboard.panels.length > 0 && dashboard.panels.every((p) => p.targets.length > 0), 'every panel has a query');
  for (const alert of ['LazaretWorkersMissing', 'LazaretQueueTooDeep', 'LazaretOldestJobTooOld', 'LazaretQuarantineGrowing']) {
    assert.match(rules, new RegExp(`alert: ${alert}\\b`));
  }

  const server = await httpServer(t);
  const client = await peerFor(t, server.gearmanPort);
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'contrib');
  await submitBg(client, 'contrib', 'x');
  const job = await grab(worker);
  const done = waitEvent(server.engine, 'job:completed');
  worker.send('WORK_COMPLETE', job.text[0]!, '');
  await done;
  await get(server, '/health');
  const scraped = (await get(server, '/metrics')).text;
  const served = new Set(
    scraped
      .split('\n')
      .filter((l) => l.startsWith('lazaret_'))
      .map((l) => /^[a-z0-9_]+/.exec(l)![0]),
  );

  const named = new Set([...namesIn(JSON.stringify(dashboard)), ...namesIn(rules)]);
  assert.ok(named.size >= 10, `only ${named.size} metrics named`);
  const missing = [...named].filter((n) => !served.has(n));
  assert.deepEqual(missing, [], `named in contrib/ but not served: ${missing.join(', ')}`);
});

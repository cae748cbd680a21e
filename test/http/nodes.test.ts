// GET /api/nodes on a store one node owns (SQLite): this node alone, with its addresses, version, workers
// and jobs held, no lease, and the store's schema version. (Several nodes on PostgreSQL: test/cluster/.)

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VERSION } from '../../src/version.js';
import { peerFor } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';
import { api, httpServer, submitBg } from './helpers.js';
import type { NodeListAnswer } from '../../src/http/schemas.js';

test('a SQLite node lists itself: addresses, version, workers per function, jobs held, no lease', async (t) => {
  const server = await httpServer(t, { cluster: { node: 'solo-1', leaseMs: 30_000 } });
  const client = await peerFor(t, server.gearmanPort);
  await submitBg(client, 'thumb', 'a');
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'thumb');
  const res = await eventually(async () => {
    const r = await api<NodeListAnswer>(server.url, 'GET', '/api/nodes');
    return r.body.nodes[0]?.workers.thumb === 1 && r;
  }, 'the worker in /api/nodes');
  assert.equal(res.status, 200);
  assert.equal(res.body.schemaVersion, await server.engine.store.schemaVersion());
  assert.equal(res.body.store, server.engine.store.describe());
  const [node] = res.body.nodes;
  assert.ok(node !== undefined && res.body.nodes.length === 1);
  assert.deepEqual(
    { ...node, startedAt: undefined, leaseAgeMs: undefined },
    {
      name: 'solo-1',
      self: true,
      epoch: 0,
      gearman: [`127.0.0.1:${server.gearmanPort}`],
      http: server.url,
      version: VERSION,
      startedAt: undefined,
      leaseAgeMs: undefined,
      expiresInMs: null,
      expired: false,
      workers: { thumb: 1 },
      workersTotal: 1,
      jobsHeld: 1,
    },
  );
  assert.ok(Date.parse(node.startedAt) <= Date.now());
});

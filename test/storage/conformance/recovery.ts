// What survives a restart, the id high-water mark, schema version, and the closed state.

import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { StorageAdapter } from '../../../src/storage/adapter.js';
import { eventually } from '../../helpers/wait.js';
import { ErrorCode, batch, end, job, quarantined, rejectsWith, start, type Harness, storedJobs, back } from './harness.js';

export function recoveryTests(h: Harness): void {
  nodesTests(h);
  it('idsNext is 1 on an empty store', async (t) => {
    const store = await h.open(t);
    assert.equal(await store.idsNext(), 1);
  });

  it('idsNext follows the highest job id', async (t) => {
    const store = await h.open(t);
    await store.write(batch({ insertJobs: [job(5), job(9), job(2)] }));
    assert.equal(await store.idsNext(), 10);
  });

  it('idsNext counts quarantined ids, also once the jobs are gone', async (t) => {
    const store = await h.open(t);
    await store.write(batch({ insertJobs: [job(3)], quarantine: [quarantined(200)] }));
    assert.equal(await store.idsNext(), 201);
    await store.write(batch({ deleteJobs: [3] }));
    assert.equal(await store.idsNext(), 201);
  });

  it('idsNext honours the watermark, which never goes down', async (t) => {
    const store = await h.open(t);
    await store.write(batch({ insertJobs: [job(10)], idWatermark: 100 }));
    assert.equal(await store.idsNext(), 101);
    await store.write(batch({ idWatermark: 50 }));
    assert.equal(await store.idsNext(), 101);
    await store.write(batch({ deleteJobs: [10], idWatermark: 120 }));
    assert.equal(await store.idsNext(), 121);
  });

  it('after a reopen, jobs, attempts, quarantine and ids are all there', async (t) => {
    const made = await h.openReopenable(t);
    if (made === null) return;
    const first = made.adapter;
    await first.write(
      batch({
        insertJobs: [job(1, { payload: Buffer.from([0, 1, 0]), runAt: 123, deadline: 456, priority: 2 }), job(2), job(3)],
        startAttempts: [start(1, 1), start(1, 2), start(2, 1)],
        endAttempts: [end(1, 1, { evidence: { stderr: 'oops\n' }, requeue: back(999) })],
        quarantine: [quarantined(40, { detail: 'why' })],
        idWatermark: 77,
      }),
    );
    const jobs = await storedJobs(first);
    const entry = await first.quarantineGet(40);
    const version = await first.schemaVersion();
    await first.close();

    const second = await made.reopen();
    await second.open();
    assert.deepEqual(await storedJobs(second), jobs);
    assert.deepEqual(await second.quarantineGet(40), entry);
    assert.equal(await second.idsNext(), 78);
    assert.equal(await second.schemaVersion(), version);
    await second.close();
  });

  it('schemaVersion is a positive integer', async (t) => {
    const store = await h.open(t);
    const version = await store.schemaVersion();
    assert.ok(Number.isInteger(version) && version > 0, `got ${version}`);
  });

  it('every call after close() rejects with LAZ_STORE_CLOSED', async (t) => {
    const store = await h.open(t);
    await store.close();
    const calls: Array<[string, (s: StorageAdapter) => Promise<unknown>]> = [
      ['schemaVersion', (s) => s.schemaVersion()],
      ['write', (s) => s.write(batch({ insertJobs: [job(1)] }))],
      ['jobsLoad', (s) => storedJobs(s)],
      ['idsNext', (s) => s.idsNext()],
      ['ping', (s) => s.ping(1)],
      ['quarantineList', (s) => s.quarantineList({}, { limit: 1 })],
      ['quarantineCount', (s) => s.quarantineCount({})],
      ['quarantineGet', (s) => s.quarantineGet(1)],
      ['quarantineUpdatePayload', (s) => s.quarantineUpdatePayload(1, Buffer.alloc(1))],
      ['quarantineRequeue', (s) => s.quarantineRequeue({}, 1)],
      ['quarantinePurge', (s) => s.quarantinePurge({})],
    ];
    for (const [name, call] of calls) {
      await t.test(name, () => rejectsWith(call(store), ErrorCode.STORE_CLOSED));
    }
  });

  it('ping writes without touching jobs, ids or quarantine, again and again', async (t) => {
    const store = await h.open(t);
    await store.write(batch({ insertJobs: [job(4)] }));
    await store.ping(1000);
    await store.ping(2000);
    assert.deepEqual(
      (await storedJobs(store)).map((j) => j.id),
      [4],
    );
    assert.equal(await store.idsNext(), 5);
    assert.equal(await store.quarantineCount({}), 0);
  });

  it('describe() names where the data lives', async (t) => {
    const store = await h.open(t);
    assert.ok(store.describe().length > 0);
    assert.ok(store.name.length > 0);
  });
}

/** The nodes of a store: what a node publishes, and a lone node's rescue. */
function nodesTests(h: Harness): void {
  it('a node alone lists itself with what it publishes, and has nobody to rescue', async (t) => {
    const store = await h.open(t);
    const info = { gearman: ['127.0.0.1:4730'], http: null, version: '1.2.3', workers: { resize: 1 }, workersTotal: 1, jobsHeld: 0 };
    store.nodesPublish(() => info);
    await store.write(batch({ insertJobs: [job(1)] }));
    const rows = await eventually(async () => {
      const r = await store.nodesList();
      return r.length === 1 && r[0]?.info.version === '1.2.3' && r;
    }, 'the published info in nodesList');
    assert.deepEqual(rows[0]?.info, info);
    assert.ok(rows[0]!.startedAt <= rows[0]!.now && rows[0]!.renewedAt <= rows[0]!.now);
    assert.ok(rows[0]!.expiresAt === null || rows[0]!.expiresAt > rows[0]!.now);
    assert.deepEqual(await store.nodesRescue(Date.now()), { nodes: [], requeued: 0, taken: [] });
    assert.equal((await store.jobGet(1))?.id, 1);
  });
}

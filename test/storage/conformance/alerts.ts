// The alert outbox: alerts are kept in order until deleted, a failed try is recorded, and all of it
// survives a reopen.

import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { NewAlert } from '../../../src/storage/types.js';
import type { Harness } from './harness.js';

function alert(n: number, over: Partial<NewAlert> = {}): NewAlert {
  return {
    hook: 'https://ops.example.com/hook',
    event: 'health.failed',
    delivery: `d-${n}`,
    body: `{"n":${n}}`,
    createdAt: 1_700_000_000_000 + n,
    nextAt: 1_700_000_000_000 + n,
    ...over,
  };
}

export function alertsTests(h: Harness): void {
  it('alertsAdd returns the alerts with ids, fresh (no tries); alertsList gives them oldest first', async (t) => {
    const store = await h.open(t);
    assert.deepEqual(await store.alertsAdd([]), []);
    const added = await store.alertsAdd([alert(1), alert(2, { hook: 'http://b.example/x', event: 'job.quarantined' })]);
    assert.equal(added.length, 2);
    assert.ok(added[0]!.id < added[1]!.id);
    assert.deepEqual(added[1], {
      ...alert(2, { hook: 'http://b.example/x', event: 'job.quarantined' }),
      id: added[1]!.id,
      attempts: 0,
      failingSince: null,
      lastError: null,
    });
    const later = await store.alertsAdd([alert(3)]);
    assert.deepEqual(
      (await store.alertsList()).map((a) => a.delivery),
      ['d-1', 'd-2', 'd-3'],
    );
    assert.ok(later[0]!.id > added[1]!.id);
  });

  it('alertsUpdate records a failed try; alertsDelete removes, counting only what existed', async (t) => {
    const store = await h.open(t);
    const [a, b] = await store.alertsAdd([alert(1), alert(2)]);
    assert.equal(await store.alertsUpdate({ id: a!.id, attempts: 3, nextAt: 42, failingSince: 7, lastError: 'ECONNREFUSED' }), true);
    assert.equal(await store.alertsUpdate({ id: 999_999, attempts: 1, nextAt: 1, failingSince: 1, lastError: null }), false);
    const [first] = await store.alertsList();
    assert.deepEqual([first!.attempts, first!.nextAt, first!.failingSince, first!.lastError], [3, 42, 7, 'ECONNREFUSED']);
    assert.equal(await store.alertsDelete([a!.id, 999_999]), 1);
    assert.deepEqual(
      (await store.alertsList()).map((x) => x.id),
      [b!.id],
    );
    assert.equal(await store.alertsDelete([]), 0);
  });

  it('stored alerts and their tries survive a reopen', async (t) => {
    const made = await h.openReopenable(t);
    if (made === null) return;
    const [a] = await made.adapter.alertsAdd([alert(1)]);
    await made.adapter.alertsUpdate({ id: a!.id, attempts: 2, nextAt: 99, failingSince: 5, lastError: 'HTTP 503' });
    await made.adapter.close();
    const again = await made.reopen();
    await again.open();
    t.after(() => again.close());
    assert.deepEqual(await again.alertsList(), [{ ...a!, attempts: 2, nextAt: 99, failingSince: 5, lastError: 'HTTP 503' }]);
  });
}

// The wake-ups between nodes sharing a PostgreSQL store (storage/postgres/notify.ts): what a
// notification carries, and that a transaction's notification is delivered only when it commits.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { channelOf, payloadOf, queuesOf } from '../../src/storage/postgres/notify.js';
import { freshPostgres, TEST_POSTGRES_URL } from '../helpers/postgres.js';
import { batch, job } from './conformance/harness.js';
import { eventually } from '../helpers/wait.js';

test('payload: one line per queue, each once; empty (any queue) past 8,000 bytes; an unreadable one means any queue', () => {
  const q = [
    { function: 'resize', priority: 1 as const },
    { function: 'mail.send', priority: 0 as const },
    { function: 'resize', priority: 1 as const },
  ];
  assert.equal(payloadOf(q), '1 resize\n0 mail.send');
  assert.deepEqual(queuesOf(payloadOf(q)), q.slice(0, 2));
  const many = Array.from({ length: 200 }, (_, i) => ({ function: `function-number-${i}-${'x'.repeat(30)}`, priority: 2 as const }));
  assert.equal(payloadOf(many), '');
  assert.deepEqual(queuesOf(''), []);
  assert.deepEqual(queuesOf('1 ok\nresize'), []);
  assert.equal(channelOf('lazaret'), 'lazaret_lazaret');
  assert.equal(Buffer.byteLength(channelOf('s'.repeat(63))), 63);
});

test("a store's write that leaves jobs queued notifies its listeners when it commits, naming their queues; a held insert, or a write rolled back, does not", async (t) => {
  const db = freshPostgres();
  t.after(() => db.cleanup());
  const writer = db.store({ node: 'writer' });
  const reader = db.store({ node: 'reader' });
  await writer.open();
  await reader.open();
  const heard: unknown[] = [];
  reader.onQueued((queues) => heard.push(queues));
  // An outside listener sees the raw channel: nothing for a held insert, then one notification.
  const outside = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await outside.connect();
  t.after(() => outside.end());
  await outside.query(`LISTEN "${channelOf(db.schema)}"`);
  const payloads: string[] = [];
  outside.on('notification', (n) => payloads.push(n.payload ?? ''));
  await writer.write(batch({ insertJobs: [job(1, { state: 'held' })] }));
  await writer.write(
    batch({
      insertJobs: [job(2, { function: 'resize', priority: 0 }), job(3, { function: 'resize', priority: 0 }), job(4, { function: 'mail', priority: 2 })],
    }),
  );
  // A write that fails (an id stored already) is rolled back whole: its notification never goes out.
  await assert.rejects(writer.write(batch({ insertJobs: [job(5, { function: 'lost' }), job(2, { unique: 'other' })] })));
  await writer.write(batch({ insertJobs: [job(6, { function: 'after' })] }));
  await eventually(() => heard.length === 2 && payloads.length === 2, 'the notifications of the committed writes');
  assert.deepEqual(heard, [
    [
      { function: 'resize', priority: 0 },
      { function: 'mail', priority: 2 },
    ],
    [{ function: 'after', priority: 1 }],
  ]);
  assert.deepEqual(payloads, ['0 resize\n2 mail', '1 after']);
});

// "listing stays fast with 100,000 entries". The entries go in through the store adapter in
// one WriteBatch (as group commits would put them there); the listing is timed through the real HTTP
// API. The figures are printed, not asserted: a loaded CI machine must not fail the suite.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { SqliteStore } from '../../src/storage/sqlite/store.js';
import { emptyBatch, type QuarantineReason, type QuarantineRow } from '../../src/storage/types.js';
import { freshSqlite } from '../helpers/store.js';
import { serverFor } from '../helpers/server.js';

const N = 100_000;
const FUNCTIONS = ['resize', 'transcode', 'mail', 'pdf'];
const REASONS: QuarantineReason[] = ['max_crashes', 'max_attempts', 'expired', 'timed_out', 'cancelled'];

function row(id: number, at: number): QuarantineRow {
  const fn = FUNCTIONS[id % FUNCTIONS.length]!;
  return {
    id,
    handle: `H:bulk:${id}`,
    tags: [],
    function: fn,
    unique: `u-${id}`,
    payload: Buffer.from(`payload of job ${id} `.repeat(8)),
    priority: 1,
    submittedAt: at - 60_000,
    deadline: null,
    reason: REASONS[id % REASONS.length]!,
    detail: '3 attempts, 3 crashed or timed out',
    quarantinedAt: at,
    attempts: [1, 2, 3].map((n) => ({
      jobId: id,
      n,
      worker: `w${n}`,
      startedAt: at - 1000 * (4 - n),
      endedAt: at - 1000 * (3 - n),
      outcome: 'crashed' as const,
      error: 'worker disconnected',
      evidence: { signal: 'SIGSEGV', exitCode: 139 },
    })),
  };
}

interface Listing {
  total: number;
  entries: { id: number; function: string; reason: string; attempts: number }[];
  nextBeforeId: number | null;
}

test('GET /api/quarantine?limit=100 over 100,000 entries', async (t) => {
  const db = await freshSqlite();
  t.after(() => db.cleanup());
  const start = Date.UTC(2026, 0, 1);
  const store = new SqliteStore({ path: db.path });
  await store.open();
  const rows: QuarantineRow[] = [];
  for (let id = 1; id <= N; id++) rows.push(row(id, start + id));
  const t0 = performance.now();
  await store.write({ ...emptyBatch(), quarantine: rows });
  t.diagnostic(`inserted ${N} quarantine rows in ${(performance.now() - t0).toFixed(0)} ms`);
  await store.close();

  const server = await serverFor(t, { httpPort: 0 }, { dbPath: db.path });
  const base = `http://127.0.0.1:${server.httpPort}/api/quarantine`;
  const timed = async (query: string): Promise<Listing> => {
    const begin = performance.now();
    const res = await fetch(`${base}?${query}`);
    const body = (await res.json()) as Listing;
    t.diagnostic(`GET /api/quarantine?${query}: ${(performance.now() - begin).toFixed(1)} ms (${body.entries.length} of ${body.total})`);
    assert.equal(res.status, 200);
    return body;
  };

  const first = await timed('limit=100');
  assert.equal(first.total, N);
  assert.deepEqual(
    first.entries.map((e) => e.id),
    Array.from({ length: 100 }, (_, i) => N - i),
    'newest first',
  );
  assert.equal(first.entries[0]!.attempts, 3);
  const again = await timed('limit=100');
  assert.deepEqual(again.entries, first.entries);
  const deep = await timed(`limit=100&beforeId=${N / 2}`);
  assert.equal(deep.entries[0]!.id, N / 2 - 1);
  const byFunction = await timed('limit=100&function=mail');
  assert.equal(byFunction.total, N / FUNCTIONS.length);
  assert.ok(byFunction.entries.every((e) => e.function === 'mail'));
  const byBoth = await timed('limit=100&function=resize&reason=expired');
  assert.ok(byBoth.entries.length > 0 && byBoth.entries.every((e) => e.function === 'resize' && e.reason === 'expired'));
  const since = await timed(`limit=100&since=${start + N - 10}`);
  assert.equal(since.total, 11);
  const one = await fetch(`${base}/${N / 2}`);
  assert.equal(one.status, 200);
});

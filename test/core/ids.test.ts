// IdAllocator: with a store of one node each block follows the last; with a shared store each block comes
// from store.idsNext(), asked for while half of the current block is left, so taking an id never waits
// for the store. Either way the watermark of each block is staged into the group commits.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IdAllocator, type IdSource } from '../../src/core/ids.js';
import { isLazaretError } from '../../src/errors.js';

/** A shared store whose idsNext() answers are released by the test. */
function sharedStore(idBlock: number | undefined, blocks: number[]) {
  const asked: ((start: number) => void)[] = [];
  const failures: ((err: Error) => void)[] = [];
  const source: IdSource = {
    capabilities: idBlock === undefined ? { shared: true } : { shared: true, idBlock },
    idsNext: () =>
      new Promise<number>((resolve, reject) => {
        asked.push(resolve);
        failures.push(reject);
      }),
  };
  return {
    source,
    asked,
    /** Answers the oldest open question with the next of `blocks`. */
    answer() {
      failures.shift();
      asked.shift()!(blocks.shift()!);
    },
    fail() {
      asked.shift();
      failures.shift()!(new Error('connection refused'));
    },
  };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));
const take = (ids: IdAllocator, n: number): number[] => Array.from({ length: n }, () => ids.next());

test('a store of one node: the watermark is staged at start and again while half a block is left, never asked of the store', () => {
  const staged: number[] = [];
  let asked = 0;
  const ids = new IdAllocator((w) => staged.push(w), {
    capabilities: { shared: false },
    idsNext: async () => ++asked,
  });
  ids.start(7);
  assert.deepEqual(staged, [100_007]);
  assert.deepEqual(take(ids, 3), [7, 8, 9]);
  take(ids, 50_000 - 3);
  assert.deepEqual(staged, [100_007]);
  assert.equal(ids.next(), 50_007);
  assert.deepEqual(staged, [100_007, 200_007]);
  assert.equal(asked, 0);
  // Without a store argument (as before): the same.
  const plain: number[] = [];
  const old = new IdAllocator((w) => plain.push(w));
  old.start(1);
  assert.deepEqual([old.next(), plain], [1, [100_001]]);
});

test('a shared store: blocks come from idsNext(), the next asked for at half the current one, each watermark staged', async () => {
  const staged: number[] = [];
  const store = sharedStore(10, [5000, 9000]);
  const ids = new IdAllocator((w) => staged.push(w), store.source);
  ids.start(100);
  assert.deepEqual(take(ids, 5), [100, 101, 102, 103, 104]);
  assert.equal(store.asked.length, 0, 'not before half the block is taken');
  assert.equal(ids.next(), 105);
  assert.equal(store.asked.length, 1, 'asked once half is taken');
  assert.deepEqual(take(ids, 2), [106, 107]);
  assert.equal(store.asked.length, 1, 'one question at a time');
  store.answer();
  await flush();
  assert.deepEqual(take(ids, 4), [108, 109, 5000, 5001], 'the next block follows the last id of this one');
  assert.deepEqual(take(ids, 4), [5002, 5003, 5004, 5005]);
  assert.equal(store.asked.length, 1);
  store.answer();
  await flush();
  assert.deepEqual(take(ids, 5), [5006, 5007, 5008, 5009, 9000]);
  assert.deepEqual(staged, [110, 5010, 9010]);
});

test('a shared store answering below the block in use (its watermark not committed yet): the answer is not used, the next id asks again', async () => {
  const store = sharedStore(10, [104, 110, 2000]);
  const ids = new IdAllocator(() => {}, store.source);
  ids.start(100);
  take(ids, 6);
  store.answer();
  await flush();
  assert.equal(store.asked.length, 0);
  assert.equal(ids.next(), 106);
  assert.equal(store.asked.length, 1, 'asked again');
  store.answer();
  await flush();
  assert.deepEqual(take(ids, 4), [107, 108, 109, 110]);
  assert.deepEqual(take(ids, 6), [111, 112, 113, 114, 115, 116]);
  store.answer();
  await flush();
  assert.deepEqual(take(ids, 4), [117, 118, 119, 2000]);
});

test('a shared store that has not answered when a block runs out: LAZ_STORE_BUSY for that id, never an id outside a reserved block', async () => {
  const store = sharedStore(4, [50, 90]);
  const ids = new IdAllocator(() => {}, store.source);
  ids.start(10);
  assert.deepEqual(take(ids, 4), [10, 11, 12, 13]);
  store.fail();
  await flush();
  assert.throws(
    () => ids.next(),
    (err: unknown) => isLazaretError(err) && err.code === 'LAZ_STORE_BUSY' && /connection refused/.test(err.message),
  );
  assert.equal(store.asked.length, 1, 'asked again');
  assert.throws(() => ids.next(), { code: 'LAZ_STORE_BUSY' });
  store.answer();
  await flush();
  assert.deepEqual(take(ids, 3), [50, 51, 52]);
});

test('a shared store without idBlock: blocks of 100,000; a larger idBlock is used up to that', async () => {
  for (const idBlock of [undefined, 1_000_000]) {
    const store = sharedStore(idBlock, [7_000_000]);
    const ids = new IdAllocator(() => {}, store.source);
    ids.start(1);
    take(ids, 50_000);
    assert.equal(store.asked.length, 0);
    take(ids, 1);
    assert.equal(store.asked.length, 1);
    store.answer();
    await flush();
    take(ids, 49_999);
    assert.equal(ids.next(), 7_000_000);
  }
});

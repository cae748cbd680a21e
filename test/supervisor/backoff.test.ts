import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from '../../src/supervisor/backoff.js';
import { ExitHistory } from '../../src/supervisor/exits.js';
import { LineTail } from '../../src/supervisor/tail.js';

test('backoff: the ceiling doubles up to max, each delay is drawn under it (full jitter), reset starts over', () => {
  let r = 1;
  const b = new Backoff({ initialMs: 10, maxMs: 100 }, () => r);
  assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()], [10, 20, 40, 80, 100, 100]);
  r = 0.25;
  assert.equal(b.next(), 25, 'a quarter of the capped ceiling');
  r = 0;
  assert.equal(b.next(), 0, 'full jitter reaches down to 0');
  b.reset();
  r = 1;
  assert.equal(b.next(), 10);
  for (let i = 0; i < 10_000; i++) b.next();
  assert.equal(b.next(), 100, 'still finite and capped after thousands of deaths');
});

test('flapping: n short runs within the window; exits that ran stably or fell out of the window do not count', () => {
  const h = new ExitHistory({ exits: 3, windowMs: 1000 });
  const exit = (at: number): { at: number; code: number; signal: null } => ({ at, code: 1, signal: null });
  assert.equal(h.record(exit(0), true), false);
  assert.equal(h.record(exit(100), false), false, 'a long run is not a death of a young copy');
  assert.equal(h.record(exit(500), true), false);
  assert.equal(h.record(exit(1600), true), false, 'the first short exit left the window');
  assert.equal(h.record(exit(1700), true), false);
  assert.equal(h.record(exit(1800), true), true, 'three short exits within 1 s: flapping starts');
  assert.equal(h.flapping, true);
  assert.equal(h.record(exit(1900), true), false, 'reported once, when it starts');
  assert.equal(h.stable(), true, 'a stable run ends it');
  assert.equal(h.flapping, false);
  assert.equal(h.last.length, 7);
  for (let i = 0; i < 20; i++) h.record(exit(2000 + i), false);
  assert.equal(h.last.length, 10, 'only the last exits are kept');
});

test('stderr tail: complete lines are passed on, only the last ones kept, a line without newline is cut', () => {
  const tail = new LineTail(3);
  assert.deepEqual(tail.push('a\nb'), ['a']);
  assert.deepEqual(tail.push('c\nd\ne\n'), ['bc', 'd', 'e']);
  assert.deepEqual(tail.lines(), ['bc', 'd', 'e']);
  assert.deepEqual(tail.push('x'.repeat(1500)), ['x'.repeat(1500)], 'an endless line is flushed');
  assert.equal(tail.lines()[2]!.length, 1001);
  tail.push('last words');
  assert.equal(tail.end(), 'last words');
  assert.deepEqual(tail.lines().slice(-1), ['last words']);
});

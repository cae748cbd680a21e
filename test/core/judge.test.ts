import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isCrash, judge, type EndedAttempt } from '../../src/core/judge.js';
import { DEFAULT_POLICY, type Policy } from '../../src/core/policy.js';

const policy: Policy = { ...DEFAULT_POLICY, maxAttempts: 3, maxCrashes: 2, backoff: { type: 'exponential', base: 1000, cap: 5000, jitter: false } };

function ended(over: Partial<EndedAttempt>): EndedAttempt {
  return { policy, attempts: 1, crashes: 0, outcome: 'failed', error: 'boom', unclaimed: false, now: 10_000, random: () => 0.5, ...over };
}

test('a failure within budget is retried after the backoff of its attempt number', () => {
  assert.deepEqual(judge(ended({ attempts: 1 })), { kind: 'retry', retryAt: 11_000 });
  assert.deepEqual(judge(ended({ attempts: 2 })), { kind: 'retry', retryAt: 12_000 });
});

test('the backoff is capped and jittered with the random source given', () => {
  assert.deepEqual(judge(ended({ attempts: 2, policy: { ...policy, maxAttempts: 10, backoff: { ...policy.backoff, cap: 1500 } } })), {
    kind: 'retry',
    retryAt: 11_500,
  });
  const jittered = { ...policy, backoff: { ...policy.backoff, jitter: true } };
  assert.deepEqual(judge(ended({ attempts: 1, policy: jittered, random: () => 0 })), { kind: 'retry', retryAt: 10_500 });
  assert.deepEqual(judge(ended({ attempts: 1, policy: jittered, random: () => 1 })), { kind: 'retry', retryAt: 11_000 });
});

test('the last allowed attempt quarantines as max_attempts, with the counts and the last error', () => {
  assert.deepEqual(judge(ended({ attempts: 3, crashes: 1 })), {
    kind: 'quarantine',
    reason: 'max_attempts',
    detail: '3 attempts, 1 crashed or timed out; last: failed: boom',
  });
});

test('a spent crash budget quarantines as max_crashes, or timed_out when the last attempt timed out', () => {
  const crashed = judge(ended({ attempts: 2, crashes: 2, outcome: 'crashed' }));
  assert.equal(crashed.kind === 'quarantine' && crashed.reason, 'max_crashes');
  const timedOut = judge(ended({ attempts: 2, crashes: 2, outcome: 'timed_out' }));
  assert.equal(timedOut.kind === 'quarantine' && timedOut.reason, 'timed_out');
  // Both budgets spent: the crash budget names the reason.
  const both = judge(ended({ attempts: 3, crashes: 2, outcome: 'crashed' }));
  assert.equal(both.kind === 'quarantine' && both.reason, 'max_crashes');
});

test('an unclaimed foreground job is dropped, unless it spent its budget (it may be a job of death)', () => {
  assert.deepEqual(judge(ended({ unclaimed: true })), { kind: 'drop' });
  const spent = judge(ended({ unclaimed: true, attempts: 3 }));
  assert.equal(spent.kind, 'quarantine');
});

test('only crashes and timeouts are charged to the crash budget', () => {
  assert.deepEqual((['completed', 'failed', 'crashed', 'timed_out', 'cancelled', 'returned', null] as const).map(isCrash), [
    false,
    false,
    true,
    true,
    false,
    false,
    false,
  ]);
});

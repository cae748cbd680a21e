// What becomes of a job after an attempt that did not complete: one pure decision, so every branch of
// the retry policy is testable without an engine (test/core/judge.test.ts).

import type { AttemptOutcome, QuarantineReason } from '../storage/types.js';
import { backoffDelay, type Policy } from './policy.js';

/** Outcomes charged to the crash budget (maxCrashes); `returned` and `failed` are not. */
export function isCrash(outcome: AttemptOutcome | null): boolean {
  return outcome === 'crashed' || outcome === 'timed_out';
}

export interface EndedAttempt {
  policy: Policy;
  /** Deliveries so far, the one that just ended included. */
  attempts: number;
  /** Of those, the ones that crashed or timed out (the one that just ended included). */
  crashes: number;
  outcome: AttemptOutcome;
  error: string;
  /** Nobody can receive a result: a foreground (unstored) job whose clients have all gone. */
  unclaimed: boolean;
  now: number;
  random: () => number;
}

export type Verdict =
  | { kind: 'retry'; retryAt: number }
  | { kind: 'quarantine'; reason: QuarantineReason; detail: string }
  /** Forgotten, recorded as failed: nobody is left to run it for. */
  | { kind: 'drop' };

export function judge(a: EndedAttempt): Verdict {
  // A spent budget wins over abandonment: even a foreground job whose clients left is kept, it may be a
  // job of death.
  const reason = spentBudget(a);
  if (reason !== null) {
    return { kind: 'quarantine', reason, detail: `${a.attempts} attempts, ${a.crashes} crashed or timed out; last: ${a.outcome}: ${a.error}` };
  }
  if (a.unclaimed) return { kind: 'drop' };
  return { kind: 'retry', retryAt: a.now + backoffDelay(a.policy.backoff, a.attempts, a.random) };
}

function spentBudget(a: EndedAttempt): QuarantineReason | null {
  if (a.crashes >= a.policy.maxCrashes) return a.outcome === 'timed_out' ? 'timed_out' : 'max_crashes';
  if (a.attempts >= a.policy.maxAttempts) return 'max_attempts';
  return null;
}

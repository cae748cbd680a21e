// Per-function policies, matched by glob (docs/architecture.md, Vocabulary: policy).

import picomatch from 'picomatch';

export interface BackoffPolicy {
  type: 'exponential' | 'fixed';
  /** First delay, ms. */
  base: number;
  /** Largest delay, ms. */
  cap: number;
  /** Spread each delay over [delay/2, delay] so retries of many jobs do not arrive together. */
  jitter: boolean;
}

export interface Policy {
  /** Deliveries in all, of any outcome, before the job is quarantined (max_attempts). */
  maxAttempts: number;
  /** Deliveries that crashed or timed out before the job is quarantined (max_crashes / timed_out). */
  maxCrashes: number;
  backoff: BackoffPolicy;
  /** Longest a delivery may run, ms; null = no limit (a worker's CAN_DO_TIMEOUT still applies). */
  timeout: number | null;
  /** Deadline from submission, ms; null = none. */
  ttl: number | null;
  /** Retry foreground jobs whose worker sent WORK_FAIL / WORK_EXCEPTION (gearmand never does). */
  retryForeground: boolean;
}

export interface PolicyRule extends Partial<Omit<Policy, 'backoff'>> {
  /** Glob over function names, e.g. `resize_*`. */
  match: string;
  backoff?: Partial<BackoffPolicy>;
}

export const DEFAULT_POLICY: Readonly<Policy> = Object.freeze({
  maxAttempts: 5,
  maxCrashes: 3,
  backoff: Object.freeze({ type: 'exponential', base: 1_000, cap: 600_000, jitter: true }) as BackoffPolicy,
  timeout: null,
  ttl: null,
  retryForeground: false,
});

/** Resolves a function's policy: every matching rule applies in order, later rules win. Cached. */
export class PolicyBook {
  readonly #rules: { rule: PolicyRule; test: (name: string) => boolean }[];
  readonly #cache = new Map<string, Policy>();
  readonly #base: Policy;

  constructor(rules: readonly PolicyRule[] = [], base: Policy = DEFAULT_POLICY) {
    this.#base = base;
    this.#rules = rules.map((rule) => ({ rule, test: picomatch(rule.match, { dot: true }) }));
  }

  for(fn: string): Policy {
    let policy = this.#cache.get(fn);
    if (policy === undefined) {
      policy = { ...this.#base, backoff: { ...this.#base.backoff } };
      for (const { rule, test } of this.#rules) {
        if (!test(fn)) continue;
        const { match: _match, backoff, ...rest } = rule;
        for (const [k, v] of Object.entries(rest)) if (v !== undefined) (policy as unknown as Record<string, unknown>)[k] = v;
        if (backoff) policy.backoff = { ...policy.backoff, ...backoff };
      }
      if (this.#cache.size > 10_000) this.#cache.clear();
      this.#cache.set(fn, policy);
    }
    return policy;
  }
}

/** A running attempt with no timeout is called hung after this long (health checks, /api/workers). */
export const DEFAULT_HANG_MS = 10 * 60_000;

/** How long an attempt may run before it counts as hung: its timeout, else DEFAULT_HANG_MS. */
export function hangThresholdMs(policy: Policy): number {
  return policy.timeout ?? DEFAULT_HANG_MS;
}

/** Delay before retry number `failures` (1 = after the first failed delivery). */
export function backoffDelay(b: BackoffPolicy, failures: number, random: () => number = Math.random): number {
  const raw = b.type === 'fixed' ? b.base : b.base * 2 ** Math.min(Math.max(failures - 1, 0), 40);
  const delay = Math.min(raw, b.cap);
  return b.jitter ? Math.round(delay / 2 + (random() * delay) / 2) : delay;
}

// What is alerted: a POST when a health check turns red, again every repeatEvery while it stays red, one
// when it recovers, and one per quarantined job (at most quarantinePerMinute a minute, then one summary
// of the rest). Delivery is the outbox's job; nothing here waits on the job path.

import type { AlertEvent } from '../../config.js';
import type { Clock, TimerRef } from '../../core/clock.js';
import { iso } from '../../core/handoff.js';
import type { CheckResult } from '../health.js';
import type { QuarantineRow } from '../../storage/types.js';
import type { AlertOutbox } from './outbox.js';

const MINUTE = 60_000;

export interface SenderOptions {
  clock: Clock;
  quarantinePerMinute: number;
  /** While a check stays red its alert is sent again this often, ms; 0 = never. */
  repeatEveryMs: number;
  /** The check's latest result, for a repeat (the checker only reports changes). */
  current?: (check: CheckResult) => CheckResult | undefined;
}

interface Red {
  since: number;
  repeats: number;
  check: CheckResult;
  timer: TimerRef | null;
}

export class AlertSender {
  readonly #outbox: AlertOutbox;
  readonly #clock: Clock;
  readonly #opts: SenderOptions;
  readonly #red = new Map<string, Red>();
  #seq = 0;
  #windowStart = Number.NEGATIVE_INFINITY;
  #sentInWindow = 0;
  #held = { count: 0, functions: new Map<string, number>(), reasons: new Map<string, number>(), since: 0 };
  #summaryTimer: TimerRef | null = null;
  #closed = false;

  constructor(outbox: AlertOutbox, opts: SenderOptions) {
    this.#outbox = outbox;
    this.#clock = opts.clock;
    this.#opts = opts;
  }

  healthChanged(check: CheckResult): void {
    const key = `${check.name}\0${check.function ?? ''}`;
    const red = this.#red.get(key);
    if (check.state === 'fail') {
      if (red !== undefined) return;
      const entry: Red = { since: this.#clock.now(), repeats: 0, check, timer: null };
      this.#red.set(key, entry);
      this.#armRepeat(entry);
      this.#send('health.failed', { check });
      return;
    }
    if (red !== undefined) {
      red.timer?.cancel();
      this.#red.delete(key);
    }
    this.#send('health.recovered', { check });
  }

  quarantined(entry: QuarantineRow): void {
    const now = this.#clock.now();
    if (now - this.#windowStart >= MINUTE) {
      this.#windowStart = now;
      this.#sentInWindow = 0;
    }
    if (this.#sentInWindow < this.#opts.quarantinePerMinute) {
      this.#sentInWindow++;
      const job = {
        id: entry.id,
        handle: entry.handle,
        function: entry.function,
        unique: entry.unique,
        reason: entry.reason,
        detail: entry.detail,
        attempts: entry.attempts.length,
        quarantinedAt: iso(entry.quarantinedAt),
      };
      this.#send('job.quarantined', { job });
      return;
    }
    const held = this.#held;
    if (held.count === 0) held.since = now;
    held.count++;
    held.functions.set(entry.function, (held.functions.get(entry.function) ?? 0) + 1);
    held.reasons.set(entry.reason, (held.reasons.get(entry.reason) ?? 0) + 1);
    this.#summaryTimer ??= this.#clock.setTimer(this.#windowStart + MINUTE - now, () => this.#sendSummary());
  }

  close(): void {
    this.#closed = true;
    this.#summaryTimer?.cancel();
    for (const red of this.#red.values()) red.timer?.cancel();
    this.#red.clear();
  }

  #armRepeat(red: Red): void {
    if (this.#opts.repeatEveryMs <= 0 || this.#closed) return;
    red.timer = this.#clock.setTimer(this.#opts.repeatEveryMs, () => {
      red.repeats++;
      const check = this.#opts.current?.(red.check) ?? red.check;
      this.#send('health.failed', { check, repeat: red.repeats, failingSince: iso(red.since) });
      this.#armRepeat(red);
    });
  }

  #sendSummary(): void {
    this.#summaryTimer = null;
    const held = this.#held;
    this.#send('job.quarantined', {
      summary: { count: held.count, since: iso(held.since), functions: Object.fromEntries(held.functions), reasons: Object.fromEntries(held.reasons) },
    });
    this.#held = { count: 0, functions: new Map(), reasons: new Map(), since: 0 };
    // The summary opens a new minute; what follows it is sent one by one again.
    this.#windowStart = this.#clock.now();
    this.#sentInWindow = 0;
  }

  #send(event: AlertEvent, fields: object): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    const delivery = `${now.toString(36)}-${(this.#seq++).toString(36)}`;
    void this.#outbox.raise(event, delivery, JSON.stringify({ event, at: iso(now), ...fields }));
  }
}

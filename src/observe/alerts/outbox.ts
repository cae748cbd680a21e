// The alert outbox: every alert is stored before its first try and deleted only once its receiver
// answered 2xx or it was given up, so neither a receiver that is down for hours nor a restart of the
// node loses one. Each webhook gets its alerts one at a time, oldest first, so a receiver sees them in
// the order they were raised; the oldest waits out its backoff and the ones behind it wait with it.
//
// Schedule (docs/observability.md): try at once; after the n-th failed try wait min(retryBase * 2^(n-1),
// retryMax), i.e. 1 s, 2 s, 4 s ... 256 s, then every 5 min, until `retryFor` after the alert was raised
// (the last try falls exactly then); a try that fails past that gives the alert up.

import type { Logger } from 'pino';
import type { AlertEvent, WebhookConfig } from '../../config.js';
import type { Clock, TimerRef } from '../../core/clock.js';
import { TypedEmitter } from '../../core/events.js';
import type { CheckResult } from '../health.js';
import type { StorageAdapter } from '../../storage/adapter.js';
import type { AlertRow, NewAlert } from '../../storage/types.js';
import { postAlert, redactUrl } from './post.js';

export interface OutboxOptions {
  clock: Clock;
  log: Logger;
  /** How long an alert is retried after it was raised, ms. */
  retryForMs: number;
  /** /health turns red when a webhook's oldest alert has failed for this long, ms. */
  undeliveredAfterMs: number;
  /** First retry delay, ms; doubles each time up to retryMaxMs. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** One try's limit, ms. */
  timeoutMs?: number;
  /** Alerts kept per webhook; past it the oldest is dropped (and logged): a bound on the store. */
  maxPerHook?: number;
}

export interface OutboxEvents {
  'alert:delivered': [alert: AlertRow];
  /** A try failed; `alert.nextAt` is when the next one is due (its timer is already armed). */
  'alert:failed': [alert: AlertRow, error: string];
  'alert:dropped': [alert: AlertRow, why: string];
}

/** What /metrics shows about alert delivery. */
export interface AlertStats {
  delivered: number;
  /** Tries that failed (an alert retried five times counts five). */
  failedTries: number;
  /** Alerts given up (past retryFor) or pushed out by the per-webhook bound. */
  dropped: number;
  readonly pending: number;
}

class HookQueue {
  readonly rows: AlertRow[] = [];
  readonly label: string;
  busy = false;
  timer: TimerRef | null = null;
  constructor(readonly cfg: WebhookConfig) {
    this.label = redactUrl(cfg.url);
  }
}

export class AlertOutbox extends TypedEmitter<OutboxEvents> implements AlertStats {
  delivered = 0;
  failedTries = 0;
  dropped = 0;
  readonly #store: StorageAdapter;
  readonly #queues: HookQueue[];
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #retryForMs: number;
  readonly #undeliveredAfterMs: number;
  readonly #retryBaseMs: number;
  readonly #retryMaxMs: number;
  readonly #timeoutMs: number;
  readonly #maxPerHook: number;
  readonly #abort = new AbortController();
  /** Ids for alerts the store refused: kept in memory rather than lost. */
  #unstored = 0;
  #closed = false;

  constructor(store: StorageAdapter, webhooks: readonly WebhookConfig[], opts: OutboxOptions) {
    super();
    this.#store = store;
    this.#queues = webhooks.map((w) => new HookQueue(w));
    this.#clock = opts.clock;
    this.#log = opts.log;
    this.#retryForMs = opts.retryForMs;
    this.#undeliveredAfterMs = opts.undeliveredAfterMs;
    this.#retryBaseMs = opts.retryBaseMs ?? 1000;
    this.#retryMaxMs = opts.retryMaxMs ?? 300_000;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#maxPerHook = opts.maxPerHook ?? 1000;
  }

  get pending(): number {
    return this.#queues.reduce((n, q) => n + q.rows.length, 0);
  }

  /** Picks up the alerts a previous run left undelivered and starts sending them. */
  async start(): Promise<void> {
    const stored = await this.#store.alertsList();
    const orphans: number[] = [];
    for (const row of stored) {
      const q = this.#queues.find((x) => x.cfg.url === row.hook);
      if (q === undefined) orphans.push(row.id);
      else q.rows.push(row);
    }
    if (orphans.length > 0) {
      this.#log.warn({ alerts: orphans.length }, 'stored alerts for a webhook no longer configured were deleted');
      await this.#store.alertsDelete(orphans);
    }
    const resumed = stored.length - orphans.length;
    if (resumed > 0) this.#log.info({ alerts: resumed }, 'resuming the delivery of alerts left by the previous run');
    for (const q of this.#queues) this.#kick(q);
  }

  /** Stores the alert for every webhook that wants `event`, then tries to send it. */
  async raise(event: AlertEvent, delivery: string, body: string): Promise<void> {
    if (this.#closed) return;
    const queues = this.#queues.filter((q) => q.cfg.events.includes(event));
    if (queues.length === 0) return;
    const now = this.#clock.now();
    const fresh: NewAlert[] = queues.map((q) => ({ hook: q.cfg.url, event, delivery, body, createdAt: now, nextAt: now }));
    let rows: AlertRow[];
    try {
      rows = await this.#store.alertsAdd(fresh);
    } catch (err) {
      this.#log.error({ err, event, delivery }, 'could not store an alert; it is kept in memory only and lost if the node stops');
      rows = fresh.map((a) => ({ ...a, id: -++this.#unstored, attempts: 0, failingSince: null, lastError: null }));
    }
    if (this.#closed) return;
    queues.forEach((q, i) => this.#push(q, rows[i]!));
  }

  /** The `alerts` check of /health: red while a webhook's oldest alert has failed for undeliveredAfter. */
  checks(): CheckResult[] {
    if (this.#queues.length === 0 || this.#closed) return [];
    const now = this.#clock.now();
    const stuck: string[] = [];
    let worst = 0;
    for (const q of this.#queues) {
      const head = q.rows[0];
      if (head?.failingSince == null) continue;
      const failing = now - head.failingSince;
      if (failing < this.#undeliveredAfterMs) continue;
      worst = Math.max(worst, failing);
      stuck.push(`${q.label} (${q.rows.length} waiting, failing for ${Math.round(failing / 1000)}s: ${head.lastError ?? 'unknown error'})`);
    }
    const limit = this.#undeliveredAfterMs;
    if (stuck.length > 0) return [{ name: 'alerts', state: 'fail', reason: `alerts undelivered: ${stuck.join('; ')}`, value: worst, threshold: limit }];
    return [
      { name: 'alerts', state: 'ok', reason: `${this.pending} alert(s) waiting, none failing for ${Math.round(limit / 1000)}s`, value: 0, threshold: limit },
    ];
  }

  /** Stops sending; what is still waiting stays stored for the next run. */
  close(): void {
    this.#closed = true;
    this.#abort.abort();
    for (const q of this.#queues) q.timer?.cancel();
    if (this.pending > 0) this.#log.warn({ pending: this.pending }, 'stopping with alerts not yet delivered; the next start resumes them');
  }

  #push(q: HookQueue, row: AlertRow): void {
    if (q.rows.length >= this.#maxPerHook) {
      // The one in flight stays: its answer is on the way.
      const [old] = q.rows.splice(q.busy ? 1 : 0, 1);
      if (old !== undefined)
        void this.#drop(old, `more than ${this.#maxPerHook} alerts waiting for ${q.label}; the oldest was dropped (is the receiver down?)`);
    }
    q.rows.push(row);
    this.#kick(q);
  }

  #kick(q: HookQueue): void {
    if (q.busy || this.#closed) return;
    const head = q.rows[0];
    q.timer?.cancel();
    q.timer = null;
    if (head === undefined) return;
    const wait = head.nextAt - this.#clock.now();
    if (wait > 0) {
      q.timer = this.#clock.setTimer(wait, () => {
        q.timer = null;
        this.#kick(q);
      });
      return;
    }
    q.busy = true;
    void this.#try(q, head);
  }

  async #try(q: HookQueue, head: AlertRow): Promise<void> {
    const error = await postAlert({
      url: q.cfg.url,
      secret: q.cfg.secret,
      event: head.event,
      delivery: head.delivery,
      body: head.body,
      now: this.#clock.now(),
      timeoutMs: this.#timeoutMs,
      signal: this.#abort.signal,
    });
    if (this.#closed) return;
    const now = this.#clock.now();
    const fields = { url: q.label, event: head.event, delivery: head.delivery, attempt: head.attempts + 1 };
    if (error === null) {
      q.rows.shift();
      this.delivered++;
      if (head.attempts > 0) this.#log.info(fields, `alert delivered after ${head.attempts} failed tries`);
      await this.#forget(head);
      q.busy = false;
      this.emit('alert:delivered', head);
      this.#kick(q);
      return;
    }
    head.attempts++;
    head.failingSince ??= now;
    head.lastError = error;
    this.failedTries++;
    const giveUpAt = head.createdAt + this.#retryForMs;
    if (now >= giveUpAt) {
      q.rows.shift();
      await this.#drop(head, `alert not delivered after ${head.attempts} tries over ${Math.round((now - head.createdAt) / 1000)}s; given up (alerts.retryFor)`);
      q.busy = false;
      this.#kick(q);
      return;
    }
    head.nextAt = Math.min(now + Math.min(this.#retryBaseMs * 2 ** (head.attempts - 1), this.#retryMaxMs), giveUpAt);
    this.#log.warn({ ...fields, error, retryInMs: head.nextAt - now }, 'alert not delivered; retrying');
    if (head.id > 0) {
      try {
        await this.#store.alertsUpdate(head);
      } catch (err) {
        this.#log.error({ err, delivery: head.delivery }, 'could not record a failed alert try; a restart retries it from its stored state');
      }
    }
    q.busy = false;
    this.#kick(q);
    this.emit('alert:failed', head, error);
  }

  async #drop(row: AlertRow, why: string): Promise<void> {
    this.dropped++;
    this.#log.error({ url: redactUrl(row.hook), event: row.event, delivery: row.delivery, attempts: row.attempts, lastError: row.lastError }, why);
    await this.#forget(row);
    this.emit('alert:dropped', row, why);
  }

  async #forget(row: AlertRow): Promise<void> {
    if (row.id < 0) return;
    try {
      await this.#store.alertsDelete([row.id]);
    } catch (err) {
      // Kept in the store means sent again after a restart: a duplicate (same delivery id), not a loss.
      this.#log.error({ err, delivery: row.delivery }, 'could not delete a finished alert from the store');
    }
  }
}

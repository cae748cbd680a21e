// Webhook alerts: a POST when a health check turns red, one when it recovers, one per quarantined job
// (at most quarantinePerMinute a minute, then one summary of the rest). Delivery is queued per hook,
// retried with backoff, bounded, and never waits on the job path; failures are logged.

import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type { AlertEvent, Config, WebhookConfig } from '../config.js';
import type { Clock, TimerRef } from '../core/clock.js';
import type { Engine } from '../core/engine.js';
import { iso } from '../core/handoff.js';
import type { CheckResult, HealthChecker } from '../core/health.js';
import type { QuarantineRow } from '../storage/types.js';
import { VERSION } from '../version.js';

export interface DeliveryOptions {
  /** Deliveries waiting per hook; the oldest is dropped (and logged) past it. */
  maxQueue: number;
  maxAttempts: number;
  /** First retry delay; doubles each time. */
  retryBaseMs: number;
  timeoutMs: number;
}

const DEFAULT_DELIVERY: DeliveryOptions = { maxQueue: 1000, maxAttempts: 5, retryBaseMs: 1000, timeoutMs: 10_000 };
const MINUTE = 60_000;

interface Delivery {
  id: string;
  event: AlertEvent;
  body: string;
  attempt: number;
}

/** One webhook's queue, sent one delivery at a time so the receiver sees them in order. */
class Hook {
  readonly #cfg: WebhookConfig;
  readonly #opts: DeliveryOptions;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #queue: Delivery[] = [];
  #busy = false;
  #retry: TimerRef | null = null;
  #abort = new AbortController();
  #closed = false;

  constructor(cfg: WebhookConfig, opts: DeliveryOptions, clock: Clock, log: Logger) {
    this.#cfg = cfg;
    this.#opts = opts;
    this.#clock = clock;
    this.#log = log;
  }

  wants(event: AlertEvent): boolean {
    return this.#cfg.events.includes(event);
  }

  push(d: Delivery): void {
    if (this.#closed) return;
    if (this.#queue.length >= this.#opts.maxQueue) {
      const dropped = this.#queue.shift()!;
      this.#log.error({ url: this.#cfg.url, event: dropped.event, delivery: dropped.id }, 'webhook queue full; the oldest alert was dropped (is the receiver down?)');
    }
    this.#queue.push(d);
    this.#next();
  }

  close(): void {
    this.#closed = true;
    this.#retry?.cancel();
    this.#abort.abort();
    if (this.#queue.length > 0) this.#log.warn({ url: this.#cfg.url, pending: this.#queue.length }, 'stopping with webhook alerts not delivered');
    this.#queue.length = 0;
  }

  #next(): void {
    if (this.#busy || this.#closed || this.#queue.length === 0) return;
    this.#busy = true;
    const d = this.#queue[0]!;
    d.attempt++;
    this.#post(d).then((error) => {
      this.#busy = false;
      if (this.#closed) return;
      if (error === null) {
        this.#queue.shift();
        return this.#next();
      }
      const fields = { url: this.#cfg.url, event: d.event, delivery: d.id, attempt: d.attempt, error };
      if (d.attempt >= this.#opts.maxAttempts) {
        this.#log.error(fields, `webhook alert not delivered after ${d.attempt} attempts; dropped`);
        this.#queue.shift();
        return this.#next();
      }
      const delay = this.#opts.retryBaseMs * 2 ** (d.attempt - 1);
      this.#log.warn({ ...fields, retryInMs: delay }, 'webhook alert not delivered; retrying');
      this.#busy = true;
      this.#retry = this.#clock.setTimer(delay, () => {
        this.#retry = null;
        this.#busy = false;
        this.#next();
      });
    });
  }

  /** null when the receiver answered 2xx, else why not. */
  async #post(d: Delivery): Promise<string | null> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': `lazaret/${VERSION}`,
      'x-lazaret-event': d.event,
      'x-lazaret-delivery': d.id,
    };
    if (this.#cfg.secret !== null) headers['x-lazaret-signature'] = signature(this.#cfg.secret, d.body);
    try {
      const res = await fetch(this.#cfg.url, {
        method: 'POST',
        headers,
        body: d.body,
        signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#opts.timeoutMs)]),
      });
      await res.body?.cancel();
      return res.ok ? null : `HTTP ${res.status}`;
    } catch (err) {
      return (err as Error).message;
    }
  }
}

/** `sha256=<hex>`: HMAC-SHA256 of the exact body with the hook's secret. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export class AlertSender {
  readonly #hooks: Hook[];
  readonly #clock: Clock;
  readonly #perMinute: number;
  #seq = 0;
  #windowStart = Number.NEGATIVE_INFINITY;
  #sentInWindow = 0;
  #held = { count: 0, functions: new Map<string, number>(), reasons: new Map<string, number>(), since: 0 };
  #summaryTimer: TimerRef | null = null;

  constructor(webhooks: readonly WebhookConfig[], opts: { clock: Clock; log: Logger; quarantinePerMinute: number; delivery?: Partial<DeliveryOptions> }) {
    const delivery = { ...DEFAULT_DELIVERY, ...opts.delivery };
    this.#hooks = webhooks.map((w) => new Hook(w, delivery, opts.clock, opts.log));
    this.#clock = opts.clock;
    this.#perMinute = opts.quarantinePerMinute;
  }

  healthChanged(check: CheckResult): void {
    this.#send(check.state === 'fail' ? 'health.failed' : 'health.recovered', { check });
  }

  quarantined(entry: QuarantineRow): void {
    const now = this.#clock.now();
    if (now - this.#windowStart >= MINUTE) {
      this.#windowStart = now;
      this.#sentInWindow = 0;
    }
    if (this.#sentInWindow < this.#perMinute) {
      this.#sentInWindow++;
      const job = { id: entry.id, handle: entry.handle, function: entry.function, unique: entry.unique, reason: entry.reason, detail: entry.detail, attempts: entry.attempts.length, quarantinedAt: iso(entry.quarantinedAt) };
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
    this.#summaryTimer?.cancel();
    for (const hook of this.#hooks) hook.close();
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
    const id = `${this.#clock.now().toString(36)}-${(this.#seq++).toString(36)}`;
    const body = JSON.stringify({ event, at: iso(this.#clock.now()), ...fields });
    for (const hook of this.#hooks) if (hook.wants(event)) hook.push({ id, event, body, attempt: 0 });
  }
}

/** Sends the node's alerts to the configured webhooks; null when none are configured. */
export function startAlerts(engine: Engine, health: HealthChecker, config: Readonly<Config>, log: Logger): { close(): void } | null {
  if (config.alerts.webhooks.length === 0) return null;
  const sender = new AlertSender(config.alerts.webhooks, { clock: engine.clock, log: log.child({ component: 'alerts' }), quarantinePerMinute: config.alerts.quarantinePerMinute });
  const onChanged = (check: CheckResult): void => sender.healthChanged(check);
  const onQuarantined = (entry: QuarantineRow): void => sender.quarantined(entry);
  health.on('health:changed', onChanged);
  engine.on('job:quarantined', onQuarantined);
  return {
    close() {
      health.off('health:changed', onChanged);
      engine.off('job:quarantined', onQuarantined);
      sender.close();
    },
  };
}

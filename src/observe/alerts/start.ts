// Wires a node's alerts: health changes and quarantined jobs become alerts, the outbox delivers them,
// /health gets an `alerts` check and /metrics its counts.

import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import type { Engine } from '../../core/engine.js';
import type { CheckResult, HealthChecker } from '../health.js';
import type { StorageAdapter } from '../../storage/adapter.js';
import type { QuarantineRow } from '../../storage/types.js';
import { AlertOutbox } from './outbox.js';
import { AlertSender } from './sender.js';

export interface RunningAlerts {
  readonly outbox: AlertOutbox;
  close(): void;
}

/** Starts the node's alerts (resuming stored ones); null when no webhook is configured. */
export async function startAlerts(
  engine: Engine,
  store: StorageAdapter,
  health: HealthChecker,
  config: Readonly<Config>,
  log: Logger,
): Promise<RunningAlerts | null> {
  if (config.alerts.webhooks.length === 0) return null;
  const clock = engine.clock;
  const outbox = new AlertOutbox(store, config.alerts.webhooks, {
    clock,
    log: log.child({ component: 'alerts' }),
    retryForMs: config.alerts.retryFor,
    undeliveredAfterMs: config.alerts.undeliveredAfter,
  });
  const sameCheck = (a: CheckResult, b: CheckResult): boolean => a.name === b.name && a.function === b.function;
  const sender = new AlertSender(outbox, {
    clock,
    quarantinePerMinute: config.alerts.quarantinePerMinute,
    repeatEveryMs: config.alerts.repeatEvery,
    current: (check) => health.last?.checks.find((c) => sameCheck(c, check) && c.state === 'fail'),
  });
  await outbox.start();
  health.addSource(() => outbox.checks());
  const onChanged = (check: CheckResult): void => sender.healthChanged(check);
  const onQuarantined = (entry: QuarantineRow): void => sender.quarantined(entry);
  health.on('health:changed', onChanged);
  engine.on('job:quarantined', onQuarantined);
  return {
    outbox,
    close() {
      health.off('health:changed', onChanged);
      engine.off('job:quarantined', onQuarantined);
      sender.close();
      outbox.close();
    },
  };
}

// How /metrics finds a node's alert counts: the HTTP side is handed the engine, not the alerts, so they
// are filed under it.

import type { Engine } from '../core/engine.js';
import type { AlertStats } from './outbox.js';

const byEngine = new WeakMap<Engine, AlertStats>();

export function fileAlertStats(engine: Engine, stats: AlertStats): void {
  byEngine.set(engine, stats);
}

/** null when the node has no webhooks. */
export function alertStatsFor(engine: Engine): AlertStats | null {
  return byEngine.get(engine) ?? null;
}

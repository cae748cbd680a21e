// An engine without sockets: a real SQLite store on a temp file, a manual clock, and worker connections
// that are plain objects (the engine reaches the gearman layer only through the WorkerConn interface).

import pino from 'pino';
import { ManualClock } from '../../src/core/clock.js';
import { Engine } from '../../src/core/engine.js';
import type { WorkerConn } from '../../src/core/job.js';
import { PolicyBook, type PolicyRule } from '../../src/core/policy.js';
import { SqliteStore } from '../../src/storage/sqlite/store.js';

export interface ManualEngine {
  engine: Engine;
  clock: ManualClock;
  store: SqliteStore;
}

export async function manualEngine(path: string, rules: PolicyRule[] = [], clock = new ManualClock(), window?: number): Promise<ManualEngine> {
  const store = new SqliteStore({ path });
  await store.open();
  const engine = new Engine({
    store,
    logger: pino({ level: 'silent' }),
    clock,
    policies: new PolicyBook(rules),
    handlePrefix: 'H:test:',
    limits: { maxPayloadBytes: 1 << 20, maxUniqueBytes: 64, maxQueue: 0 },
    random: () => 0.5,
    ...(window === undefined ? {} : { window }),
  });
  await engine.start();
  return { engine, clock, store };
}

let nextConn = 1;

/** A worker connection as the engine sees it; `woken` counts the NOOPs it was sent. */
export function fakeWorker(name = `worker-${nextConn}`): WorkerConn & { woken: number } {
  return {
    id: nextConn++,
    name,
    address: '127.0.0.1:0',
    pid: null,
    pgid: null,
    connectedAt: 0,
    woken: 0,
    wake() {
      this.woken++;
    },
  };
}

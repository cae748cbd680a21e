// Workload 2: drain. Preload N background jobs, then K workers grab and complete one job at a time until
// the queue is empty (every worker got NO_JOB).

import { cpuSecondsOf, Meter, type Rate } from './lib/meter.js';
import { closeAll, latch } from './lib/peer.js';
import { connectWorkers } from './lib/workers.js';
import { preload, type PreloadResult } from './submit.js';

export interface DrainOptions {
  workers: number;
  fn: string;
  payload: Buffer;
  /** Jobs to preload, and how long the preload may take at most (a slow store loads fewer). */
  jobs: number;
  preloadBudgetMs: number;
  preloadConns: number;
  preloadWindow: number;
  warmupMs: number;
  /** Longest drain measured; a queue not empty by then is measured up to there. */
  maxMs: number;
  /** The jobs are already in the server's queue (seeded in its store before it started): no preload. */
  seeded?: boolean;
  /** The server's pid: its CPU time over the drain phase is reported (serverCpuSec). */
  pid?: number;
}

export interface DrainResult extends Rate {
  preload: PreloadResult;
  /** Jobs completed in all (warm-up included). */
  drained: number;
  /** Every worker saw an empty queue before maxMs. */
  emptied: boolean;
  errors: number;
  /** CPU seconds the server used from the workers' first GRAB_JOB to the last worker's stop (all `drained` jobs); null without a pid. */
  serverCpuSec: number | null;
}

export async function drain(port: number, o: DrainOptions): Promise<DrainResult> {
  const loaded = o.seeded
    ? { loaded: o.jobs, seconds: 0, errors: 0, lastError: '' }
    : await preload(port, {
        conns: o.preloadConns,
        window: o.preloadWindow,
        count: o.jobs,
        budgetMs: o.preloadBudgetMs,
        fn: o.fn,
        payload: o.payload,
      });
  const end = latch(o.warmupMs + o.maxMs + 30_000, 'drain');
  let meter: Meter | null = null;
  let stopped = 0;
  let foundEmpty = 0;
  const { peers, go } = await connectWorkers(port, o.workers, {
    fn: o.fn,
    onEmpty: 'stop',
    echo: false,
    onJob: () => {
      meter!.hit();
      return !meter!.over;
    },
    onStopped: (why) => {
      if (why === 'empty') foundEmpty++;
      if (++stopped === o.workers) end.done();
    },
    onClose: (why) => end.fail(why),
  });
  meter = new Meter(o.warmupMs, o.maxMs);
  const timer = setTimeout(() => end.done(), o.warmupMs + o.maxMs + 100);
  const cpuBefore = o.pid === undefined ? null : cpuSecondsOf(o.pid);
  let cpuAfter: number | null = null;
  go();
  try {
    await end.promise;
    cpuAfter = o.pid === undefined ? null : cpuSecondsOf(o.pid);
  } finally {
    clearTimeout(timer);
    closeAll(peers);
  }
  const errors = peers.reduce((n, p) => n + p.errors, 0);
  const serverCpuSec = cpuBefore !== null && cpuAfter !== null ? cpuAfter - cpuBefore : null;
  return { ...meter.rate(), preload: loaded, drained: meter.total, emptied: foundEmpty === o.workers, errors, serverCpuSec };
}

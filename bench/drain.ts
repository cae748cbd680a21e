// Workload 2: drain. Preload N background jobs, then K workers grab and complete one job at a time until
// the queue is empty (every worker got NO_JOB).

import { Meter, type Rate } from './lib/meter.js';
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
}

export interface DrainResult extends Rate {
  preload: PreloadResult;
  /** Jobs completed in all (warm-up included). */
  drained: number;
  /** Every worker saw an empty queue before maxMs. */
  emptied: boolean;
  errors: number;
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
  go();
  try {
    await end.promise;
  } finally {
    clearTimeout(timer);
    closeAll(peers);
  }
  const errors = peers.reduce((n, p) => n + p.errors, 0);
  return { ...meter.rate(), preload: loaded, drained: meter.total, emptied: foundEmpty === o.workers, errors };
}

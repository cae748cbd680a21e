// Workload 7: the library's Worker draining a preloaded queue, in-process and sandboxed (each job in a
// child process from a pool), next to the raw-protocol drain of workload 2, all against one server.
// Each mode drains its own function's queue, so a mode that does not empty its queue leaves nothing to
// the next.

import { fileURLToPath } from 'node:url';
import { Worker } from '../src/client/index.js';
import { drain, type DrainOptions } from './drain.js';
import { Meter, type Rate } from './lib/meter.js';
import { latch } from './lib/peer.js';
import { preload, type PreloadResult } from './submit.js';

export type WorkerLibOptions = Omit<DrainOptions, 'fn' | 'seeded'> & {
  /** Sandbox children, each running one job at a time (the Worker's default concurrency, 2 x poolSize, fetches ahead). */
  poolSize: number;
};

export interface ModeResult extends Rate {
  preload: PreloadResult;
  drained: number;
}

export interface WorkerLibResult {
  raw: ModeResult;
  inProcess: ModeResult;
  sandboxed: ModeResult;
}

const SANDBOX_MODULE = fileURLToPath(new URL('./lib/noop-handlers.ts', import.meta.url));

export async function workerLib(port: number, o: WorkerLibOptions): Promise<WorkerLibResult> {
  const raw = await drain(port, { ...o, fn: 'bench_wl_raw' });
  const inProcess = await libDrain(port, o, 'bench_wl_inproc', { concurrency: o.workers, functions: { bench_wl_inproc: () => undefined } });
  const sandboxed = await libDrain(port, o, 'bench_wl_sandbox', { sandbox: { module: SANDBOX_MODULE, poolSize: o.poolSize } });
  return { raw: { ...raw, preload: raw.preload, drained: raw.drained }, inProcess, sandboxed };
}

async function libDrain(port: number, o: WorkerLibOptions, fn: string, worker: ConstructorParameters<typeof Worker>[0]): Promise<ModeResult> {
  const loaded = await preload(port, { conns: o.preloadConns, window: o.preloadWindow, count: o.jobs, budgetMs: o.preloadBudgetMs, fn, payload: o.payload });
  const w = new Worker({ ...worker, servers: [`127.0.0.1:${port}`] });
  const end = latch(o.warmupMs + o.maxMs + 60_000, `worker-lib ${fn}`);
  let meter: Meter | null = null;
  // Jobs done while start() finishes connecting: not measured, but part of the drain.
  let early = 0;
  w.on('job', () => {
    if (meter) meter.hit();
    else early++;
    if (early + (meter?.total ?? 0) >= loaded.loaded || meter?.over) end.done();
  });
  // The sandbox children start inside start(), before the clock does: their start-up is not a per-job cost.
  await w.start();
  meter = new Meter(o.warmupMs, o.maxMs);
  const timer = setTimeout(() => end.done(), o.warmupMs + o.maxMs + 100);
  try {
    await end.promise;
  } finally {
    clearTimeout(timer);
    await w.stop({ graceMs: 1000 });
  }
  return { ...meter.rate(), preload: loaded, drained: early + meter.total };
}

// Workload 5: resident memory of the server process holding a queue of small background jobs
// (VmRSS from /proc/PID/status, read after the last JOB_CREATED and a short settle).

import { memoryOf, type MemoryStatus } from './lib/servers.js';
import { sleep } from './lib/peer.js';
import { preload, type PreloadResult } from './submit.js';

export interface RssOptions {
  jobs: number;
  conns: number;
  window: number;
  budgetMs: number;
  settleMs: number;
  fn: string;
  payload: Buffer;
}

export interface RssResult {
  preload: PreloadResult;
  /** Before any job. */
  idle: MemoryStatus | null;
  /** With the queue loaded. */
  loaded: MemoryStatus | null;
}

export async function queuedRss(port: number, pid: number, o: RssOptions): Promise<RssResult> {
  await sleep(o.settleMs);
  const idle = memoryOf(pid);
  const loaded = await preload(port, { conns: o.conns, window: o.window, count: o.jobs, budgetMs: o.budgetMs, fn: o.fn, payload: o.payload });
  await sleep(o.settleMs);
  return { preload: loaded, idle, loaded: memoryOf(pid) };
}

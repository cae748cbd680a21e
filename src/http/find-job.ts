// A job by handle, from whichever place knows it — shared by the job routes and their event stream.

import { idOfHandle } from '../core/results.js';
import { ErrorCode, isLazaretError, LazaretError } from '../errors.js';
import { historyView } from './history-view.js';
import type { StoredJob } from '../core/records.js';
import type { HttpContext } from './server.js';
import { liveJobView, outcomeView, quarantinedView, storedJobView, type JobView } from './views.js';

/**
 * A job by handle: live in the engine, else finished within the retention, else quarantined; with its
 * earlier lives and audit trail when asked (the single-job answer, not the event stream).
 */
export async function findJob(ctx: HttpContext, handle: string, opts: { history?: boolean } = {}): Promise<JobView | null> {
  const view = await findView(ctx, handle);
  if (view === null || opts.history !== true) return view;
  const id = idOfHandle(handle);
  return id === null ? view : { ...view, ...historyView(await ctx.engine.quarantine.history(id)) };
}

async function findView(ctx: HttpContext, handle: string): Promise<JobView | null> {
  const live = ctx.engine.job(handle);
  if (live) return liveJobView(live);
  // Quarantined in memory while the store refuses the write (its lock is held): the store still has
  // the job's row, but the job is gone from the queue.
  const unsaved = ctx.engine.unsavedQuarantine(idOfHandle(handle) ?? 0);
  if (unsaved !== undefined && unsaved.handle === handle) return quarantinedView(unsaved);
  const stored = await ctx.engine.storedJob(handle);
  // Between the two reads the job may have come into memory (a window refill): memory knows it better.
  if (stored) return stored.state === 'held' ? liveOrStored(ctx, stored) : storedJobView(stored);
  const done = await ctx.engine.results.get(handle);
  if (done) return outcomeView(done);
  const id = idOfHandle(handle);
  if (id === null) return null;
  try {
    const entry = await ctx.engine.quarantine.get(id);
    return entry.handle === handle ? quarantinedView(entry) : null;
  } catch (err) {
    if (isLazaretError(err, ErrorCode.NOT_FOUND)) return null;
    throw err;
  }
}

function liveOrStored(ctx: HttpContext, stored: StoredJob): JobView {
  const live = ctx.engine.job(stored.handle);
  return live ? liveJobView(live) : storedJobView(stored);
}

export function notFound(handle: string): LazaretError {
  return new LazaretError(ErrorCode.NOT_FOUND, `No job with handle ${handle}`, {
    hint: 'finished jobs are kept for results.retention (default 24h); quarantined ones until purged',
  });
}

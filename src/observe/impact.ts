// The impact report (docs/http-api.md): which tags (users, accounts) had jobs that waited too long, failed,
// expired or were quarantined — stored outcomes plus the jobs still waiting now, worst first. The jobs
// still waiting are in two places: memory (the windows, running jobs, retries memory waits on) and the
// store (queued beyond the windows, scheduled, waiting a retry's backoff: during an outage, nearly all of
// them). Each job is counted once: the store reports only the jobs no node holds (queued, scheduled),
// memory only the ones it holds.

import type { ImpactQuery, ImpactRow } from '../storage/types.js';
import type { Engine } from '../core/engine.js';
import { dueWait } from '../core/results.js';

export async function impactReport(engine: Engine, query: ImpactQuery): Promise<ImpactRow[]> {
  const byTag = new Map<string, ImpactRow>();
  const rowOf = (tag: string): ImpactRow => {
    let row = byTag.get(tag);
    if (row === undefined) {
      row = { tag, jobs: 0, waitedTooLong: 0, failed: 0, expired: 0, quarantined: 0, worstWaitMs: 0 };
      byTag.set(tag, row);
    }
    return row;
  };
  const prefix = query.key === undefined ? null : `${query.key}:`;
  const outcomes = await engine.results.impact(query);
  // What is staged committed first: the store then has every job memory has let go.
  await engine.flush();
  const stored = await engine.store.jobsImpact({
    now: engine.clock.now(),
    waitedLongerThan: query.waitedLongerThan,
    ...(query.key === undefined ? {} : { key: query.key }),
  });
  for (const row of outcomes) byTag.set(row.tag, row);
  for (const s of stored) {
    const row = rowOf(s.tag);
    row.jobs += s.jobs;
    row.waitedTooLong += s.waitedTooLong;
    row.worstWaitMs = Math.max(row.worstWaitMs, s.worstWaitMs);
  }
  // Read right after the store's answer, with no await between: the store answers in order, so a job a
  // window took from the store before that read is in memory now and was not in the store's count, and
  // one taken after is still out of memory here.
  const now = engine.clock.now();
  for (const job of engine.jobs()) {
    if (job.tags.length === 0 || job.state === 'done' || job.state === 'stored') continue;
    // A job still waiting counts with the wait it has had so far.
    const wait = job.waitMs ?? (job.state === 'queued' ? dueWait(job, now) : null);
    if (wait === null) continue;
    for (const tag of job.tags) {
      if (prefix !== null && !tag.startsWith(prefix)) continue;
      const row = rowOf(tag);
      row.jobs++;
      if (wait > query.waitedLongerThan) row.waitedTooLong++;
      row.worstWaitMs = Math.max(row.worstWaitMs, wait);
    }
  }
  const troubled = [...byTag.values()].filter((r) => r.waitedTooLong + r.failed + r.expired + r.quarantined > 0);
  const hurt = (r: ImpactRow): number => r.waitedTooLong + r.failed + r.expired + r.quarantined;
  return troubled.sort((a, b) => hurt(b) - hurt(a) || b.worstWaitMs - a.worstWaitMs || a.tag.localeCompare(b.tag));
}

// The impact report (docs/http-api.md): which tags (users, accounts) had jobs that waited too long, failed,
// expired or were quarantined — stored outcomes plus the jobs still waiting now, worst first.

import type { ImpactQuery, ImpactRow } from '../storage/types.js';
import type { Engine } from '../core/engine.js';
import { dueWait } from '../core/results.js';

export async function impactReport(engine: Engine, query: ImpactQuery): Promise<ImpactRow[]> {
  const byTag = new Map<string, ImpactRow>();
  for (const row of await engine.results.impact(query)) byTag.set(row.tag, row);
  const prefix = query.key === undefined ? null : `${query.key}:`;
  const now = engine.clock.now();
  for (const job of engine.jobs()) {
    if (job.tags.length === 0 || job.state === 'done') continue;
    // A job still waiting counts with the wait it has had so far.
    const wait = job.waitMs ?? (job.state === 'queued' ? dueWait(job, now) : null);
    if (wait === null) continue;
    for (const tag of job.tags) {
      if (prefix !== null && !tag.startsWith(prefix)) continue;
      let row = byTag.get(tag);
      if (row === undefined) {
        row = { tag, jobs: 0, waitedTooLong: 0, failed: 0, expired: 0, quarantined: 0, worstWaitMs: 0 };
        byTag.set(tag, row);
      }
      row.jobs++;
      if (wait > query.waitedLongerThan) row.waitedTooLong++;
      row.worstWaitMs = Math.max(row.worstWaitMs, wait);
    }
  }
  const troubled = [...byTag.values()].filter((r) => r.waitedTooLong + r.failed + r.expired + r.quarantined > 0);
  const hurt = (r: ImpactRow): number => r.waitedTooLong + r.failed + r.expired + r.quarantined;
  return troubled.sort((a, b) => hurt(b) - hurt(a) || b.worstWaitMs - a.worstWaitMs || a.tag.localeCompare(b.tag));
}

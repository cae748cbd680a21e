// A job's lives. A requeue or purge keeps the quarantine entry's life (the store does it in the same
// transaction); a requeued job's last life, when it ends other than in quarantine, is kept by the
// engine in the group commit that deletes the job (WriteBatch.history), since a completed job's
// attempts are deleted with it: one transaction, so no crash can lose that life's attempts.

import type { AuditStamp, NewHistoryEntry, OutcomeRow } from '../storage/types.js';
import type { Job } from './job.js';

/** Who asked, without the time (the store stamps it when the change happens). */
export type Actor = Omit<AuditStamp, 'at'>;

export const SERVER_ACTOR: Actor = { actor: 'server', client: null, peer: null };

/**
 * The history row for the life a requeued job just finished, or null when there is none to keep: the
 * job was never requeued, or it went back to quarantine, whose entry holds that life.
 */
export function lastLife(job: Job, outcome: OutcomeRow): NewHistoryEntry | null {
  if (!job.requeued || outcome.state === 'quarantined' || outcome.state === 'expired') return null;
  const attempts = job.current === null ? job.history : [...job.history, job.current];
  return {
    jobId: outcome.id,
    at: outcome.finishedAt,
    action: 'finished',
    ...SERVER_ACTOR,
    life: { end: outcome.state, detail: null, endedAt: outcome.finishedAt, attempts },
  };
}

// The job as the HTTP API shows it (docs/http-api.md), from whichever place knows it: the engine (live),
// the outcomes (finished within the retention) or the quarantine.

import { iso } from '../core/handoff.js';
import { PRIORITY_NAMES } from '../domain.js';
import type { Job } from '../core/job.js';
import type { JobAnswer } from './schemas.js';
import type { OutcomeRow, QuarantineRow, StoredJob } from '../core/records.js';

export type JobStateName = JobAnswer['state'];

/** The job as the API serialises it (`jobSchema`); `lives` and `audit` on the single-job answer only. */
export type JobView = JobAnswer;

export function liveJobView(job: Job): JobView {
  const started = job.history[0]?.startedAt ?? job.current?.startedAt ?? null;
  return {
    handle: job.handle,
    function: job.fn.name,
    unique: job.unique,
    priority: PRIORITY_NAMES[job.priority],
    // A job whose insert has not committed yet is, to the caller, already queued.
    state: job.state === 'scheduled' || job.state === 'running' ? job.state : 'queued',
    progress: job.numerator === 0 && job.denominator === 0 ? null : { numerator: job.numerator, denominator: job.denominator },
    attempts: job.attempts,
    submittedAt: iso(job.submittedAt)!,
    runAt: iso(job.runAt),
    deadline: iso(job.deadline),
    startedAt: iso(started),
    finishedAt: null,
    tags: [...job.tags],
    result: null,
    quarantineId: null,
  };
}

/** A job only the store holds: queued beyond the windows, or scheduled (or held by another node). */
export function storedJobView(j: StoredJob): JobView {
  const running = j.attempts.some((a) => a.endedAt === null);
  return {
    handle: j.handle,
    function: j.function,
    unique: j.unique,
    priority: PRIORITY_NAMES[j.priority],
    state: running ? 'running' : j.state === 'scheduled' ? 'scheduled' : 'queued',
    progress: null,
    attempts: j.attempts.length,
    submittedAt: iso(j.submittedAt)!,
    runAt: iso(j.runAt),
    deadline: iso(j.deadline),
    startedAt: iso(j.attempts[0]?.startedAt ?? null),
    finishedAt: null,
    tags: [...j.tags],
    result: null,
    quarantineId: null,
  };
}

export function outcomeView(o: OutcomeRow): JobView {
  return {
    handle: o.handle,
    function: o.function,
    unique: o.unique,
    priority: PRIORITY_NAMES[o.priority],
    state: o.state,
    progress: o.progress,
    attempts: o.attempts,
    submittedAt: iso(o.submittedAt)!,
    runAt: iso(o.runAt),
    deadline: null,
    startedAt: iso(o.startedAt),
    finishedAt: iso(o.finishedAt),
    tags: [...o.tags],
    result: o.result === null ? null : resultView(o.result),
    quarantineId: o.state === 'quarantined' || o.state === 'expired' ? o.id : null,
  };
}

export function quarantinedView(q: QuarantineRow): JobView {
  return {
    handle: q.handle,
    function: q.function,
    unique: q.unique,
    priority: PRIORITY_NAMES[q.priority],
    state: q.reason === 'expired' ? 'expired' : 'quarantined',
    progress: null,
    attempts: q.attempts.length,
    submittedAt: iso(q.submittedAt)!,
    runAt: null,
    deadline: iso(q.deadline),
    startedAt: iso(q.attempts[0]?.startedAt ?? null),
    finishedAt: iso(q.quarantinedAt),
    tags: [...q.tags],
    result: null,
    quarantineId: q.id,
  };
}

/** Results are bytes: base64 always, and the text when they are valid UTF-8. */
function resultView(data: Buffer): { base64: string; text: string | null } {
  const text = data.toString('utf8');
  return { base64: data.toString('base64'), text: Buffer.byteLength(text) === data.length && !text.includes('\uFFFD') ? text : null };
}

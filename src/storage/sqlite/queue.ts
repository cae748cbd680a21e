// The store as the queue of record: what a node reads at start (recover, countsLoad), how its windows
// take the next jobs in line (windowFill), scheduled jobs falling due (dueMove), and single jobs and
// pages of jobs for the admin protocol and the API (jobGet, jobHold, jobHoldByKey, jobsPage). Every query here runs
// on an index of migration 0005; none scans the jobs table.

import type { Database, Statement } from 'better-sqlite3';
import type { DueMoved, Expired, JobCounts, JobSummary, Priority, StoredJob } from '../types.js';
import { CHUNK, marks, prepareBulkIds } from './bulk.js';
import {
  JOB_COLUMNS,
  JOB_SUMMARY_COLUMNS,
  priorityOf,
  toAttemptRow,
  toJobRow,
  toJobSummary,
  type AttemptRecord,
  type JobRecord,
  type JobSummaryRecord,
} from './rows.js';
import type { SeqCounter } from './seq.js';

export interface QueueOperations {
  recover: (now: number) => StoredJob[];
  countsLoad: () => JobCounts;
  windowFill: (fn: string, priority: Priority, limit: number) => StoredJob[];
  dueMove: (now: number, limit: number) => DueMoved;
  deadlineTake: (now: number, limit: number) => Expired;
  jobGet: (id: number) => StoredJob | null;
  jobHold: (id: number) => StoredJob | null;
  jobHoldByKey: (fn: string, key: string) => StoredJob | null;
  jobsPage: (afterId: number, limit: number) => JobSummary[];
}

/** The most rows one call reads: a caller asking for more gets this many (it asks again). */
export const MAX_ROWS = 10_000;

export function prepareQueue(db: Database, seq: SeqCounter): QueueOperations {
  const withAttempts = prepareWithAttempts(db);

  // ---- recover
  const openHeld = db.prepare<[], JobRecord>(
    `SELECT ${JOB_COLUMNS} FROM jobs WHERE state = 'held' AND id IN (SELECT job_id FROM attempts WHERE ended_at IS NULL) ORDER BY id`,
  );
  // The jobs_held index finds them; the attempts table (only jobs that have run have rows) tells which ran.
  const unhold = db.prepare<[number]>(
    `UPDATE jobs SET state = CASE WHEN run_at IS NOT NULL AND run_at > ? THEN 'scheduled' ELSE 'queued' END
     WHERE state = 'held' AND id NOT IN (SELECT job_id FROM attempts WHERE ended_at IS NULL)`,
  );
  const recover = db.transaction((now: number): StoredJob[] => {
    unhold.run(now);
    return withAttempts(openHeld.all());
  });

  // ---- countsLoad: a covering scan of jobs_queue, then one indexed lookup per function and priority.
  const counts = db.prepare<[], { function: string; priority: number; state: string; n: number }>(
    `SELECT function, priority, state, count(*) AS n FROM jobs INDEXED BY jobs_queue
     WHERE state IN ('queued', 'scheduled') GROUP BY function, priority, state`,
  );
  const firstInLine = db
    .prepare<[string, number], number>(`SELECT queued_at FROM jobs WHERE function = ? AND priority = ? AND state = 'queued' ORDER BY seq LIMIT 1`)
    .pluck();
  const nextRunAt = db.prepare<[], number | null>(`SELECT min(run_at) FROM jobs WHERE state = 'scheduled'`).pluck();
  const nextDeadline = db.prepare<[], number | null>(`SELECT min(deadline) FROM jobs WHERE deadline IS NOT NULL AND state <> 'held'`).pluck();
  const countsLoad = db.transaction((): JobCounts => {
    const byKey = new Map<string, JobCounts['counts'][number]>();
    for (const r of counts.iterate()) {
      const priority = priorityOf(r.priority, 'jobs', 0);
      const key = `${r.priority}\0${r.function}`;
      let c = byKey.get(key);
      if (c === undefined) {
        c = { function: r.function, priority, queued: 0, scheduled: 0, oldestQueuedAt: null };
        byKey.set(key, c);
      }
      if (r.state === 'queued') {
        c.queued = r.n;
        c.oldestQueuedAt = firstInLine.get(r.function, r.priority) ?? null;
      } else {
        c.scheduled = r.n;
      }
    }
    return { counts: [...byKey.values()], nextRunAt: nextRunAt.get() ?? null, nextDeadline: nextDeadline.get() ?? null };
  });

  // ---- windowFill
  const nextInLine = db.prepare<[string, number, number], JobRecord>(
    `SELECT ${JOB_COLUMNS} FROM jobs WHERE function = ? AND priority = ? AND state = 'queued' ORDER BY seq LIMIT ?`,
  );
  const holdIds = prepareBulkIds(db, (n) => `UPDATE jobs SET state = 'held' WHERE id IN (${marks(n)})`);
  const windowFill = db.transaction((fn: string, priority: Priority, limit: number): StoredJob[] => {
    const rows = nextInLine.all(fn, priority, Math.min(limit, MAX_ROWS));
    holdIds(rows.map((r) => r.id));
    for (const r of rows) r.state = 'held';
    return withAttempts(rows);
  });

  // ---- dueMove
  const due = db.prepare<[number, number], { id: number; function: string; priority: number; run_at: number }>(
    `SELECT id, function, priority, run_at FROM jobs WHERE state = 'scheduled' AND run_at <= ? ORDER BY run_at, id LIMIT ?`,
  );
  const toQueue = db.prepare<[number, number, number]>(`UPDATE jobs SET state = 'queued', seq = ?, queued_at = ? WHERE id = ?`);
  const dueMove = db.transaction((now: number, limit: number): DueMoved => {
    const moved = new Map<string, DueMoved['moved'][number]>();
    for (const r of due.all(now, Math.min(limit, MAX_ROWS))) {
      toQueue.run(seq.take(), r.run_at, r.id);
      const key = `${r.priority}\0${r.function}`;
      const m = moved.get(key);
      if (m === undefined) moved.set(key, { function: r.function, priority: priorityOf(r.priority, 'jobs', r.id), n: 1 });
      else m.n++;
    }
    seq.save();
    return { moved: [...moved.values()], nextRunAt: nextRunAt.get() ?? null };
  });

  // ---- deadlineTake
  const expired = db.prepare<[number, number], JobRecord>(
    `SELECT ${JOB_COLUMNS} FROM jobs WHERE deadline IS NOT NULL AND state <> 'held' AND deadline <= ? ORDER BY deadline, id LIMIT ?`,
  );
  const deadlineTake = db.transaction((now: number, limit: number): Expired => {
    const rows = expired.all(now, Math.min(limit, MAX_ROWS));
    holdIds(rows.map((r) => r.id));
    return { jobs: withAttempts(rows), nextDeadline: nextDeadline.get() ?? null };
  });

  // ---- single jobs
  const one = db.prepare<[number], JobRecord>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = ?`);
  const holdOne = db.prepare<[number]>(`UPDATE jobs SET state = 'held' WHERE id = ? AND state <> 'held'`);
  const jobGet = (id: number): StoredJob | null => {
    const r = one.get(id);
    return r === undefined ? null : (withAttempts([r])[0] ?? null);
  };
  // Returned as it was before (its state tells the caller which count it leaves).
  const jobHold = db.transaction((id: number): StoredJob | null => {
    const r = one.get(id);
    if (r === undefined || r.state === 'held') return null;
    holdOne.run(id);
    return withAttempts([r])[0] ?? null;
  });
  // Through the unique index on (function, coalesce_key).
  const byKey = db.prepare<[string, string], JobRecord>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE function = ? AND coalesce_key = ?`);
  const jobHoldByKey = db.transaction((fn: string, key: string): StoredJob | null => {
    const r = byKey.get(fn, key);
    if (r === undefined || r.state === 'held') return null;
    holdOne.run(r.id);
    return withAttempts([r])[0] ?? null;
  });

  // ---- pages
  const page = db.prepare<[number, number], JobSummaryRecord>(`SELECT ${JOB_SUMMARY_COLUMNS} FROM jobs WHERE id > ? ORDER BY id LIMIT ?`);
  const jobsPage = (afterId: number, limit: number): JobSummary[] => page.all(afterId, Math.min(limit, MAX_ROWS)).map(toJobSummary);

  return {
    recover: (now) => recover.immediate(now),
    countsLoad: () => countsLoad.deferred(),
    windowFill: (fn, priority, limit) => windowFill.immediate(fn, priority, limit),
    dueMove: (now, limit) => dueMove.immediate(now, limit),
    deadlineTake: (now, limit) => deadlineTake.immediate(now, limit),
    jobGet,
    jobHold: (id) => jobHold.immediate(id),
    jobHoldByKey: (fn, key) => jobHoldByKey.immediate(fn, key),
    jobsPage,
  };
}

/** Job records with their attempts (most have none), in the records' order. */
function prepareWithAttempts(db: Database): (records: JobRecord[]) => StoredJob[] {
  const attemptsOf = bySizeAll<AttemptRecord>(
    db,
    (n) => `SELECT job_id, n, worker, started_at, ended_at, outcome, error, evidence FROM attempts WHERE job_id IN (${marks(n)}) ORDER BY job_id, n`,
  );
  return (records) => {
    const jobs: StoredJob[] = records.map((r) => ({ ...toJobRow(r), attempts: [] }));
    if (jobs.length === 0) return jobs;
    const byId = new Map<number, StoredJob>();
    for (const j of jobs) byId.set(j.id, j);
    for (const a of attemptsOf(records.map((r) => r.id))) byId.get(a.job_id)?.attempts.push(toAttemptRow(a));
    return jobs;
  };
}

/** Reads `sql(n)` over ids, CHUNK at a time, and returns every row. */
function bySizeAll<R>(db: Database, sql: (n: number) => string): (ids: readonly number[]) => R[] {
  const statements = new Map<number, Statement<number[], R>>();
  return (ids) => {
    const out: R[] = [];
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      let s = statements.get(chunk.length);
      if (s === undefined) {
        s = db.prepare<number[], R>(sql(chunk.length));
        statements.set(chunk.length, s);
      }
      for (const r of s.all(...chunk)) out.push(r);
    }
    return out;
  };
}

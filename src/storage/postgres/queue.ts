// The store as the queue of record: what a node takes into memory (windowFill, jobHold, jobHoldByKey, deadlineTake),
// gives back at its start (recover), moves when due (dueMove), counts (countsLoad) and lists (jobGet,
// jobsPage); and job ids, reserved in blocks no two nodes share (idsNext).
//
// Several nodes take from one queue: windowFill, dueMove and deadlineTake lock the rows they take with
// FOR UPDATE SKIP LOCKED, so two nodes filling the same window at once each get different jobs and
// neither waits for the other. A held row names its holder (owner) and the epoch of that holder's open().

import type { StorageAdapter } from '../adapter.js';
import type { Priority, StoredJob } from '../types.js';
import type { Db, Runner } from './connection.js';
import { ATTEMPT_COLUMNS, jobColumns, toAttemptRow, toJobRow, toJobSummary, type AttemptRecord, type JobRecord, type JobSummaryRecord } from './rows.js';
import { notifyQueued } from './notify.js';
import { WATERMARK_KEY, type Holder } from './write.js';

const ATTEMPTS_OF = {
  name: 'lz_attempts_of',
  text: `SELECT ${ATTEMPT_COLUMNS} FROM attempts WHERE job_id = ANY($1::bigint[]) ORDER BY job_id, n`,
};

/** The jobs of `records`, in that order, each with its attempts oldest first. */
export async function withAttempts(run: Pick<Runner, 'query'>, records: readonly JobRecord[]): Promise<StoredJob[]> {
  const jobs = records.map((r): StoredJob => ({ ...toJobRow(r), attempts: [] }));
  if (jobs.length === 0) return jobs;
  const byId = new Map(jobs.map((j) => [j.id, j]));
  for (const a of await run.query<AttemptRecord>(ATTEMPTS_OF, [jobs.map((j) => j.id)])) byId.get(a.job_id)?.attempts.push(toAttemptRow(a));
  return jobs;
}

// One job and its attempts in one round trip (a job is read by id often: GET_STATUS, the API's job
// view): the job's columns on every attempt row, or once with NULL attempt columns when it has none.
const JOB_WITH_ATTEMPTS = `${jobColumns('j.')}, a.n AS a_n, a.worker AS a_worker, a.started_at AS a_started_at, a.ended_at AS a_ended_at,
  a.outcome AS a_outcome, a.error AS a_error, a.evidence AS a_evidence`;
const ATTEMPTS_JOIN = 'LEFT JOIN attempts a ON a.job_id = j.id WHERE j.id = $1 ORDER BY a.n';

interface JobWithAttempt extends JobRecord {
  a_n: number | null;
  a_worker: string;
  a_started_at: number;
  a_ended_at: number | null;
  a_outcome: string | null;
  a_error: string | null;
  a_evidence: unknown;
}

/** Jobs with their attempts from rows ordered by job, then attempt: a job's rows follow one another. */
function manyWithAttempts(rows: readonly JobWithAttempt[]): StoredJob[] {
  const jobs: StoredJob[] = [];
  let job: StoredJob | undefined;
  for (const r of rows) {
    if (job?.id !== r.id) {
      job = { ...toJobRow(r), attempts: [] };
      jobs.push(job);
    }
    if (r.a_n === null) continue;
    job.attempts.push(
      toAttemptRow({
        job_id: r.id,
        n: r.a_n,
        worker: r.a_worker,
        started_at: r.a_started_at,
        ended_at: r.a_ended_at,
        outcome: r.a_outcome,
        error: r.a_error,
        evidence: r.a_evidence,
      }),
    );
  }
  return jobs;
}

function oneWithAttempts(rows: readonly JobWithAttempt[]): StoredJob | null {
  return manyWithAttempts(rows)[0] ?? null;
}

/**
 * The next `$3` queued jobs of function $1 and priority $2 in line, held by node $4 at epoch $5. The
 * fence is a one-time filter of the pick, so it runs before any row is locked: it divides by the
 * number of this node's lease rows it could lock (FOR KEY SHARE, as fence() in nodes.ts), and once a
 * peer has deleted that row the division by zero fails the statement before it takes anything.
 */
const WINDOW_FILL = {
  name: 'lz_window_fill',
  text: `WITH f AS (SELECT 1 FROM nodes WHERE name = $4 AND epoch = $5 FOR KEY SHARE),
         picked AS (
           SELECT id FROM jobs WHERE function = $1 AND priority = $2 AND state = 'queued' AND 1 / (SELECT count(*)::int FROM f) = 1
           ORDER BY seq LIMIT $3 FOR UPDATE SKIP LOCKED
         ), j AS (
           UPDATE jobs SET state = 'held', owner = $4, epoch = $5 FROM picked WHERE jobs.id = picked.id
           RETURNING ${jobColumns('jobs.')}, jobs.seq
         )
         SELECT ${JOB_WITH_ATTEMPTS} FROM j LEFT JOIN attempts a ON a.job_id = j.id ORDER BY j.seq, a.n`,
};

const RECOVER_RELEASE = {
  name: 'lz_recover_release',
  text: `UPDATE jobs j SET state = CASE WHEN j.run_at IS NOT NULL AND j.run_at > $2 THEN 'scheduled' ELSE 'queued' END, owner = NULL, epoch = NULL
         WHERE j.state = 'held' AND j.owner = $1 AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.job_id = j.id AND a.ended_at IS NULL)
         RETURNING j.function, j.priority, j.state`,
};

const RECOVER_KEEP = {
  name: 'lz_recover_keep',
  text: `UPDATE jobs SET epoch = $2 WHERE state = 'held' AND owner = $1 RETURNING ${jobColumns()}`,
};

const NEXT_RUN_AT = { name: 'lz_next_run_at', text: `SELECT min(run_at) AS next FROM jobs WHERE state = 'scheduled'` };
// Through jobs_deadline (migration 0002): the deadlines of the jobs no node holds.
const NEXT_DEADLINE = {
  name: 'lz_next_deadline',
  text: `SELECT min(deadline) AS next FROM jobs WHERE deadline IS NOT NULL AND state <> 'held'`,
};

/**
 * Jobs submitted by the SQL function submit() (migration 0004) take their ids from a sequence of their
 * own starting here (2^52): nodes reserve blocks below it, and ids stay exact as JavaScript numbers.
 */
export const SQL_IDS_FROM = 4_503_599_627_370_496;

/** The most rows one call reads: a caller asking for more gets this many (it asks again). */
export const MAX_ROWS = 10_000;

/** The queue's part of the adapter contract, as the store delegates it. */
export type QueueOperations = Pick<
  StorageAdapter,
  'recover' | 'countsLoad' | 'windowFill' | 'dueMove' | 'deadlineTake' | 'jobGet' | 'jobHold' | 'jobHoldByKey' | 'jobsPage' | 'idsNext'
>;

function bounded(limit: number): number {
  return Number.isFinite(limit) ? Math.min(MAX_ROWS, Math.max(0, Math.floor(limit))) : 0;
}

/**
 * `holder` is read at each call: the node's id and the epoch of the adapter's open(). `idBlock` is how
 * many ids one reservation takes. Jobs left queued (recover, dueMove) are announced on `channel`. `fence`
 * runs first in every transaction that takes or gives back held rows: it throws when this node lost its
 * lease (nodes.ts). windowFill is one statement with its own fence (WINDOW_FILL), whose failure the
 * store reports as the node fenced.
 */
export function queueOperations(db: Db, holder: () => Holder, idBlock: number, channel: string, fence: (tx: Runner) => Promise<void>): QueueOperations {
  let reserved: { from: number; to: number } | null = null;

  return {
    // Only this node's rows: another node's held jobs are that node's to recover.
    async recover(now) {
      const { owner, epoch } = holder();
      return db.transaction('recover', async (tx) => {
        await fence(tx);
        const released = await tx.query<{ function: string; priority: Priority; state: string }>(RECOVER_RELEASE, [owner, now]);
        await notifyQueued(
          tx,
          channel,
          released.filter((r) => r.state === 'queued'),
        );
        const kept = await tx.query<JobRecord>(RECOVER_KEEP, [owner, epoch]);
        kept.sort((a, b) => a.id - b.id);
        return withAttempts(tx, kept);
      });
    },

    // A covering scan of jobs_queue for the counts, then the first in line of each queue through the
    // same index, and the earliest run-at through jobs_due; one snapshot.
    async countsLoad() {
      return db.transaction('countsLoad', async (tx) => {
        await tx.run('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
        const rows = await tx.query<{ function: string; priority: number; queued: number; scheduled: number; oldest_queued_at: number | null }>({
          name: 'lz_counts_load',
          text: `SELECT g.function, g.priority, g.queued, g.scheduled,
                   CASE WHEN g.queued = 0 THEN NULL ELSE (SELECT j.queued_at FROM jobs j
                     WHERE j.function = g.function AND j.priority = g.priority AND j.state = 'queued' ORDER BY j.seq LIMIT 1) END AS oldest_queued_at
                 FROM (SELECT function, priority, count(*) FILTER (WHERE state = 'queued')::int AS queued,
                         count(*) FILTER (WHERE state = 'scheduled')::int AS scheduled
                       FROM jobs WHERE state IN ('queued', 'scheduled') GROUP BY function, priority) g
                 ORDER BY g.function, g.priority`,
        });
        const [next] = await tx.query<{ next: number | null }>(NEXT_RUN_AT);
        const [deadline] = await tx.query<{ next: number | null }>(NEXT_DEADLINE);
        return {
          counts: rows.map((r) => ({
            function: r.function,
            priority: r.priority as Priority,
            queued: r.queued,
            scheduled: r.scheduled,
            oldestQueuedAt: r.oldest_queued_at,
          })),
          nextRunAt: next?.next ?? null,
          nextDeadline: deadline?.next ?? null,
        };
      });
    },

    // One statement, so one round trip: fenced like the usual group commit (write.ts, FENCE_FAILED),
    // with the attempts of the jobs it takes joined on (a job requeued after a failure has some).
    async windowFill(fn, priority, limit) {
      const n = bounded(limit);
      if (n === 0) return [];
      const { owner, epoch } = holder();
      const rows = await db.query<JobWithAttempt & { seq: number }>('windowFill', WINDOW_FILL, [fn, priority, n, owner, epoch]);
      return manyWithAttempts(rows);
    },

    async dueMove(now, limit) {
      const n = bounded(limit);
      return db.transaction('dueMove', async (tx) => {
        const moved =
          n === 0
            ? []
            : await tx.query<{ function: string; priority: number; n: number }>(
                {
                  name: 'lz_due_move',
                  text: `WITH due AS (
                           SELECT id, run_at FROM jobs WHERE state = 'scheduled' AND run_at <= $1 ORDER BY run_at, id LIMIT $2 FOR UPDATE SKIP LOCKED
                         ), numbered AS (
                           SELECT id, run_at, nextval('job_seq') AS seq FROM (SELECT id, run_at FROM due ORDER BY run_at, id) d
                         ), done AS (
                           UPDATE jobs j SET state = 'queued', seq = numbered.seq, queued_at = numbered.run_at
                           FROM numbered WHERE j.id = numbered.id
                           RETURNING j.function, j.priority
                         )
                         SELECT function, priority, count(*)::int AS n FROM done GROUP BY function, priority ORDER BY function, priority`,
                },
                [now, n],
              );
        await notifyQueued(
          tx,
          channel,
          moved.map((m) => ({ function: m.function, priority: m.priority as Priority })),
        );
        const [next] = await tx.query<{ next: number | null }>(NEXT_RUN_AT);
        return { moved: moved.map((m) => ({ function: m.function, priority: m.priority as Priority, n: m.n })), nextRunAt: next?.next ?? null };
      });
    },

    // Jobs no node holds whose deadline passed, earliest first, held by this node and returned as they
    // were (their state before), for it to quarantine. Rows another node is taking are skipped.
    async deadlineTake(now, limit) {
      const n = bounded(limit);
      const { owner, epoch } = holder();
      return db.transaction('deadlineTake', async (tx) => {
        await fence(tx);
        const rows =
          n === 0
            ? []
            : await tx.query<JobRecord>(
                {
                  name: 'lz_deadline_pick',
                  text: `SELECT ${jobColumns()} FROM jobs WHERE deadline IS NOT NULL AND state <> 'held' AND deadline <= $1
                         ORDER BY deadline, id LIMIT $2 FOR UPDATE SKIP LOCKED`,
                },
                [now, n],
              );
        if (rows.length > 0) {
          await tx.run({ name: 'lz_hold_ids', text: `UPDATE jobs SET state = 'held', owner = $2, epoch = $3 WHERE id = ANY($1::bigint[])` }, [
            rows.map((r) => r.id),
            owner,
            epoch,
          ]);
        }
        const [next] = await tx.query<{ next: number | null }>(NEXT_DEADLINE);
        return { jobs: await withAttempts(tx, rows), nextDeadline: next?.next ?? null };
      });
    },

    async jobGet(id) {
      const rows = await db.query<JobWithAttempt>('jobGet', { name: 'lz_job_get', text: `SELECT ${JOB_WITH_ATTEMPTS} FROM jobs j ${ATTEMPTS_JOIN}` }, [id]);
      return oneWithAttempts(rows);
    },

    async jobHold(id) {
      const { owner, epoch } = holder();
      return db.transaction('jobHold', async (tx) => {
        await fence(tx);
        const rows = await tx.query<JobWithAttempt>(
          {
            name: 'lz_job_hold',
            // The row as it was: its state before holding tells the caller which count it leaves.
            text: `WITH before AS (
                   SELECT id, state FROM jobs WHERE id = $1 AND state IN ('queued', 'scheduled') FOR UPDATE
                 ), j AS (
                   UPDATE jobs SET state = 'held', owner = $2, epoch = $3 FROM before WHERE jobs.id = before.id
                   RETURNING ${jobColumns('jobs.').replace('jobs.state', 'before.state')}
                 )
                 SELECT ${JOB_WITH_ATTEMPTS} FROM j ${ATTEMPTS_JOIN}`,
          },
          [id, owner, epoch],
        );
        return oneWithAttempts(rows);
      });
    },

    async jobHoldByKey(fn, key) {
      const { owner, epoch } = holder();
      return db.transaction('jobHoldByKey', async (tx) => {
        await fence(tx);
        const rows = await tx.query<JobWithAttempt>(
          {
            name: 'lz_job_hold_by_key',
            // Through jobs_coalesce; a row another node takes meanwhile is held when the lock is granted, and skipped.
            text: `WITH before AS (
                   SELECT id, state FROM jobs WHERE function = $1 AND coalesce_key = $2 AND state IN ('queued', 'scheduled') FOR UPDATE
                 ), j AS (
                   UPDATE jobs SET state = 'held', owner = $3, epoch = $4 FROM before WHERE jobs.id = before.id
                   RETURNING ${jobColumns('jobs.').replace('jobs.state', 'before.state')}
                 )
                 SELECT ${JOB_WITH_ATTEMPTS} FROM j LEFT JOIN attempts a ON a.job_id = j.id ORDER BY a.n`,
          },
          [fn, Buffer.from(key, 'utf8'), owner, epoch],
        );
        return oneWithAttempts(rows);
      });
    },

    async jobsPage(afterId, limit) {
      const n = bounded(limit);
      if (n === 0) return [];
      const rows = await db.query<JobSummaryRecord>(
        'jobsPage',
        {
          name: 'lz_jobs_page',
          text: `SELECT j.id, j.handle, j.function, j.unique_key, j.priority, j.state, j.tags, j.submitted_at, j.queued_at, j.run_at,
                   (SELECT count(*) FROM attempts a WHERE a.job_id = j.id)::int AS attempts
                 FROM jobs j WHERE j.id > $1 ORDER BY j.id LIMIT $2`,
        },
        [afterId, n],
      );
      return rows.map(toJobSummary);
    },

    // Ids come in blocks reserved on the meta row 'id_next' (UPDATE … RETURNING takes its row lock, so
    // two nodes never reserve the same block). The floor is above every stored id and the watermark,
    // which covers ids handed out before any reservation. While the floor stays in the first half of
    // this adapter's block, the block is this adapter's still and the floor is the answer; past it, a
    // new block is reserved: every answer has at least idBlock/2 ids after it that no other node gets.
    async idsNext() {
      const [row] = await db.query<{ floor: number }>('idsNext', {
        name: 'lz_ids_floor',
        text: `SELECT greatest(
                 coalesce((SELECT max(id) FROM jobs WHERE id < ${SQL_IDS_FROM}), 0),
                 coalesce((SELECT max(id) FROM quarantine WHERE id < ${SQL_IDS_FROM}), 0),
                 coalesce((SELECT value FROM meta WHERE key = '${WATERMARK_KEY}'), 0)) + 1 AS floor`,
      });
      const floor = row?.floor ?? 1;
      if (reserved !== null && floor >= reserved.from && floor < reserved.from + Math.floor(idBlock / 2)) return floor;
      if (reserved !== null && floor < reserved.from) return reserved.from;
      const [taken] = await db.query<{ start_id: number }>(
        'idsNext',
        {
          name: 'lz_ids_reserve',
          text: `UPDATE meta SET value = greatest(value, $1) + $2 WHERE key = 'id_next' RETURNING value - $2 AS start_id`,
        },
        [floor, idBlock],
      );
      if (taken === undefined) throw new Error("the meta row 'id_next' is missing");
      reserved = { from: taken.start_id, to: taken.start_id + idBlock };
      return taken.start_id;
    },
  };
}

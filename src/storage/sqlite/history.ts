// A job's history: historyFind(), historyPrune(), the rows write() adds for a batch (prepareHistoryInsert,
// run inside the batch's transaction), and the rows an operator's action on quarantine entries leaves
// (recordFromQuarantine, run inside that action's transaction).

import type { Database } from 'better-sqlite3';
import type { AuditStamp, HistoryAction, HistoryEntry, NewHistoryEntry, QuarantineFilter } from '../types.js';
import { filterSql, type StatementCache } from './quarantine-filter.js';
import { corruptRow } from './errors.js';
import { toHistoryEntry, type HistoryRecordBase } from '../narrow.js';
import { attemptsJson } from './rows.js';

interface Row extends HistoryRecordBase {
  life: string | null;
}

function toEntry(r: Row): HistoryEntry {
  let life: unknown = null;
  if (r.life !== null) {
    try {
      life = JSON.parse(r.life) as unknown;
    } catch {
      throw corruptRow('job_history', r.job_id, 'life does not parse');
    }
  }
  return toHistoryEntry(r, life);
}

export interface HistoryOperations {
  historyFind: (jobId: number) => HistoryEntry[];
  historyPrune: (before: number, limit: number) => number;
  historyLiveJobs: () => number[];
}

export function prepareHistory(db: Database): HistoryOperations {
  const find = db.prepare<[number], Row>('SELECT * FROM job_history WHERE job_id = ? ORDER BY seq');
  // Only the history of jobs that are gone: a job still queued or quarantined keeps all of it.
  const prune = db.prepare<[number, number, number]>(
    `DELETE FROM job_history WHERE seq IN (
       SELECT seq FROM job_history h WHERE at < ?
         AND NOT EXISTS (SELECT 1 FROM jobs WHERE id = h.job_id)
         AND NOT EXISTS (SELECT 1 FROM quarantine WHERE id = h.job_id)
         AND NOT EXISTS (SELECT 1 FROM job_history l WHERE l.job_id = h.job_id AND l.at >= ?)
       LIMIT ?)`,
  );
  // Walks the history (small) and looks each job up by its key; `IN (SELECT id FROM jobs)` would first
  // read every stored job's id, a million of them with a large backlog, at every start.
  const live = db.prepare<[], { job_id: number }>(
    'SELECT DISTINCT job_id FROM job_history h WHERE EXISTS (SELECT 1 FROM jobs WHERE id = h.job_id) ORDER BY job_id',
  );
  return {
    historyFind: (jobId) => find.all(jobId).map(toEntry),
    historyPrune: (before, limit) => prune.run(before, before, limit).changes,
    historyLiveJobs: () => live.all().map((r) => r.job_id),
  };
}

/** Appends history rows. Call inside the transaction of the change they record. */
export function prepareHistoryInsert(db: Database): (entries: readonly NewHistoryEntry[]) => void {
  const insert = db.prepare<[number, number, string, string, string | null, string | null, string | null]>(
    'INSERT INTO job_history (job_id, at, action, actor, client, peer, life) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  return (entries) => {
    for (const e of entries) {
      const life =
        e.life === null
          ? null
          : JSON.stringify({ end: e.life.end, detail: e.life.detail, endedAt: e.life.endedAt, attempts: JSON.parse(attemptsJson(e.life.attempts)) as unknown });
      insert.run(e.jobId, e.at, e.action, e.actor, e.client, e.peer, life);
    }
  };
}

/**
 * Records `action` for every quarantine entry matching `filter`, with the entry's life (its reason and
 * attempts) when `withLife`. Call inside the transaction that then changes those entries.
 */
export function prepareRecordFromQuarantine(
  cache: StatementCache,
): (filter: QuarantineFilter, action: HistoryAction, by: AuditStamp, withLife: boolean) => void {
  return (filter, action, by, withLife) => {
    const { where, params } = filterSql(filter);
    const life = withLife ? "json_object('end', reason, 'detail', detail, 'endedAt', quarantined_at, 'attempts', json(attempts))" : 'NULL';
    cache
      .get(`INSERT INTO job_history (job_id, at, action, actor, client, peer, life) SELECT id, ?, ?, ?, ?, ?, ${life} FROM quarantine ${where} ORDER BY id`)
      .run(by.at, action, by.actor, by.client, by.peer, ...params);
  };
}

// What the store keeps beside the queue: outcomes of finished jobs (find, prune, impact per tag), the
// alert outbox, and jobs' history (find, prune, the live jobs that have one).

import type { AlertRow, AlertUpdate, HistoryEntry, ImpactQuery, ImpactRow, NewAlert, OutcomeFilter, OutcomeRow } from '../types.js';
import type { Db } from './connection.js';
import { toAlert, toHistoryEntry, type AlertRecord, type HistoryRecordBase } from '../narrow.js';
import { OUTCOME_COLUMNS, text, textOrNull, toOutcomeRow, type OutcomeRecord } from './rows.js';

export interface RecordOperations {
  outcomesFind(filter: OutcomeFilter): Promise<OutcomeRow[]>;
  outcomesPrune(before: number, limit: number): Promise<number>;
  outcomesImpact(query: ImpactQuery): Promise<ImpactRow[]>;
  alertsAdd(alerts: readonly NewAlert[]): Promise<AlertRow[]>;
  alertsList(): Promise<AlertRow[]>;
  alertsUpdate(update: AlertUpdate): Promise<boolean>;
  alertsDelete(ids: readonly number[]): Promise<number>;
  historyFind(jobId: number): Promise<HistoryEntry[]>;
  historyPrune(before: number, limit: number): Promise<number>;
  historyLiveJobs(): Promise<number[]>;
}

const ALERT_COLUMNS = 'id, hook, event, delivery, body, created_at, attempts, next_at, failing_since, last_error';

interface HistoryRecord extends HistoryRecordBase {
  life: unknown;
}

const toEntry = (r: HistoryRecord): HistoryEntry => toHistoryEntry(r, r.life);

export function recordOperations(db: Db): RecordOperations {
  return {
    async outcomesFind(filter) {
      const parts = ['finished_at >= $1'];
      const params: unknown[] = [filter.finishedSince];
      const add = (sql: (n: string) => string, value: unknown): void => {
        if (value === undefined) return;
        params.push(value);
        parts.push(sql(`$${params.length}`));
      };
      add((n) => `id = ${n}`, filter.id);
      add((n) => `handle = ${n}`, filter.handle === undefined ? undefined : text(filter.handle));
      add((n) => `unique_key = ${n} AND unique_key <> ''`, filter.unique === undefined ? undefined : text(filter.unique));
      add((n) => `function = ${n}`, filter.function === undefined ? undefined : text(filter.function));
      // An operator's question over the retention window, not the job path: a scan of the tag arrays is acceptable.
      add((n) => `tags @> ARRAY[${n}::text]`, filter.tag === undefined ? undefined : text(filter.tag));
      params.push(Math.max(0, Math.floor(filter.limit)));
      const rows = await db.query<OutcomeRecord>(
        'outcomesFind',
        `SELECT ${OUTCOME_COLUMNS} FROM outcomes WHERE ${parts.join(' AND ')} ORDER BY finished_at DESC, id DESC LIMIT $${params.length}`,
        params,
      );
      return rows.map(toOutcomeRow);
    },

    // A bounded batch at a time, oldest first, so a large backlog never holds locks long.
    async outcomesPrune(before, limit) {
      return db.run(
        'outcomesPrune',
        {
          name: 'lz_outcomes_prune',
          text: 'DELETE FROM outcomes WHERE id IN (SELECT id FROM outcomes WHERE finished_at < $1 ORDER BY finished_at LIMIT $2)',
        },
        [before, Math.max(0, Math.floor(limit))],
      );
    },

    // The key filter is a prefix match on `key:`; left() rather than LIKE so `_` and `%` in a key are
    // taken literally.
    async outcomesImpact(q) {
      const rows = await db.query<{ tag: string; jobs: number; waited: number; failed: number; expired: number; quarantined: number; worst: number }>(
        'outcomesImpact',
        {
          name: 'lz_outcomes_impact',
          text: `SELECT t.tag, count(*)::int AS jobs, count(*) FILTER (WHERE o.wait_ms > $2)::int AS waited,
                   count(*) FILTER (WHERE o.state = 'failed')::int AS failed, count(*) FILTER (WHERE o.state = 'expired')::int AS expired,
                   count(*) FILTER (WHERE o.state = 'quarantined')::int AS quarantined, max(o.wait_ms) AS worst
                 FROM outcomes o CROSS JOIN LATERAL unnest(o.tags) AS t(tag)
                 WHERE o.finished_at >= $1 AND o.tags IS NOT NULL AND ($3::text IS NULL OR left(t.tag, length($3::text)) = $3::text)
                 GROUP BY t.tag`,
        },
        [q.since, q.waitedLongerThan, q.key === undefined ? null : text(`${q.key}:`)],
      );
      return rows.map((r) => ({
        tag: r.tag,
        jobs: r.jobs,
        waitedTooLong: r.waited,
        failed: r.failed,
        expired: r.expired,
        quarantined: r.quarantined,
        worstWaitMs: r.worst,
      }));
    },

    async alertsAdd(alerts) {
      if (alerts.length === 0) return [];
      const rows = await db.query<AlertRecord & { ord: number }>(
        'alertsAdd',
        {
          name: 'lz_alerts_add',
          text: `INSERT INTO alerts (hook, event, delivery, body, created_at, next_at)
                 SELECT u.hook, u.event, u.delivery, u.body, u.created_at, u.next_at
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[]) WITH ORDINALITY
                   AS u(hook, event, delivery, body, created_at, next_at, ord)
                 ORDER BY u.ord
                 RETURNING ${ALERT_COLUMNS}`,
        },
        [
          alerts.map((a) => text(a.hook)),
          alerts.map((a) => text(a.event)),
          alerts.map((a) => text(a.delivery)),
          alerts.map((a) => text(a.body)),
          alerts.map((a) => a.createdAt),
          alerts.map((a) => a.nextAt),
        ],
      );
      // Identity values follow the insert order; RETURNING's order is not promised, the ids are.
      return rows.sort((a, b) => a.id - b.id).map(toAlert);
    },

    async alertsList() {
      return (await db.query<AlertRecord>('alertsList', { name: 'lz_alerts_list', text: `SELECT ${ALERT_COLUMNS} FROM alerts ORDER BY id` })).map(toAlert);
    },

    async alertsUpdate(u) {
      const changed = await db.run(
        'alertsUpdate',
        { name: 'lz_alerts_update', text: 'UPDATE alerts SET attempts = $2, next_at = $3, failing_since = $4, last_error = $5 WHERE id = $1' },
        [u.id, u.attempts, u.nextAt, u.failingSince, textOrNull(u.lastError)],
      );
      return changed > 0;
    },

    async alertsDelete(ids) {
      if (ids.length === 0) return 0;
      return db.run('alertsDelete', { name: 'lz_alerts_delete', text: 'DELETE FROM alerts WHERE id = ANY($1::bigint[])' }, [ids]);
    },

    async historyFind(jobId) {
      const rows = await db.query<HistoryRecord>(
        'historyFind',
        { name: 'lz_history_find', text: 'SELECT seq, job_id, at, action, actor, client, peer, life FROM job_history WHERE job_id = $1 ORDER BY seq' },
        [jobId],
      );
      return rows.map(toEntry);
    },

    // Only the history of jobs that are gone: a job still stored or quarantined keeps all of it.
    async historyPrune(before, limit) {
      return db.run(
        'historyPrune',
        {
          name: 'lz_history_prune',
          text: `DELETE FROM job_history WHERE seq IN (
                   SELECT seq FROM job_history h WHERE at < $1
                     AND NOT EXISTS (SELECT 1 FROM jobs WHERE id = h.job_id)
                     AND NOT EXISTS (SELECT 1 FROM quarantine WHERE id = h.job_id)
                     AND NOT EXISTS (SELECT 1 FROM job_history l WHERE l.job_id = h.job_id AND l.at >= $1)
                   LIMIT $2)`,
        },
        [before, Math.max(0, Math.floor(limit))],
      );
    },

    async historyLiveJobs() {
      const rows = await db.query<{ job_id: number }>('historyLiveJobs', {
        name: 'lz_history_live',
        text: 'SELECT DISTINCT h.job_id FROM job_history h JOIN jobs j ON j.id = h.job_id ORDER BY h.job_id',
      });
      return rows.map((r) => r.job_id);
    },
  };
}

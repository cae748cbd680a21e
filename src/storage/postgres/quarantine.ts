// The quarantine (dead-letter queue): listing, counting, reading, editing, requeueing and purging
// entries by a QuarantineFilter. Each combination of filter fields gives its own SQL text; PostgreSQL
// plans each shape on its own, using the (function, id), (reason, id) and time indexes.

import type { AuditStamp, HistoryAction, JobRow, Priority, QuarantineFilter, QuarantinePage, QuarantineRow, QuarantineSummary } from '../types.js';
import type { Db, Runner } from './connection.js';
import { coalescingKey } from '../coalesce-key.js';
import { notifyQueued } from './notify.js';
import {
  QUARANTINE_COLUMNS,
  text,
  toJobRow,
  toQuarantineRow,
  toQuarantineSummary,
  type JobRecord,
  type QuarantineRecord,
  type QuarantineSummaryRecord,
} from './rows.js';

export interface FilterSql {
  /** '' or 'WHERE …' */
  where: string;
  params: unknown[];
}

/**
 * The WHERE clause of `filter`, its parameters numbered after `offset` others. An absent field does
 * not filter; `ids: []` matches nothing (an empty selection must never widen to "everything", least of
 * all for purge).
 */
export function filterSql(filter: QuarantineFilter, offset = 0, extra: string[] = []): FilterSql {
  const parts: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (n: string) => string, value: unknown): void => {
    params.push(value);
    parts.push(sql(`$${offset + params.length}`));
  };
  if (filter.function !== undefined) add((n) => `function = ${n}`, text(filter.function));
  if (filter.reason !== undefined) add((n) => `reason = ${n}`, filter.reason);
  if (filter.since !== undefined) add((n) => `quarantined_at >= ${n}`, filter.since);
  if (filter.before !== undefined) add((n) => `quarantined_at < ${n}`, filter.before);
  if (filter.ids !== undefined) add((n) => `id = ANY(${n}::bigint[])`, filter.ids);
  parts.push(...extra);
  return { where: parts.length === 0 ? '' : `WHERE ${parts.join(' AND ')}`, params };
}

/**
 * Records `action` for every entry matching `filter`, with the entry's life (its reason and attempts)
 * when `withLife`. Call inside the transaction that then changes those entries.
 */
async function recordFromQuarantine(tx: Runner, filter: QuarantineFilter, action: HistoryAction, by: AuditStamp, withLife: boolean): Promise<void> {
  const { where, params } = filterSql(filter, 5);
  const life = withLife ? "json_build_object('end', reason, 'detail', detail, 'endedAt', quarantined_at, 'attempts', attempts)" : 'NULL::json';
  await tx.run(
    `INSERT INTO job_history (job_id, at, action, actor, client, peer, life)
     SELECT id, $1, $2, $3, $4, $5, ${life} FROM quarantine ${where} ORDER BY id`,
    [by.at, action, by.actor, by.client === null ? null : text(by.client), by.peer === null ? null : text(by.peer), ...params],
  );
}

const SUMMARY_COLUMNS =
  'id, handle, function, unique_key, priority, reason, detail, attempt_count, octet_length(payload) AS payload_bytes, submitted_at, quarantined_at';

const INSERT_REQUEUED = {
  name: 'lz_insert_requeued',
  text: `INSERT INTO jobs (id, handle, function, unique_key, payload, priority, submitted_at, run_at, deadline, tags, state, seq, coalesce_key, queued_at)
         SELECT q.id, q.handle, q.function, q.unique_key, q.payload, q.priority, q.submitted_at, $2, NULL, q.tags, 'queued', nextval('job_seq'), k.ck, $2
         FROM unnest($1::bigint[], $3::bytea[]) WITH ORDINALITY AS k(id, ck, ord) JOIN quarantine q ON q.id = k.id
         ORDER BY k.ord`,
};

const KEYS_TAKEN = {
  name: 'lz_keys_taken',
  text: `SELECT k.id FROM unnest($1::bigint[], $2::text[], $3::bytea[]) AS k(id, fn, ck) WHERE EXISTS (SELECT 1 FROM jobs j WHERE j.function = k.fn AND j.coalesce_key = k.ck)`,
};

export interface QuarantineOperations {
  quarantineList(filter: QuarantineFilter, page: QuarantinePage): Promise<QuarantineSummary[]>;
  quarantineCount(filter: QuarantineFilter): Promise<number>;
  quarantineCountByFunction(): Promise<Record<string, number>>;
  quarantineGet(id: number): Promise<QuarantineRow | null>;
  quarantineUpdatePayload(id: number, payload: Buffer, by?: AuditStamp): Promise<boolean>;
  quarantineRequeue(filter: QuarantineFilter, now: number, by?: AuditStamp): Promise<JobRow[]>;
  quarantinePurge(filter: QuarantineFilter, by?: AuditStamp): Promise<number>;
}

/** `channel`: where the jobs a requeue leaves queued are announced (notify.ts). */
export function quarantineOperations(db: Db, channel: string): QuarantineOperations {
  return {
    async quarantineList(filter, page) {
      const limit = Math.max(0, Math.floor(page.limit));
      if (limit === 0) return [];
      const { where, params } = filterSql(filter, 0, page.beforeId === undefined ? [] : ['id < $BEFORE']);
      let sql = `SELECT ${SUMMARY_COLUMNS} FROM quarantine ${where} ORDER BY id DESC LIMIT $${params.length + 1}`;
      params.push(limit);
      if (page.beforeId !== undefined) {
        params.push(page.beforeId);
        sql = sql.replace('$BEFORE', `$${params.length}`);
      }
      return (await db.query<QuarantineSummaryRecord>('quarantineList', sql, params)).map(toQuarantineSummary);
    },

    async quarantineCount(filter) {
      const { where, params } = filterSql(filter);
      const [row] = await db.query<{ n: number }>('quarantineCount', `SELECT count(*)::int AS n FROM quarantine ${where}`, params);
      return row?.n ?? 0;
    },

    async quarantineCountByFunction() {
      const rows = await db.query<{ function: string; n: number }>('quarantineCountByFunction', {
        name: 'lz_quarantine_by_function',
        text: 'SELECT function, count(*)::int AS n FROM quarantine GROUP BY function',
      });
      return Object.fromEntries(rows.map((r) => [r.function, r.n]));
    },

    async quarantineGet(id) {
      const [row] = await db.query<QuarantineRecord>(
        'quarantineGet',
        { name: 'lz_quarantine_get', text: `SELECT ${QUARANTINE_COLUMNS} FROM quarantine WHERE id = $1` },
        [id],
      );
      return row === undefined ? null : toQuarantineRow(row);
    },

    async quarantineUpdatePayload(id, payload, by) {
      return db.transaction('quarantineUpdatePayload', async (tx) => {
        if ((await tx.run('UPDATE quarantine SET payload = $2 WHERE id = $1', [id, payload])) === 0) return false;
        if (by !== undefined) await recordFromQuarantine(tx, { ids: [id] }, 'edited', by, false);
        return true;
      });
    },

    // The entries become queued jobs at the back of their queues, same id and handle, no attempts, no
    // deadline, runAt = now. An entry keeps coalescing unless a stored job of its function has its
    // key meanwhile (or an earlier entry of this requeue took it): then it is stored without one.
    async quarantineRequeue(filter, now, by) {
      return db.transaction('quarantineRequeue', async (tx) => {
        const { where, params } = filterSql(filter);
        const entries = await tx.query<JobRecord>(
          `SELECT id, handle, function, unique_key, payload, priority, submitted_at, NULL::bigint AS run_at, NULL::bigint AS deadline, tags,
             'queued' AS state, NULL::bytea AS coalesce_key, 0::bigint AS queued_at
           FROM quarantine ${where} ORDER BY id FOR UPDATE`,
          params,
        );
        if (entries.length === 0) return [];
        if (by !== undefined) await recordFromQuarantine(tx, { ids: entries.map((e) => e.id) }, 'requeued', by, true);
        const keys = entries.map((e) => {
          const key = coalescingKey(e.unique_key, e.payload);
          return key === null ? null : Buffer.from(key, 'utf8');
        });
        const withKey = entries.map((e, i) => ({ id: e.id, fn: e.function, key: keys[i] })).filter((k) => k.key !== null);
        const taken = new Set(
          (await tx.query<{ id: number }>(KEYS_TAKEN, [withKey.map((k) => k.id), withKey.map((k) => k.fn), withKey.map((k) => k.key)])).map((r) => r.id),
        );
        const seen = new Set<string>();
        const finalKeys = entries.map((e, i) => {
          const key = keys[i] ?? null;
          if (key === null || taken.has(e.id)) return null;
          const both = `${e.function}\n${key.toString('base64')}`;
          if (seen.has(both)) return null;
          seen.add(both);
          return key;
        });
        const ids = entries.map((e) => e.id);
        // A job row with one of these ids would mean an id was handed out twice; the primary key
        // refuses it and the whole requeue rolls back.
        await tx.run(INSERT_REQUEUED, [ids, now, finalKeys]);
        await tx.run('DELETE FROM quarantine WHERE id = ANY($1::bigint[])', [ids]);
        await notifyQueued(
          tx,
          channel,
          entries.map((e) => ({ function: e.function, priority: e.priority as Priority })),
        );
        return entries.map((e, i): JobRow => toJobRow({ ...e, run_at: now, deadline: null, coalesce_key: finalKeys[i] ?? null, queued_at: now }));
      });
    },

    async quarantinePurge(filter, by) {
      return db.transaction('quarantinePurge', async (tx) => {
        if (by !== undefined) await recordFromQuarantine(tx, filter, 'purged', by, true);
        const { where, params } = filterSql(filter);
        return tx.run(`DELETE FROM quarantine ${where}`, params);
      });
    },
  };
}

// The WHERE clause shared by every quarantine operation that takes a QuarantineFilter. Each combination
// of fields gives its own SQL text, prepared once and then reused (StatementCache), so each shape gets
// the plan that fits it: function/reason use their indexes, which already hold rows in id order.

import type { Database, Statement } from 'better-sqlite3';
import type { QuarantineFilter } from '../types.js';
import type { SqlValue } from './rows.js';

export interface FilterSql {
  /** '' or 'WHERE …' */
  where: string;
  params: SqlValue[];
}

/**
 * An absent field does not filter; `ids: []` matches nothing (an empty selection must never widen to
 * "everything", least of all for purge).
 */
export function filterSql(filter: QuarantineFilter, extra: string[] = []): FilterSql {
  const parts: string[] = [];
  const params: SqlValue[] = [];
  if (filter.function !== undefined) {
    parts.push('function = ?');
    params.push(filter.function);
  }
  if (filter.reason !== undefined) {
    parts.push('reason = ?');
    params.push(filter.reason);
  }
  if (filter.since !== undefined) {
    parts.push('quarantined_at >= ?');
    params.push(filter.since);
  }
  if (filter.before !== undefined) {
    parts.push('quarantined_at < ?');
    params.push(filter.before);
  }
  if (filter.ids !== undefined) {
    // All ids bound as one JSON array: one statement shape whatever the count.
    parts.push('id IN (SELECT value FROM json_each(?))');
    params.push(JSON.stringify(filter.ids));
  }
  parts.push(...extra);
  return { where: parts.length === 0 ? '' : `WHERE ${parts.join(' AND ')}`, params };
}

/** Prepared statements keyed by their SQL text; at most one per filter shape and operation. */
export class StatementCache {
  readonly #db: Database;
  readonly #statements = new Map<string, Statement<SqlValue[], unknown>>();

  constructor(db: Database) {
    this.#db = db;
  }

  /** `R` is the row type the caller's SELECT produces; the SQL beside the call is its proof. */
  get<R = unknown>(sql: string): Statement<SqlValue[], R> {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare<SqlValue[], unknown>(sql);
      this.#statements.set(sql, statement);
    }
    return statement as Statement<SqlValue[], R>;
  }
}

// outcomesFind(): finished jobs by id and handle, unique, function or tag, newest first. Each combination of
// fields is its own SQL text, prepared once (StatementCache), so each uses the index that fits it.

import type { OutcomeFilter, OutcomeRow } from '../types.js';
import type { StatementCache } from './quarantine-filter.js';
import { toOutcomeRow, type OutcomeRecord, type SqlValue } from './rows.js';

const COLUMNS =
  'id, handle, function, unique_key, priority, tags, submitted_at, run_at, started_at, finished_at, wait_ms, state, attempts, numerator, denominator, result';

export function prepareOutcomesFind(cache: StatementCache): (filter: OutcomeFilter) => OutcomeRow[] {
  return (filter) => {
    const parts = ['finished_at >= ?'];
    const params: SqlValue[] = [filter.finishedSince];
    const add = (sql: string, value: string | undefined): void => {
      if (value === undefined) return;
      parts.push(sql);
      params.push(value);
    };
    if (filter.id !== undefined) {
      parts.push('id = ?');
      params.push(filter.id);
    }
    add('handle = ?', filter.handle);
    add("unique_key = ? AND unique_key <> ''", filter.unique);
    add('function = ?', filter.function);
    // Tags are few per job and a tag search is an operator's question, not the job path: a scan of the
    // tag arrays of the retention window is acceptable here.
    add('tags IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(tags) WHERE value = ?)', filter.tag);
    params.push(Math.max(0, Math.floor(filter.limit)));
    const statement = cache.get<OutcomeRecord>(`SELECT ${COLUMNS} FROM outcomes WHERE ${parts.join(' AND ')} ORDER BY finished_at DESC, id DESC LIMIT ?`);
    return statement.all(...params).map(toOutcomeRow);
  };
}

// quarantineList(): one page of entries, newest first, keyset-paged on id (page.beforeId) so page 2000
// costs what page 1 does.

import type { QuarantineFilter, QuarantinePage, QuarantineSummary } from '../types.js';
import { filterSql, type StatementCache } from './quarantine-filter.js';
import { toQuarantineSummary, type QuarantineSummaryRecord } from './rows.js';

// length() of a BLOB reads its size from the record header, not the payload itself.
const COLUMNS = 'id, handle, function, unique_key, priority, reason, detail, attempt_count, length(payload) AS payload_bytes, submitted_at, quarantined_at';

export function prepareQuarantineList(cache: StatementCache): (filter: QuarantineFilter, page: QuarantinePage) => QuarantineSummary[] {
  return (filter, page) => {
    const limit = Math.max(0, Math.floor(page.limit));
    if (limit === 0) return [];
    const { where, params } = filterSql(filter, page.beforeId === undefined ? [] : ['id < ?']);
    if (page.beforeId !== undefined) params.push(page.beforeId);
    params.push(limit);
    const statement = cache.get<QuarantineSummaryRecord>(`SELECT ${COLUMNS} FROM quarantine ${where} ORDER BY id DESC LIMIT ?`);
    return statement.all(...params).map(toQuarantineSummary);
  };
}

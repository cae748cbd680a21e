// quarantinePurge(): deletes matching entries for good; the only way out of quarantine besides requeue.

import type { QuarantineFilter } from '../types.js';
import { filterSql, type StatementCache } from './quarantine-filter.js';

export function prepareQuarantinePurge(cache: StatementCache): (filter: QuarantineFilter) => number {
  return (filter) => {
    const { where, params } = filterSql(filter);
    return cache.get(`DELETE FROM quarantine ${where}`).run(...params).changes;
  };
}

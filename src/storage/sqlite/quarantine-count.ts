// quarantineCount(): how many entries match, for totals beside a paged listing.

import type { QuarantineFilter } from '../types.js';
import { filterSql, type StatementCache } from './quarantine-filter.js';

export function prepareQuarantineCount(cache: StatementCache): (filter: QuarantineFilter) => number {
  return (filter) => {
    const { where, params } = filterSql(filter);
    const count = cache
      .get<number>(`SELECT count(*) FROM quarantine ${where}`)
      .pluck()
      .get(...params);
    return count ?? 0;
  };
}

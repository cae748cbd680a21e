// quarantineGet(): one entry whole, with its payload and every attempt.

import type { Database } from 'better-sqlite3';
import type { QuarantineRow } from '../types.js';
import { toQuarantineRow, type QuarantineRecord } from './rows.js';

export const QUARANTINE_COLUMNS = 'id, handle, function, unique_key, payload, priority, submitted_at, deadline, reason, detail, quarantined_at, attempts, tags';

export function prepareQuarantineGet(db: Database): (id: number) => QuarantineRow | null {
  const select = db.prepare<[number], QuarantineRecord>(`SELECT ${QUARANTINE_COLUMNS} FROM quarantine WHERE id = ?`);
  return (id) => {
    const record = select.get(id);
    return record === undefined ? null : toQuarantineRow(record);
  };
}

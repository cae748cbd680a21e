// quarantineUpdatePayload(): an operator fixes the bytes that made a job fail before requeueing it.
// With an audit stamp, the edit is recorded in job_history in the same transaction.

import type { Database } from 'better-sqlite3';
import type { AuditStamp } from '../types.js';
import { prepareRecordFromQuarantine } from './history.js';
import type { StatementCache } from './quarantine-filter.js';

export function prepareQuarantineUpdatePayload(db: Database, cache: StatementCache): (id: number, payload: Buffer, by?: AuditStamp) => boolean {
  const record = prepareRecordFromQuarantine(cache);
  const update = db.prepare<[Buffer, number]>('UPDATE quarantine SET payload = ? WHERE id = ?');
  const edit = db.transaction((id: number, payload: Buffer, by: AuditStamp | undefined): boolean => {
    if (update.run(payload, id).changes === 0) return false;
    if (by !== undefined) record({ ids: [id] }, 'edited', by, false);
    return true;
  });
  return (id, payload, by) => edit.immediate(id, payload, by);
}

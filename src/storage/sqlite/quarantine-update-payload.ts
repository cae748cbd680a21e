// quarantineUpdatePayload(): an operator fixes the bytes that made a job fail before requeueing it.

import type { Database } from 'better-sqlite3';

export function prepareQuarantineUpdatePayload(db: Database): (id: number, payload: Buffer) => boolean {
  const update = db.prepare<[Buffer, number]>('UPDATE quarantine SET payload = ? WHERE id = ?');
  return (id, payload) => update.run(payload, id).changes > 0;
}

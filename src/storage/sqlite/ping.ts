// ping(): one small real write, so /health learns of a full disk or a read-only file before jobs do.

import type { Database } from 'better-sqlite3';

export const PING_KEY = 'health_ping';

export function preparePing(db: Database): (now: number) => void {
  const upsert = db.prepare(`INSERT INTO meta (key, value) VALUES ('${PING_KEY}', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
  return (now) => void upsert.run(now);
}

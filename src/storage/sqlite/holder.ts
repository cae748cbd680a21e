// Who holds a database: written by the server that took the lock (lock.ts), read by a server that
// was refused it, so the refusal can name the process to look at.

import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import Database from 'better-sqlite3';

export const HOLDER_KEY = 'holder';

export interface Holder {
  pid: number;
  host: string;
  /** When that server opened the store (ms since the epoch). */
  since: number;
}

export function recordHolder(db: Database.Database, now: number): void {
  const holder: Holder = { pid: process.pid, host: hostname(), since: now };
  db.prepare(`INSERT INTO meta (key, value) VALUES ('${HOLDER_KEY}', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`).run(JSON.stringify(holder));
}

/** The recorded holder of the database at `path`; null when it cannot be read. Opens it read-only. */
export function readHolder(path: string): Holder | null {
  let db: Database.Database | null = null;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 200');
    const value = db.prepare<[], string>(`SELECT value FROM meta WHERE key = '${HOLDER_KEY}'`).pluck().get();
    if (typeof value !== 'string') return null;
    const parsed = JSON.parse(value) as Partial<Holder>;
    if (typeof parsed.pid !== 'number' || typeof parsed.host !== 'string' || typeof parsed.since !== 'number') return null;
    return { pid: parsed.pid, host: parsed.host, since: parsed.since };
  } catch {
    return null;
  } finally {
    db?.close();
  }
}

/** The command line of a local process, for the refusal message; null when unknown. */
export function commandOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean).join(' ') || null;
  } catch {
    return null;
  }
}

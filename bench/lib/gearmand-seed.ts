// Fills the table gearmand's libsqlite3 queue replays at startup. Submitting through gearmand+libsqlite3
// commits (and syncs) every job on its own, a few hundred per second on an ordinary disk, so a drain of
// tens of thousands of jobs is preloaded this way instead: gearmand reads them back exactly as after a
// restart. The table is the one gearmand creates (libgearman-server/plugins/queue/sqlite/instance.cc).

import Database from 'better-sqlite3';

/** gearman_job_priority_t: HIGH 0, NORMAL 1, LOW 2. */
const NORMAL = 1;

export function seedGearmandQueue(file: string, fn: string, payload: Buffer, jobs: number): void {
  const db = new Database(file);
  try {
    db.exec(
      'CREATE TABLE IF NOT EXISTS gearman_queue ( unique_key TEXT, function_name TEXT, priority INTEGER, data BLOB, when_to_run INTEGER, PRIMARY KEY (unique_key, function_name))',
    );
    const insert = db.prepare('INSERT INTO gearman_queue (unique_key, function_name, priority, data, when_to_run) VALUES (?, ?, ?, ?, 0)');
    db.transaction(() => {
      for (let i = 0; i < jobs; i++) insert.run(`bench-${i}`, fn, NORMAL, payload);
    })();
  } finally {
    db.close();
  }
}

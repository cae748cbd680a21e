-- Version 5: the store is the queue of record. A node keeps only a window of the next jobs of each
-- function and priority in memory and takes more from here, in line, as its workers drain them.
--   state         'queued' (in line here, held by no node), 'scheduled' (waits for run_at here),
--                 'held' (in a node's memory: its window, running, or waiting on a timer there).
--   seq           the place in line, from one counter, given every time a job (re)enters the queue:
--                 so FIFO within a priority, and "retry at the back", survive restarts.
--   coalesce_key  what later submissions of the function coalesce on (the unique, or a digest of the
--                 payload for '-'); NULL when none. Unique per function: the index does the coalescing
--                 against every stored job, including the ones no window holds.
--   queued_at     when it last became runnable (the start of its queue wait).
ALTER TABLE jobs ADD COLUMN state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'scheduled', 'held'));
ALTER TABLE jobs ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN coalesce_key TEXT;
ALTER TABLE jobs ADD COLUMN queued_at INTEGER NOT NULL DEFAULT 0;

-- Jobs stored by an earlier version: in line by id (their submission order, as that version ran them);
-- a job with an open attempt is held (the node's start ends that attempt as crashed); the first job of
-- each function and unique keeps coalescing (a job requeued from quarantine could share one with a
-- live job). A '-' unique was a digest computed in memory: those old jobs coalesce no more.
CREATE INDEX jobs_upgrade_unique ON jobs (function, unique_key, id);
UPDATE jobs SET
  seq = id,
  queued_at = max(submitted_at, coalesce(run_at, 0)),
  state = CASE
    WHEN EXISTS (SELECT 1 FROM attempts a WHERE a.job_id = jobs.id AND a.ended_at IS NULL) THEN 'held'
    WHEN run_at IS NOT NULL AND run_at > CAST(unixepoch('subsec') * 1000 AS INTEGER) THEN 'scheduled'
    ELSE 'queued'
  END,
  coalesce_key = CASE
    WHEN unique_key IN ('', '-') THEN NULL
    WHEN id = (SELECT min(j.id) FROM jobs j WHERE j.function = jobs.function AND j.unique_key = jobs.unique_key) THEN unique_key
    ELSE NULL
  END;
DROP INDEX jobs_upgrade_unique;

-- The next seq to give (the store's thread keeps the counter and saves it with each commit).
INSERT INTO meta (key, value) VALUES ('seq_next', (SELECT coalesce(max(seq), 0) + 1 FROM jobs))
  ON CONFLICT (key) DO UPDATE SET value = excluded.value;

-- A window's refill (the next queued jobs of a function and priority, in line) and the counts read at
-- start, both from this one index without touching the rows.
CREATE INDEX jobs_queue ON jobs (function, priority, state, seq);
-- Scheduled jobs that are due, earliest first.
CREATE INDEX jobs_due ON jobs (run_at) WHERE state = 'scheduled';
-- Deadlines of the jobs waiting in the store (memory watches those of the jobs it holds).
CREATE INDEX jobs_deadline ON jobs (deadline) WHERE deadline IS NOT NULL AND state <> 'held';
-- Jobs held in a node's memory, for that node's next start.
CREATE INDEX jobs_held ON jobs (id) WHERE state = 'held';
CREATE UNIQUE INDEX jobs_coalesce ON jobs (function, coalesce_key) WHERE coalesce_key IS NOT NULL;

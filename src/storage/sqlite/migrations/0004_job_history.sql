-- Version 4: a job's history across its lives. A requeue or purge keeps the quarantine entry's attempts
-- here (the life that ended), every operator action on a quarantined job is recorded with who asked,
-- and a requeued job that finishes keeps its last life too. Rows of a job that is gone (neither queued
-- nor quarantined) are pruned after results.retention.
CREATE TABLE job_history (
  seq      INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id   INTEGER NOT NULL,
  at       INTEGER NOT NULL,
  action   TEXT    NOT NULL,   -- requeued | edited | purged | finished
  actor    TEXT    NOT NULL,   -- token | loopback | anonymous | server
  client   TEXT,               -- what the asker said it was (X-Lazaret-Client: cli, dashboard), else NULL
  peer     TEXT,               -- the asker's address
  life     TEXT                -- JSON {end, detail, endedAt, attempts} of the life that ended, or NULL
) STRICT;

CREATE INDEX job_history_by_job ON job_history (job_id, seq);
CREATE INDEX job_history_by_time ON job_history (at);

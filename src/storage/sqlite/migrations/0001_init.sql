-- Lazaret schema, version 1. Times are milliseconds since the Unix epoch; ids are given by core.
-- STRICT tables: a value of the wrong type is an error here rather than a surprise at load time.

-- Durable jobs that are queued, waiting (backoff, scheduled) or running.
CREATE TABLE jobs (
  id            INTEGER PRIMARY KEY,
  handle        TEXT    NOT NULL,
  function      TEXT    NOT NULL,
  unique_key    TEXT    NOT NULL,
  payload       BLOB    NOT NULL,
  priority      INTEGER NOT NULL CHECK (priority IN (0, 1, 2)),
  submitted_at  INTEGER NOT NULL,
  run_at        INTEGER,
  deadline      INTEGER
) STRICT;

-- One row per delivery of a job to a worker; ended_at IS NULL while it runs.
-- The foreign key catches an attempt for a job that was never stored; rows are deleted explicitly
-- (no cascade) so behaviour does not depend on the foreign_keys pragma.
CREATE TABLE attempts (
  job_id      INTEGER NOT NULL REFERENCES jobs (id),
  n           INTEGER NOT NULL CHECK (n >= 1),
  worker      TEXT    NOT NULL,
  started_at  INTEGER NOT NULL,
  ended_at    INTEGER,
  outcome     TEXT,
  error       TEXT,
  evidence    TEXT,   -- JSON object (docs/evidence.md) or NULL
  PRIMARY KEY (job_id, n)
) STRICT, WITHOUT ROWID;

-- The dead-letter queue. The id is the job's id; attempts are kept whole as a JSON array, oldest first.
CREATE TABLE quarantine (
  id              INTEGER PRIMARY KEY,
  handle          TEXT    NOT NULL,
  function        TEXT    NOT NULL,
  unique_key      TEXT    NOT NULL,
  payload         BLOB    NOT NULL,
  priority        INTEGER NOT NULL CHECK (priority IN (0, 1, 2)),
  submitted_at    INTEGER NOT NULL,
  deadline        INTEGER,
  reason          TEXT    NOT NULL,
  detail          TEXT,
  quarantined_at  INTEGER NOT NULL,
  attempt_count   INTEGER NOT NULL,
  attempts        TEXT    NOT NULL   -- JSON array of attempt objects
) STRICT;

-- Listings go newest first by id (keyset paging on id < ?). An index on (x) also holds the rowid,
-- so each of these hands back the rows of one function / reason already in id order: no sort step.
CREATE INDEX quarantine_by_function ON quarantine (function, id);
CREATE INDEX quarantine_by_reason ON quarantine (reason, id);
CREATE INDEX quarantine_by_function_reason ON quarantine (function, reason, id);
CREATE INDEX quarantine_by_time ON quarantine (quarantined_at);

-- Small named values; 'id_watermark' = job ids below it are taken.
CREATE TABLE meta (
  key    TEXT PRIMARY KEY,
  value  ANY
) STRICT, WITHOUT ROWID;

-- Lazaret schema for PostgreSQL, version 1. Applied with search_path set to the store's own schema
-- (option `schema`, default `lazaret`), so names here are unqualified. Times are milliseconds since the
-- Unix epoch; job ids are given by the nodes from blocks that idsNext() reserves.
--
-- Text columns never hold a NUL character (PostgreSQL refuses it): the adapter writes U+FFFD instead.
-- JSON is kept as `json` (stored as written, `\u0000` escapes included), not `jsonb`, which refuses
-- them and reorders keys; nothing queries inside it.

-- Durable jobs. The store is the queue of record:
--   state         'queued' (in line here, held by no node), 'scheduled' (waits for run_at here),
--                 'held' (in a node's memory: its window, running, or waiting on a timer there).
--   seq           the place in line, from the sequence job_seq, given every time a job (re)enters the
--                 queue or a node's memory from elsewhere.
--   coalesce_key  what later submissions of the function coalesce on (the unique, or a digest of the
--                 payload for '-'), as UTF-8 bytes (the digest key starts with a NUL); NULL when none.
--   queued_at     when it last became runnable (the start of its queue wait).
--   owner, epoch  the node holding a 'held' row and the epoch it opened the store in; NULL otherwise.
CREATE TABLE jobs (
  id            BIGINT   PRIMARY KEY,
  handle        TEXT     NOT NULL,
  function      TEXT     NOT NULL,
  unique_key    TEXT     NOT NULL,
  payload       BYTEA    NOT NULL,
  priority      SMALLINT NOT NULL CHECK (priority IN (0, 1, 2)),
  submitted_at  BIGINT   NOT NULL,
  run_at        BIGINT,
  deadline      BIGINT,
  tags          TEXT[],
  state         TEXT     NOT NULL CHECK (state IN ('queued', 'scheduled', 'held')),
  seq           BIGINT   NOT NULL,
  coalesce_key  BYTEA,
  queued_at     BIGINT   NOT NULL,
  owner         TEXT,
  epoch         BIGINT
);

CREATE SEQUENCE job_seq;

-- A window's refill (the next queued jobs of a function and priority, in line) and the counts.
CREATE INDEX jobs_queue ON jobs (function, priority, state, seq);
-- Scheduled jobs that are due, earliest first.
CREATE INDEX jobs_due ON jobs (run_at) WHERE state = 'scheduled';
-- A node's held jobs, for its recovery at start.
CREATE INDEX jobs_held ON jobs (owner) WHERE state = 'held';
-- Coalescing against every stored job, including the ones no window holds.
CREATE UNIQUE INDEX jobs_coalesce ON jobs (function, coalesce_key) WHERE coalesce_key IS NOT NULL;

-- One row per delivery of a job to a worker; ended_at IS NULL while it runs. Rows are deleted
-- explicitly before their job (no cascade).
CREATE TABLE attempts (
  job_id      BIGINT  NOT NULL REFERENCES jobs (id),
  n           INTEGER NOT NULL CHECK (n >= 1),
  worker      TEXT    NOT NULL,
  started_at  BIGINT  NOT NULL,
  ended_at    BIGINT,
  outcome     TEXT,
  error       TEXT,
  evidence    JSON,
  PRIMARY KEY (job_id, n)
);

CREATE INDEX attempts_open ON attempts (job_id) WHERE ended_at IS NULL;

-- The dead-letter queue. The id is the job's id; attempts are kept whole as a JSON array, oldest first.
CREATE TABLE quarantine (
  id              BIGINT   PRIMARY KEY,
  handle          TEXT     NOT NULL,
  function        TEXT     NOT NULL,
  unique_key      TEXT     NOT NULL,
  payload         BYTEA    NOT NULL,
  priority        SMALLINT NOT NULL CHECK (priority IN (0, 1, 2)),
  submitted_at    BIGINT   NOT NULL,
  deadline        BIGINT,
  tags            TEXT[],
  reason          TEXT     NOT NULL,
  detail          TEXT,
  quarantined_at  BIGINT   NOT NULL,
  attempt_count   INTEGER  NOT NULL,
  attempts        JSON     NOT NULL
);

-- Listings go newest first by id (keyset paging on id < $n).
CREATE INDEX quarantine_by_function ON quarantine (function, id);
CREATE INDEX quarantine_by_reason ON quarantine (reason, id);
CREATE INDEX quarantine_by_function_reason ON quarantine (function, reason, id);
CREATE INDEX quarantine_by_time ON quarantine (quarantined_at);

-- Small named values: 'id_watermark' (ids up to it are taken), 'id_next' (the first id no idsNext()
-- has reserved), 'health_ping'.
CREATE TABLE meta (
  key    TEXT   PRIMARY KEY,
  value  BIGINT NOT NULL
);

INSERT INTO meta (key, value) VALUES ('id_next', 1);

-- Each open() of an adapter takes the next epoch; held rows carry it.
CREATE SEQUENCE node_epoch;

-- Finished jobs, kept for results.retention and then pruned (one row per job id: a job requeued from
-- quarantine that finishes again replaces its row).
CREATE TABLE outcomes (
  id            BIGINT   PRIMARY KEY,
  handle        TEXT     NOT NULL,
  function      TEXT     NOT NULL,
  unique_key    TEXT     NOT NULL,
  priority      SMALLINT NOT NULL CHECK (priority IN (0, 1, 2)),
  tags          TEXT[],
  submitted_at  BIGINT   NOT NULL,
  run_at        BIGINT,
  started_at    BIGINT,
  finished_at   BIGINT   NOT NULL,
  wait_ms       BIGINT   NOT NULL,
  state         TEXT     NOT NULL,
  attempts      INTEGER  NOT NULL,
  numerator     BIGINT,
  denominator   BIGINT,
  result        BYTEA
);

CREATE INDEX outcomes_by_unique ON outcomes (unique_key) WHERE unique_key <> '';
CREATE INDEX outcomes_by_time ON outcomes (finished_at);

-- Webhook alerts waiting to be delivered (the outbox).
CREATE TABLE alerts (
  id             BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  hook           TEXT    NOT NULL,
  event          TEXT    NOT NULL,
  delivery       TEXT    NOT NULL,
  body           TEXT    NOT NULL,
  created_at     BIGINT  NOT NULL,
  attempts       INTEGER NOT NULL DEFAULT 0,
  next_at        BIGINT  NOT NULL,
  failing_since  BIGINT,
  last_error     TEXT
);

-- A job's history across its lives.
CREATE TABLE job_history (
  seq      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_id   BIGINT NOT NULL,
  at       BIGINT NOT NULL,
  action   TEXT   NOT NULL,
  actor    TEXT   NOT NULL,
  client   TEXT,
  peer     TEXT,
  life     JSON
);

CREATE INDEX job_history_by_job ON job_history (job_id, seq);
CREATE INDEX job_history_by_time ON job_history (at);

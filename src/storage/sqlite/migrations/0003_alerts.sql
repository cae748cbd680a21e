-- Version 3: webhook alerts waiting to be delivered (one row per alert and webhook). A row is written
-- when the alert is raised and deleted when the receiver accepted it or the alert was given up, so a
-- restart resumes the retries where they were.
CREATE TABLE alerts (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  hook           TEXT    NOT NULL,
  event          TEXT    NOT NULL,
  delivery       TEXT    NOT NULL,
  body           TEXT    NOT NULL,
  created_at     INTEGER NOT NULL,
  attempts       INTEGER NOT NULL DEFAULT 0,
  next_at        INTEGER NOT NULL,
  failing_since  INTEGER,
  last_error     TEXT
) STRICT;

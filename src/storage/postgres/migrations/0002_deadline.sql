-- Version 2: the deadlines of the jobs no node holds (a node watches those of the jobs it holds in
-- memory): deadlineTake() and countsLoad()'s next deadline read them from here, earliest first.
CREATE INDEX jobs_deadline ON jobs (deadline) WHERE deadline IS NOT NULL AND state <> 'held';

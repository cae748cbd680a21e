-- Version 3: node leases. Each live node has one row, written at its open() and renewed every third of
-- its lease; a node whose lease has expired is dead to its peers, and one of them rescues its jobs
-- (deletes its row, requeues the jobs it held, ends the attempts it was running as crashed).
--
-- Times here are PostgreSQL's clock (clock_timestamp(), in ms), never a node's: the nodes' clocks may
-- disagree by seconds, and one node judging another's lease by its own clock would rescue a live node's
-- jobs, or wait far too long for a dead one's. One clock, the database's, judges every lease.
--
--   epoch       the epoch of the node's open() (sequence node_epoch): a writing transaction of the node
--               first locks its row with that epoch (FOR KEY SHARE); once a peer has deleted the row,
--               the node's writes fail (fencing) and it can change nothing it no longer owns.
--   info        what the node publishes about itself at each renewal (addresses, version, workers per
--               function, jobs held), for GET /api/nodes.
CREATE TABLE nodes (
  name        TEXT   PRIMARY KEY,
  epoch       BIGINT NOT NULL,
  started_at  BIGINT NOT NULL,
  renewed_at  BIGINT NOT NULL,
  expires_at  BIGINT NOT NULL,
  info        JSON   NOT NULL
);

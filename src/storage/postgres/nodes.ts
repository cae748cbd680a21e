// Node leases: each live node has a row in `nodes` (migration 0003) that it renews every third of its
// lease. A node whose lease expired is rescued by a peer (nodesRescue): its row is deleted, the jobs it
// held go back to the queue in their places, and those it was running are taken over by the rescuer to
// be ended as crashed. Every transaction of a node that changes what it holds first locks its own row
// with its epoch (fence): once a peer has deleted the row, that node can change nothing any more.
//
// Lease times are PostgreSQL's clock (DB_NOW), never a node's: see the migration.
//
// Row locks: fence() takes FOR KEY SHARE, which a renewal's UPDATE (of non-key columns) neither waits
// for nor blocks, but which the rescuer's FOR UPDATE conflicts with: the rescuer skips (SKIP LOCKED) a
// node that is in the middle of a commit and takes it at its next round, so a commit either lands
// before the rescue (and the rescuer sees its effect) or fails after it.

import { ErrorCode, LazaretError } from '../../errors.js';
import type { NodeInfo, NodeRow, Priority, Rescue } from '../types.js';
import type { Db, Runner } from './connection.js';
import { notifyQueued } from './notify.js';
import { withAttempts } from './queue.js';
import { jobColumns, type JobRecord } from './rows.js';
import type { Holder } from './write.js';

/** Now by PostgreSQL's clock, in ms (clock_timestamp(): the time of the statement, not of its transaction). */
const DB_NOW = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

const UPSERT = {
  name: 'lz_node_upsert',
  text: `INSERT INTO nodes (name, epoch, started_at, renewed_at, expires_at, info)
         SELECT $1, $2, t.now, t.now, t.now + $3, $4::json FROM (SELECT ${DB_NOW} AS now) t
         ON CONFLICT (name) DO UPDATE SET epoch = excluded.epoch, started_at = excluded.started_at, renewed_at = excluded.renewed_at,
           expires_at = excluded.expires_at, info = excluded.info`,
};

const RENEW = {
  name: 'lz_node_renew',
  text: `UPDATE nodes SET renewed_at = t.now, expires_at = t.now + $3, info = $4::json FROM (SELECT ${DB_NOW} AS now) t
         WHERE name = $1 AND epoch = $2`,
};

const REMOVE = { name: 'lz_node_remove', text: 'DELETE FROM nodes WHERE name = $1 AND epoch = $2' };

const FENCE = { name: 'lz_node_fence', text: 'SELECT 1 AS ok FROM nodes WHERE name = $1 AND epoch = $2 FOR KEY SHARE' };

const LIST = {
  name: 'lz_nodes_list',
  text: `SELECT name, epoch, started_at, renewed_at, expires_at, info, ${DB_NOW} AS now FROM nodes ORDER BY name`,
};

// The dead: nodes whose lease expired (a node in the middle of a commit is skipped until its next
// round), and owners of held jobs that have no row at all (a node that died while its row was being
// rescued by nobody, or held jobs before leases existed).
const DEAD = {
  name: 'lz_nodes_dead',
  text: `SELECT name, epoch, ${DB_NOW} - renewed_at AS renewed_ago FROM nodes WHERE expires_at < ${DB_NOW} AND name <> $1 FOR UPDATE SKIP LOCKED`,
};
const ORPHANED = {
  name: 'lz_nodes_orphaned',
  text: `SELECT DISTINCT j.owner AS name FROM jobs j WHERE j.state = 'held' AND j.owner <> $1
         AND NOT EXISTS (SELECT 1 FROM nodes n WHERE n.name = j.owner)`,
};
const DELETE_NODES = { name: 'lz_nodes_delete', text: 'DELETE FROM nodes WHERE name = ANY($1::text[])' };

// As recover() does for a node's own jobs at its start: the jobs waiting in the dead node's windows go
// back in the places they had (their seq is kept).
const RESCUE_RELEASE = {
  name: 'lz_rescue_release',
  text: `UPDATE jobs j SET state = CASE WHEN j.run_at IS NOT NULL AND j.run_at > $2 THEN 'scheduled' ELSE 'queued' END, owner = NULL, epoch = NULL
         WHERE j.state = 'held' AND j.owner = ANY($1::text[]) AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.job_id = j.id AND a.ended_at IS NULL)
         RETURNING j.function, j.priority, j.state`,
};
const RESCUE_TAKE = {
  name: 'lz_rescue_take',
  text: `WITH t AS (SELECT id, owner FROM jobs WHERE state = 'held' AND owner = ANY($1::text[]) FOR UPDATE)
         UPDATE jobs j SET owner = $2, epoch = $3 FROM t WHERE j.id = t.id
         RETURNING ${jobColumns('j.')}, t.owner AS from_node`,
};

export interface NodeRecord {
  name: string;
  epoch: number;
  started_at: number;
  renewed_at: number;
  expires_at: number;
  info: NodeInfo;
  now: number;
}

export function toNodeRow(r: NodeRecord): NodeRow {
  return { name: r.name, epoch: r.epoch, startedAt: r.started_at, renewedAt: r.renewed_at, expiresAt: r.expires_at, now: r.now, info: r.info };
}

export function fencedError(holder: Holder, where: string): LazaretError {
  return new LazaretError(
    ErrorCode.STORE_FENCED,
    `The node "${holder.owner}" (epoch ${holder.epoch}) lost its lease on the PostgreSQL store ${where}: a peer found it expired and rescued its jobs, so this node may write nothing more.`,
    {
      hint: 'Restart the node (run it under systemd or another supervisor that does): it starts with a new epoch and lease. If it recurs, find what stalls the node (swap, GC pauses, a slow link to PostgreSQL) or raise cluster.leaseMs.',
    },
  );
}

export interface NodeOperations {
  /** At open(): this node's row, with its new epoch and a fresh lease. */
  upsert(holder: Holder, leaseMs: number, info: NodeInfo): Promise<void>;
  /** Extends the lease and publishes `info`; false when the row is gone (the node was fenced). */
  renew(holder: Holder, leaseMs: number, info: NodeInfo): Promise<boolean>;
  /** At a clean close: this node's row, so its peers have nothing to rescue. */
  remove(holder: Holder): Promise<void>;
  /** Inside a transaction: locks this node's row, or throws LAZ_STORE_FENCED. */
  fence(tx: Runner, holder: Holder): Promise<void>;
  list(): Promise<NodeRow[]>;
  /** Jobs it leaves queued are announced on `channel` (notify.ts). */
  rescue(tx: Runner, holder: Holder, now: number, channel: string): Promise<Rescue>;
}

export function nodeOperations(db: Db): NodeOperations {
  return {
    async upsert(holder, leaseMs, info) {
      await db.run('open (lease)', UPSERT, [holder.owner, holder.epoch, leaseMs, JSON.stringify(info)]);
    },

    async renew(holder, leaseMs, info) {
      return (await db.run('lease renewal', RENEW, [holder.owner, holder.epoch, leaseMs, JSON.stringify(info)])) === 1;
    },

    async remove(holder) {
      await db.run('close (lease)', REMOVE, [holder.owner, holder.epoch]);
    },

    async fence(tx, holder) {
      const [row] = await tx.query<{ ok: number }>(FENCE, [holder.owner, holder.epoch]);
      if (row === undefined) throw fencedError(holder, db.where);
    },

    async list() {
      return (await db.query<NodeRecord>('nodesList', LIST)).map(toNodeRow);
    },

    async rescue(tx, holder, now, channel) {
      const dead = await tx.query<{ name: string; epoch: number; renewed_ago: number }>(DEAD, [holder.owner]);
      const orphaned = await tx.query<{ name: string }>(ORPHANED, [holder.owner]);
      const names = [...new Set([...dead.map((d) => d.name), ...orphaned.map((o) => o.name)])];
      if (names.length === 0) return { nodes: [], requeued: 0, taken: [] };
      await tx.run(DELETE_NODES, [names]);
      const released = await tx.query<{ function: string; priority: Priority; state: string }>(RESCUE_RELEASE, [names, now]);
      await notifyQueued(
        tx,
        channel,
        released.filter((r) => r.state === 'queued'),
      );
      const requeued = released.length;
      const rows = await tx.query<JobRecord & { from_node: string }>(RESCUE_TAKE, [names, holder.owner, holder.epoch]);
      rows.sort((a, b) => a.id - b.id);
      const jobs = await withAttempts(tx, rows);
      const nodes = [
        ...dead.map((d) => ({ name: d.name, epoch: d.epoch, renewedAgoMs: d.renewed_ago })),
        ...orphaned.filter((o) => !dead.some((d) => d.name === o.name)).map((o) => ({ name: o.name, epoch: null, renewedAgoMs: null })),
      ];
      return { nodes, requeued, taken: jobs.map((job, i) => ({ node: rows[i]?.from_node ?? '', job })) };
    },
  };
}

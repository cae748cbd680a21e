// One live adapter per node name and schema. The node name marks the jobs a node holds, and recover()
// at a node's start gives back the ones its earlier life held: two live nodes under one name would give
// back each other's jobs, and both would run them. So open() takes a session advisory lock on (schema,
// node) on a connection of its own, kept for the adapter's life; PostgreSQL releases it when that
// connection ends in any way (close(), a crash, kill -9), so a restart is never kept out by a stale lock.
// When that connection breaks while the node lives on (PostgreSQL restarted, the network cut), the lock
// is gone with it: the adapter takes it again on a new connection, at once and then with backoff until it
// has it, so a second node started under the name later is still refused. One started in between takes
// the name; its new epoch fences this node (nodes.ts), so the two never hold jobs under one name.

import pg from 'pg';
import { ErrorCode, LazaretError } from '../../errors.js';
import { toStoreError } from './errors.js';

// pg_try_advisory_lock(bigint): the one-key space, apart from the two-key lock of migrate.ts.
const TRY_LOCK = `SELECT pg_try_advisory_lock((hashtext($1)::bigint << 32) | (hashtext($2)::bigint & 4294967295)) AS got`;
const HOLDER = `SELECT a.pid, a.application_name, host(a.client_addr) AS addr, a.backend_start::text AS since
  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
  WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
    AND ((l.classid::bigint << 32) | l.objid::bigint) = ((hashtext($1)::bigint << 32) | (hashtext($2)::bigint & 4294967295))
  LIMIT 1`;

export interface NodeLockOptions {
  url: string;
  schema: string;
  node: string;
  connectTimeoutMs: number;
  applicationName: string;
  where: string;
}

/** Backoff between tries to take the lock again after its connection broke. */
const RETAKE_FIRST_MS = 250;
const RETAKE_MAX_MS = 30_000;

/** Takes the lock; resolves with a release function, or rejects with LAZ_STORE_LOCKED naming the holder. */
export async function takeNodeLock(o: NodeLockOptions): Promise<() => Promise<void>> {
  let client = await lockOn(o);
  let released = false;
  let timer: NodeJS.Timeout | null = null;
  const retake = (delay: number): void => {
    timer = setTimeout(() => {
      timer = null;
      lockOn(o).then(
        (c) => {
          if (released) void c.end().catch(() => {});
          else watch((client = c));
        },
        () => {
          if (!released) retake(Math.min(delay * 2, RETAKE_MAX_MS));
        },
      );
    }, delay);
    timer.unref();
  };
  const watch = (c: pg.Client): void => {
    c.once('end', () => {
      if (!released && client === c) retake(RETAKE_FIRST_MS);
    });
  };
  watch(client);
  return async () => {
    released = true;
    if (timer !== null) clearTimeout(timer);
    await client.end().catch(() => {});
  };
}

/** A connection of its own holding the lock, or LAZ_STORE_LOCKED naming the holder. */
async function lockOn(o: NodeLockOptions): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: o.url,
    connectionTimeoutMillis: o.connectTimeoutMs,
    application_name: o.applicationName,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  // A lock connection that breaks only loses the lock (takeNodeLock() takes it again); nothing waits on it.
  client.on('error', () => {});
  try {
    await client.connect();
    const [row] = (await client.query<{ got: boolean }>(TRY_LOCK, [o.schema, o.node])).rows;
    if (row?.got !== true) {
      const [holder] = (await client.query<{ pid: number; application_name: string; addr: string | null; since: string }>(HOLDER, [o.schema, o.node])).rows;
      const who =
        holder === undefined
          ? 'another session'
          : `PostgreSQL backend ${holder.pid} (${holder.application_name || 'no application name'}, from ${holder.addr ?? 'a local socket'}, connected since ${holder.since})`;
      throw new LazaretError(ErrorCode.STORE_LOCKED, `The node name "${o.node}" is already in use on the PostgreSQL store ${o.where} by ${who}.`, {
        hint: 'Each node sharing a store needs a name of its own (the store option `node`; the default is the host name): stop the other node, or give this one another name.',
      });
    }
  } catch (err) {
    await client.end().catch(() => {});
    throw toStoreError(err, 'open (node lock)', o.where);
  }
  return client;
}

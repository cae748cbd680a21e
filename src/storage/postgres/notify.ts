// Wake-ups between nodes: a transaction that leaves jobs queued for any node (a node's group commit,
// a due move, a requeue, a release, the SQL function submit() of migration 0004) sends a NOTIFY on the
// schema's channel, so it is delivered only if it commits; every adapter LISTENs on one connection of
// its own and tells the engine, which reads the counts at once instead of at its next poll. A lost
// notification (the listening connection was down) costs at most one poll.

import pg from 'pg';
import type { QueuedIn } from '../types.js';
import type { Runner } from './connection.js';

/**
 * The channel of a schema. PostgreSQL cuts names at 63 bytes: schemas sharing their first 55
 * characters share a channel, which costs a spurious count read, nothing more.
 */
export function channelOf(schema: string): string {
  return `lazaret_${schema}`.slice(0, 63);
}

/**
 * The payload: one line per queue, its priority digit, a space and the function name (a function
 * name has no control character). Empty when it would pass PostgreSQL's limit of 8,000 bytes: then it
 * means "any queue".
 */
const MAX_PAYLOAD = 7999;

export function payloadOf(queues: Iterable<QueuedIn>): string {
  const text = [...new Set([...queues].map((q) => `${q.priority} ${q.function}`))].join('\n');
  return Buffer.byteLength(text) > MAX_PAYLOAD ? '' : text;
}

/** The queues a payload names; empty: any queue (also for a payload this version cannot read). */
export function queuesOf(payload: string): QueuedIn[] {
  if (payload === '') return [];
  const out: QueuedIn[] = [];
  for (const line of payload.split('\n')) {
    const p = Number(line[0]);
    if ((p !== 0 && p !== 1 && p !== 2) || line[1] !== ' ') return [];
    out.push({ function: line.slice(2), priority: p });
  }
  return out;
}

const NOTIFY = { name: 'lz_notify', text: 'SELECT pg_notify($1, $2)' };

/** Inside a transaction: nodes listening learn of the jobs queued in these queues when it commits. */
export async function notifyQueued(tx: Runner, channel: string, queues: Iterable<QueuedIn>): Promise<void> {
  const list = [...queues];
  if (list.length === 0) return;
  await tx.run(NOTIFY, [channel, payloadOf(list)]);
}

export interface ListenerOptions {
  url: string;
  channel: string;
  connectTimeoutMs: number;
  applicationName: string;
  /** Called with the queues a notification names (empty: any); also with [] after a reconnection, since notifications may have been missed. */
  onQueued: (queues: QueuedIn[]) => void;
}

/** Waits before a new connection after one failed or dropped: doubling from the first, up to the last. */
const BACKOFF_MS = [100, 5000] as const;

/**
 * One LISTEN connection, kept open: when it drops it is made again with backoff (timers unref'd, so
 * they never keep the process alive); close() ends it for good.
 */
export class Listener {
  readonly #o: ListenerOptions;
  #client: pg.Client | null = null;
  #timer: NodeJS.Timeout | null = null;
  #delay: number = BACKOFF_MS[0];
  #closed = false;
  /** A connection has listened before: a new one may have missed notifications. */
  #listened = false;

  constructor(options: ListenerOptions) {
    this.#o = options;
  }

  /** Resolves once the first attempt to listen has succeeded or failed (a failure is retried in the background). */
  start(): Promise<void> {
    return this.#connect();
  }

  async #connect(): Promise<void> {
    this.#timer = null;
    if (this.#closed) return;
    const client = new pg.Client({
      connectionString: this.#o.url,
      connectionTimeoutMillis: this.#o.connectTimeoutMs,
      application_name: this.#o.applicationName,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    this.#client = client;
    let lost = false;
    const drop = (): void => {
      if (lost) return;
      lost = true;
      if (this.#client === client) this.#client = null;
      void client.end().catch(() => {});
      this.#retry();
    };
    client.on('error', drop);
    client.on('end', drop);
    client.on('notification', (n) => {
      if (n.channel === this.#o.channel) this.#o.onQueued(queuesOf(n.payload ?? ''));
    });
    try {
      await client.connect();
      await client.query(`LISTEN "${this.#o.channel}"`);
    } catch {
      drop();
      return;
    }
    if (this.#closed) {
      await client.end().catch(() => {});
      return;
    }
    this.#delay = BACKOFF_MS[0];
    if (this.#listened) this.#o.onQueued([]);
    this.#listened = true;
  }

  #retry(): void {
    if (this.#closed || this.#timer !== null) return;
    this.#timer = setTimeout(() => void this.#connect(), this.#delay);
    this.#timer.unref();
    this.#delay = Math.min(BACKOFF_MS[1], this.#delay * 2);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => {});
  }
}

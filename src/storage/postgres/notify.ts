// Wake-ups between nodes: a transaction that leaves jobs queued for any node (a node's group commit,
// a due move, a requeue, a release, the SQL function submit() of migration 0004) sends a NOTIFY on the
// schema's channel, so it is delivered only if it commits; every adapter LISTENs on one connection of
// its own and tells the engine, which reads the counts at once instead of at its next poll. A lost
// notification (the listening connection was down) costs at most one poll.

import pg from 'pg';
import type { Runner } from './connection.js';

/**
 * The channel of a schema. PostgreSQL cuts names at 63 bytes: schemas sharing their first 55
 * characters share a channel, which costs a spurious count read, nothing more.
 */
export function channelOf(schema: string): string {
  return `lazaret_${schema}`.slice(0, 63);
}

/**
 * The payload: the function names, one a line (a function name has no control character). Empty when
 * they would pass PostgreSQL's limit of 8,000 bytes: then it means "any function".
 */
const MAX_PAYLOAD = 7999;

export function payloadOf(functions: Iterable<string>): string {
  const text = [...new Set(functions)].join('\n');
  return Buffer.byteLength(text) > MAX_PAYLOAD ? '' : text;
}

/** What a payload names; empty: any function. */
export function functionsOf(payload: string): string[] {
  return payload === '' ? [] : payload.split('\n');
}

const NOTIFY = { name: 'lz_notify', text: 'SELECT pg_notify($1, $2)' };

/** Inside a transaction: nodes listening learn of queued jobs of these functions when it commits. */
export async function notifyQueued(tx: Runner, channel: string, functions: Iterable<string>): Promise<void> {
  const names = [...functions];
  if (names.length === 0) return;
  await tx.run(NOTIFY, [channel, payloadOf(names)]);
}

export interface ListenerOptions {
  url: string;
  channel: string;
  connectTimeoutMs: number;
  applicationName: string;
  /** Called with the functions a notification names (empty: any); also with [] after a reconnection, since notifications may have been missed. */
  onQueued: (functions: string[]) => void;
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
      if (n.channel === this.#o.channel) this.#o.onQueued(functionsOf(n.payload ?? ''));
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

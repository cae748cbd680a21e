// The servers a client or worker talks to: one connection each, opened on demand, and a backoff per
// server after it failed, so a dead server is skipped instead of being dialled on every call.

import type { ServerAddress } from './address.js';
import { Connection, type ConnectionOptions } from './connection.js';

export interface BackoffOptions {
  /** First wait after a failure, ms. */
  baseMs: number;
  /** Longest wait, ms. */
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 100, capMs: 10_000 };

/** Exponential with jitter over [d/2, d], so many clients of a restarted server do not return together. */
export function backoffMs(failures: number, b: BackoffOptions, random: () => number = Math.random): number {
  const d = Math.min(b.capMs, b.baseMs * 2 ** Math.min(failures - 1, 30));
  return d / 2 + (random() * d) / 2;
}

interface Slot {
  server: ServerAddress;
  conn: Connection | null;
  opening: Promise<Connection> | null;
  failures: number;
  retryAt: number;
  lastError: Error | null;
}

export class ServerPool {
  readonly #slots: Slot[];
  readonly #opts: ConnectionOptions;
  readonly #backoff: BackoffOptions;
  readonly #setup: (conn: Connection) => Promise<void>;
  #next = 0;

  constructor(servers: readonly ServerAddress[], opts: ConnectionOptions, backoff: BackoffOptions, setup: (conn: Connection) => Promise<void>) {
    this.#slots = servers.map((server) => ({ server, conn: null, opening: null, failures: 0, retryAt: 0, lastError: null }));
    this.#opts = opts;
    this.#backoff = backoff;
    this.#setup = setup;
  }

  get servers(): ServerAddress[] {
    return this.#slots.map((s) => s.server);
  }

  /** Servers to try for the next call: round robin, the ones in backoff last. */
  order(): ServerAddress[] {
    const n = this.#slots.length;
    const start = this.#next++ % n;
    const rotated = Array.from({ length: n }, (_, i) => this.#slots[(start + i) % n]!);
    const now = Date.now();
    return [...rotated.filter((s) => s.retryAt <= now), ...rotated.filter((s) => s.retryAt > now)].map((s) => s.server);
  }

  lastError(server: ServerAddress): Error | null {
    return this.#slot(server).lastError;
  }

  /** The open connection to a server, opening it (and running setup) when needed. */
  get(server: ServerAddress): Promise<Connection> {
    const slot = this.#slot(server);
    if (slot.conn && !slot.conn.closed) return Promise.resolve(slot.conn);
    slot.opening ??= this.#open(slot).finally(() => (slot.opening = null));
    return slot.opening;
  }

  async #open(slot: Slot): Promise<Connection> {
    let conn: Connection | null = null;
    try {
      conn = await Connection.open(slot.server, this.#opts);
      await this.#setup(conn);
    } catch (err) {
      conn?.close();
      slot.failures++;
      slot.retryAt = Date.now() + backoffMs(slot.failures, this.#backoff);
      slot.lastError = err as Error;
      throw err;
    }
    slot.failures = 0;
    slot.retryAt = 0;
    slot.conn = conn;
    conn.once('close', (err) => {
      if (err) slot.lastError = err;
      if (slot.conn === conn) slot.conn = null;
    });
    return conn;
  }

  /** Marks a server as failing (a request on it timed out or its connection dropped). */
  failed(server: ServerAddress, err: Error): void {
    const slot = this.#slot(server);
    slot.failures++;
    slot.retryAt = Date.now() + backoffMs(slot.failures, this.#backoff);
    slot.lastError = err;
  }

  close(): void {
    for (const slot of this.#slots) slot.conn?.close();
  }

  #slot(server: ServerAddress): Slot {
    const slot = this.#slots.find((s) => s.server === server || s.server.label === server.label);
    if (!slot) throw new Error(`unknown server ${server.label}`);
    return slot;
  }
}

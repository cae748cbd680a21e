// The one connection to the database, as the store's thread (thread.ts) holds it: synchronous, since
// nothing else runs on that thread. It takes the lock, opens and migrates the file, makes a new file
// durable before anything is acknowledged, runs each operation with the busy retry, and checkpoints
// between commits.

import { existsSync, mkdirSync, realpathSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type Database from 'better-sqlite3';
import { ErrorCode, isLazaretError, LazaretError } from '../../errors.js';
import { Checkpointer, CHECKPOINT_PAGES_DEFAULT } from './checkpoint.js';
import { IN_MEMORY, openDatabase, syncFolders, syncNewFile, type SqliteSynchronous } from './connection.js';
import { toStoreError } from './errors.js';
import { commandOf, readHolder, recordHolder } from './holder.js';
import { acquireLock, type StoreLock } from './lock.js';
import { migrate, migrationsDir, readMigrations } from './migrate.js';
import { prepareOperations, type OperationName, type Operations } from './operations.js';

export interface OwnerOptions {
  /** An absolute path, or ':memory:'. */
  path: string;
  synchronous: SqliteSynchronous;
  busyTimeoutMs: number;
  busyWaitMs: number;
  /** WAL frames after which a PASSIVE checkpoint runs between commits. */
  checkpointPages?: number;
}

/** The pause between two tries on a locked database doubles from the first to the longest. */
const BUSY_PAUSE_FIRST_MS = 5;
const BUSY_PAUSE_MAX_MS = 200;

/**
 * The file a path finally names, so a symbolic link to the database (or to its folder) takes the same
 * lock as the real path: the lock sits beside the real file. A file not created yet has no links to
 * follow but its folder may.
 */
function lockPath(path: string): string {
  try {
    return `${realpathSync(path)}.lock`;
  } catch {
    return join(realpathSync(dirname(path)), `${basename(path)}.lock`);
  }
}

/** Blocks this thread (never the event loop: this runs in the store's own thread). */
const pauseCell = new Int32Array(new SharedArrayBuffer(4));
function pause(ms: number): void {
  Atomics.wait(pauseCell, 0, 0, ms);
}

export class SqliteOwner {
  readonly #options: OwnerOptions;
  #lock: StoreLock | null = null;
  #lockCreated = false;
  #lockPath: string | null = null;
  /** The outermost folder this open created for the file, if any (its parent must learn of it too). */
  #firstFolderCreated: string | undefined;
  #db: Database.Database | null = null;
  #ops: Operations | null = null;
  #checkpoints: Checkpointer | null = null;

  constructor(options: OwnerOptions) {
    this.#options = options;
  }

  describe(): string {
    const path = this.#options.path;
    return `sqlite:${path === IN_MEMORY ? IN_MEMORY : basename(path)}`;
  }

  open(): void {
    const { path } = this.#options;
    let db: Database.Database | null = null;
    try {
      if (path !== IN_MEMORY) this.#takeLock();
      // Opening may wait the whole busy timeout in one go: nothing is being served yet.
      const opened = openDatabase(path, { synchronous: this.#options.synchronous, busyTimeoutMs: this.#options.busyTimeoutMs });
      db = opened.db;
      migrate(db, readMigrations(migrationsDir()), this.describe());
      if (path !== IN_MEMORY) recordHolder(db, Date.now());
      if (opened.created) {
        // Until now the schema lives only in the WAL, and a new file's name only in its folder's cache:
        // a power cut would leave an empty file or none, and every job acknowledged on it lost. Both
        // reach the disk before open() returns, hence before the first acknowledgement.
        db.pragma('wal_checkpoint(TRUNCATE)');
        syncNewFile(path);
        syncFolders(path, this.#firstFolderCreated);
      }
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(this.#options.busyWaitMs))}`);
      this.#ops = prepareOperations(db);
      this.#checkpoints = new Checkpointer(db, path === IN_MEMORY ? null : path, this.#options.checkpointPages ?? CHECKPOINT_PAGES_DEFAULT);
      this.#db = db;
    } catch (err) {
      db?.close();
      this.#lock?.release();
      this.#lock = null;
      // Refusing a file leaves nothing of ours beside it.
      if (this.#lockCreated && this.#lockPath !== null && (isLazaretError(err, ErrorCode.STORE_FOREIGN) || isLazaretError(err, ErrorCode.STORE_NO_SCHEMA))) {
        rmSync(this.#lockPath, { force: true });
      }
      throw toStoreError(err, 'open', this.describe());
    }
  }

  #takeLock(): void {
    const { path } = this.#options;
    // The folder may not exist yet; openDatabase creates it, but the lock file comes first.
    this.#firstFolderCreated = mkdirSync(dirname(path), { recursive: true });
    this.#lockPath = lockPath(path);
    this.#lockCreated = !existsSync(this.#lockPath);
    this.#lock = acquireLock(this.#lockPath);
    if (this.#lock !== null) return;
    const holder = readHolder(path);
    const who =
      holder === null
        ? 'another process (its pid is not recorded)'
        : `pid ${holder.pid} on ${holder.host}, open since ${new Date(holder.since).toISOString()}` +
          (holder.host === hostname() ? ` (${commandOf(holder.pid) ?? 'command line unknown'})` : '');
    throw new LazaretError(ErrorCode.STORE_LOCKED, `The SQLite store ${this.describe()} is already in use by ${who}.`, {
      hint: 'One Lazaret server per database file: stop the other server, or give this one its own --db.',
    });
  }

  /**
   * Runs one operation. Another process holding the lock costs at most busyWaitMs inside SQLite per
   * try, then a pause with backoff, until busyTimeoutMs; requests behind this one wait their turn, so
   * the order in which they were sent is the order in which they commit. Every operation is one
   * transaction, so a try that met the lock changed nothing and can be repeated as it is.
   */
  run(op: OperationName, args: unknown[]): unknown {
    const ops = this.#ops;
    if (ops === null) throw new LazaretError(ErrorCode.STORE_CLOSED, `${op} on the SQLite store ${this.describe()}, which is not open.`);
    const fn = Object.hasOwn(ops, op) ? (ops[op] as (...a: unknown[]) => unknown) : undefined;
    if (typeof fn !== 'function') throw new LazaretError(ErrorCode.STORE_FAILED, `The SQLite store has no operation ${String(op)}.`);
    const started = Date.now();
    let wait = BUSY_PAUSE_FIRST_MS;
    for (;;) {
      try {
        return fn(...args);
      } catch (err) {
        const failure = toStoreError(err, op, this.describe());
        const left = this.#options.busyTimeoutMs - (Date.now() - started);
        if (failure.code !== ErrorCode.STORE_BUSY || left <= 0) throw failure;
        pause(Math.min(wait, left));
        wait = Math.min(wait * 2, BUSY_PAUSE_MAX_MS);
      }
    }
  }

  /** After a commit has been answered: whether the WAL has grown enough for a checkpoint. */
  checkpointDue(): boolean {
    return this.#checkpoints?.due() ?? false;
  }

  checkpoint(): void {
    this.#checkpoints?.run();
  }

  close(): void {
    const db = this.#db;
    this.#db = null;
    this.#ops = null;
    this.#checkpoints?.close();
    this.#checkpoints = null;
    if (db === null) return;
    try {
      // Refreshes the statistics SQLite's planner uses, as its docs advise before closing; the limit
      // keeps that to a sample so closing a large store stays quick.
      db.pragma('analysis_limit = 400');
      db.pragma('optimize');
    } catch {
      // Statistics are an optimisation: failing to refresh them must not keep the file open.
    }
    try {
      db.close();
    } catch (err) {
      throw toStoreError(err, 'close', this.describe());
    } finally {
      this.#lock?.release();
      this.#lock = null;
    }
  }
}

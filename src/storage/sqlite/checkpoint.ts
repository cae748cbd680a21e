// Checkpoints, in the store's thread, between commits. SQLite's automatic checkpoint would run inside
// whichever commit crossed the threshold and make that commit (and its callers) wait for it; it is
// turned off (connection.ts) and this runs a PASSIVE checkpoint instead once the WAL has grown past a
// number of frames, after the commit that crossed it has been answered.
//
// The frame count is read from the WAL index (the -shm file, whose header format SQLite documents as
// part of its file format): one 24-byte read per commit, where asking SQLite would mean a checkpoint.

import { closeSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import type Database from 'better-sqlite3';

/** SQLite's own default for wal_autocheckpoint: about 4 MiB of WAL at the default page size. */
export const CHECKPOINT_PAGES_DEFAULT = 1000;

/** WalIndexHdr: isInit at byte 12, mxFrame (frames in the WAL since it last restarted) at byte 16, native byte order. */
const HEADER_BYTES = 24;
const IS_INIT_AT = 12;
const MX_FRAME_AT = 16;

export class Checkpointer {
  readonly #db: Database.Database;
  readonly #pages: number;
  #shm: number | null = null;
  readonly #header = Buffer.alloc(HEADER_BYTES);
  /** Frames already seen at the last checkpoint that did not restart the WAL (a reader, another process, kept it). */
  #floor = 0;
  #commitsSince = 0;

  constructor(db: Database.Database, path: string | null, pages: number) {
    this.#db = db;
    this.#pages = Math.max(1, Math.floor(pages));
    if (path === null) return;
    try {
      this.#shm = openSync(`${path}-shm`, 'r');
    } catch {
      // No WAL index to read (it should exist once WAL mode is on): fall back to counting commits.
      this.#shm = null;
    }
  }

  /** Frames written since the WAL last restarted; null when it cannot be read. */
  frames(): number | null {
    if (this.#shm === null) return null;
    try {
      if (readSync(this.#shm, this.#header, 0, HEADER_BYTES, 0) < HEADER_BYTES || this.#header[IS_INIT_AT] === 0) return null;
      return endianness() === 'LE' ? this.#header.readUInt32LE(MX_FRAME_AT) : this.#header.readUInt32BE(MX_FRAME_AT);
    } catch {
      return null;
    }
  }

  /** Called after every commit: true when a checkpoint is worth running now. */
  due(): boolean {
    this.#commitsSince++;
    const frames = this.frames();
    // Unreadable index: a commit writes a few pages at the least, so this bounds the WAL all the same.
    if (frames === null) return this.#commitsSince >= Math.ceil(this.#pages / 4);
    // Fewer frames than at the last checkpoint: the WAL restarted from its beginning since.
    if (frames < this.#floor) this.#floor = 0;
    return frames - this.#floor >= this.#pages;
  }

  /** A PASSIVE checkpoint: copies what it can without waiting for anyone. Failures only postpone it. */
  run(): void {
    this.#commitsSince = 0;
    try {
      this.#db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // A lock held elsewhere or an I/O error: the next commit's check tries again, and commits go on meanwhile.
    }
    // When the WAL could not restart, its frames stay counted; wait for as many new ones before the next try.
    this.#floor = this.frames() ?? 0;
  }

  close(): void {
    if (this.#shm !== null) closeSync(this.#shm);
    this.#shm = null;
  }
}

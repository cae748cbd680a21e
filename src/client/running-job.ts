// The JobContext of an in-process or sandboxed job, as the worker hands it to a handler. Methods are
// arrow fields so a handler may destructure them (`({ payload, progress }) => ...`); the abort
// controller is made only when a handler reads `signal` (most never do).

import { request } from '../protocol/encoder.js';
import { PacketType } from '../protocol/packets.js';
import type { Connection } from './connection.js';
import type { JobContext } from './context.js';

export class RunningJob implements JobContext {
  #controller: AbortController | null = null;
  readonly #conn: Connection;

  constructor(
    conn: Connection,
    readonly fn: string,
    readonly handle: string,
    readonly unique: string,
    readonly payload: Buffer,
  ) {
    this.#conn = conn;
  }

  get signal(): AbortSignal {
    return (this.#controller ??= new AbortController()).signal;
  }

  abort(): void {
    (this.#controller ??= new AbortController()).abort();
  }

  /** Sends a frame for this job; a lost connection means the server has already ended the attempt. */
  send(frame: Buffer): void {
    if (!this.#conn.closed) this.#conn.send(frame);
  }

  readonly progress = (numerator: number, denominator: number): void =>
    this.send(request(PacketType.WORK_STATUS, this.handle, String(numerator), String(denominator)));
  readonly data = (data: Buffer | string): void => this.send(request(PacketType.WORK_DATA, this.handle, data));
  readonly warning = (data: Buffer | string): void => this.send(request(PacketType.WORK_WARNING, this.handle, data));
}

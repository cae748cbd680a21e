// A foreground job as the client sees it: events while it runs, then its result or a JobError.

import { EventEmitter } from 'node:events';
import { PacketType, type Packet } from '../protocol/packets.js';
import { ClientErrorCode, JobError } from './errors.js';
import { evidenceObject as parseEvidence } from '../protocol/evidence.js';

export interface ForegroundJobEvents {
  /** The server accepted the job: its handle, and the server (`host:port`) that holds it. */
  created: [handle: string, server: string];
  progress: [numerator: number, denominator: number];
  data: [data: Buffer];
  warning: [data: Buffer];
}

/**
 * Returned by `client.submit()`. Await it (or `.result`) for the result; listen for `progress`, `data`
 * and `warning` while it runs.
 */
export class ForegroundJob extends EventEmitter<ForegroundJobEvents> implements PromiseLike<Buffer> {
  readonly fn: string;
  /** Resolves with the WORK_COMPLETE data; rejects with a JobError or a ClientError (timeout, lost). */
  readonly result: Promise<Buffer>;
  handle: string | null = null;
  server: string | null = null;
  #resolve!: (data: Buffer) => void;
  #reject!: (err: Error) => void;
  #done = false;

  constructor(fn: string) {
    super();
    this.fn = fn;
    this.result = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // A caller that only listens to events must not crash the process with an unhandled rejection;
    // awaiting `result` still throws.
    this.result.catch(() => undefined);
  }

  then<T = Buffer, E = never>(
    onfulfilled?: ((value: Buffer) => T | PromiseLike<T>) | null,
    onrejected?: ((reason: unknown) => E | PromiseLike<E>) | null,
  ): Promise<T | E> {
    return this.result.then(onfulfilled, onrejected);
  }

  get done(): boolean {
    return this.#done;
  }

  /** @internal A WORK_* packet for this job's handle; true when it ended the job. */
  onPacket(p: Packet): boolean {
    const arg = (i: number): Buffer => p.args[i] ?? Buffer.alloc(0);
    switch (p.type) {
      case PacketType.WORK_STATUS:
        this.emit('progress', Number(arg(1).toString()) || 0, Number(arg(2).toString()) || 0);
        return false;
      case PacketType.WORK_DATA:
        this.emit('data', arg(1));
        return false;
      case PacketType.WORK_WARNING:
        this.emit('warning', arg(1));
        return false;
      case PacketType.WORK_COMPLETE:
        this.settle(null, arg(1));
        return true;
      case PacketType.WORK_FAIL:
        this.settle(
          new JobError(
            ClientErrorCode.JOB_FAILED,
            `job ${this.handle} (${this.fn}) failed: the worker sent WORK_FAIL`,
            this.handle ?? '',
            Buffer.alloc(0),
            null,
          ),
        );
        return true;
      case PacketType.WORK_EXCEPTION: {
        const data = arg(1);
        const evidence = parseEvidence(data);
        const text = evidence ? String(evidence.message ?? evidence.errorClass ?? 'exception') : data.toString();
        this.settle(
          new JobError(ClientErrorCode.JOB_EXCEPTION, `job ${this.handle} (${this.fn}) failed with an exception: ${text}`, this.handle ?? '', data, evidence),
        );
        return true;
      }
      default:
        return false;
    }
  }

  /** @internal */
  settle(err: Error | null, data?: Buffer): void {
    if (this.#done) return;
    this.#done = true;
    if (err) this.#reject(err);
    else this.#resolve(data!);
  }
}

// Every live job, found by id, handle, (function, unique) for coalescing, and unique alone for
// GET_STATUS_UNIQUE.

import { coalescingKey } from '../storage/coalesce-key.js';
import type { FunctionState } from './functions.js';
import type { Job } from './job.js';

export class JobIndex {
  readonly prefix: string;
  readonly #byId = new Map<number, Job>();
  /** function -> coalescing key -> job; per function, so no (function, unique) string is built per job. */
  readonly #uniques = new Map<FunctionState, Map<string, Job>>();
  /** unique -> newest job with it, any function: GET_STATUS_UNIQUE names no function. */
  readonly #latestUnique = new Map<string, Job>();
  /** Jobs whose handle is not prefix + id (requeued after the prefix changed). */
  readonly #foreignHandles = new Map<string, Job>();

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  get size(): number {
    return this.#byId.size;
  }

  values(): IterableIterator<Job> {
    return this.#byId.values();
  }

  has(id: number): boolean {
    return this.#byId.has(id);
  }

  get(id: number): Job | undefined {
    return this.#byId.get(id);
  }

  add(job: Job): void {
    this.#byId.set(job.id, job);
    if (job.handle !== this.prefix + job.id) this.#foreignHandles.set(job.handle, job);
    if (job.unique !== '') this.#latestUnique.set(job.unique, job);
  }

  remove(job: Job): void {
    this.#byId.delete(job.id);
    this.#foreignHandles.delete(job.handle);
    if (job.unique === '') return;
    const key = coalescingKey(job.unique, job.payload);
    const byKey = this.#uniques.get(job.fn);
    if (key !== null && byKey?.get(key) === job) {
      byKey.delete(key);
      if (byKey.size === 0) this.#uniques.delete(job.fn);
    }
    if (this.#latestUnique.get(job.unique) === job) this.#latestUnique.delete(job.unique);
  }

  /** The live job of fn that a submission with this key joins, if any. */
  coalescing(fn: FunctionState, key: string): Job | undefined {
    return this.#uniques.get(fn)?.get(key);
  }

  /** Makes the job the one later submissions of its function with this key join (unless another already is). */
  claim(key: string, job: Job): void {
    let byKey = this.#uniques.get(job.fn);
    if (byKey === undefined) {
      byKey = new Map();
      this.#uniques.set(job.fn, byKey);
    }
    if (!byKey.has(key)) byKey.set(key, job);
  }

  /** The handle of job `id`, live or not (a finished job's handle is assumed to be prefix + id). */
  handleOf(id: number): string {
    return this.#byId.get(id)?.handle ?? this.prefix + id;
  }

  byHandle(handle: string): Job | undefined {
    if (!handle.startsWith(this.prefix)) return this.#foreignHandles.get(handle);
    const text = handle.slice(this.prefix.length);
    if (!/^[1-9][0-9]{0,15}$/.test(text)) return undefined;
    const job = this.#byId.get(Number(text));
    return job?.handle === handle ? job : undefined;
  }

  newestWithUnique(unique: string): Job | undefined {
    return this.#latestUnique.get(unique);
  }
}

// Jobs coalesce per (function, unique); an empty unique never coalesces, and `-` coalesces on the
// workload bytes, as gearmand does. The key is computed in storage/, where the store's index uses it too.
export { coalescingKey } from '../storage/coalesce-key.js';

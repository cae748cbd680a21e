// The open job event streams (GET /api/jobs/:handle/events) and what bounds them. One set of engine
// listeners serves every stream, so a thousand watchers add no listener each; each stream holds at most
// one pending progress update (the latest) while its reader is slow, and a reader that still falls
// behind by more than its byte budget is dropped rather than buffered for.
//
// A stream follows a job by its handle, wherever the job is: a durable job comes and goes between the
// node's memory and the store (queued beyond its function's window, scheduled, waiting a retry's
// backoff), and is a new object in memory each time it comes back. Its changes in memory arrive as
// engine events; while only the store holds it, it changes only by coming back into memory (an event) or
// by finishing (an event), so the store is read only now and then, to be sure, and before a durable job
// is ever declared gone.

import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Engine } from '../core/engine.js';
import type { Job } from '../core/job.js';
import { ErrorCode, LazaretError } from '../errors.js';
import type { OutcomeRow } from '../core/records.js';
import { liveJobView, outcomeView, type JobView } from './views.js';

export interface StreamLimits {
  /** Streams open at once, all jobs together. */
  maxStreams: number;
  /** Streams open at once on one job. */
  maxStreamsPerJob: number;
  /** Bytes waiting for a slow reader before its stream is closed. */
  maxBufferedBytes: number;
  /** The HTTP port closes connections idle this long; a quiet stream must write more often. */
  idleTimeoutMs: number;
}

/** A comment line now and then keeps proxies (and the idle timeout) from closing a quiet stream. */
const KEEPALIVE_MS = 15_000;
/**
 * How often streams are checked for a job that left without finishing (a foreground job dropped when its
 * clients went away announces nothing). An outcome is announced after its commit, so a foreground job is
 * declared gone only after it has been missing for a few checks.
 */
const SWEEP_MS = 1_000;
const FOREGROUND_GONE_AFTER_SWEEPS = 2;
/**
 * A durable job memory does not hold is looked up (store, outcomes, quarantine) every this many sweeps,
 * one stream at a time; it is declared gone only when that finds it nowhere this many times in a row.
 */
const STORE_CHECK_SWEEPS = 3;
const DURABLE_GONE_AFTER_CHECKS = 2;

const FINISHED: ReadonlySet<string> = new Set(['completed', 'failed', 'expired', 'quarantined']);

const CHANGES = ['job:created', 'job:queued', 'attempt:started', 'attempt:ended', 'job:retry'] as const;

/** Where a stream's job is, when memory does not hold it: the store, an outcome, a quarantine entry, or null. */
export type FindJob = (handle: string) => Promise<JobView | null>;

class JobStream {
  #lastState = '';
  /** The latest progress not yet written because the reader was behind. */
  #pendingProgress: JobView | null = null;
  #closed = false;
  /** Checks in a row that found the job nowhere (foreground: missing from memory; durable: from everywhere). */
  missing = 0;
  /** Sweeps since the last look-up of a durable job memory does not hold. */
  sinceLookup = 0;
  /** A look-up is queued or running. */
  lookingUp = false;

  constructor(
    readonly handle: string,
    /** Stored: followed through the store as well as memory, until it finishes. */
    public durable: boolean,
    readonly res: ServerResponse,
    readonly limits: StreamLimits,
    readonly onSlow: () => void,
  ) {
    res.on('drain', () => this.#flush());
  }

  get closed(): boolean {
    return this.#closed || this.res.destroyed;
  }

  get behind(): boolean {
    return this.res.writableNeedDrain;
  }

  #write(text: string): void {
    if (this.closed) return;
    this.res.write(text);
    if (this.res.writableLength > this.limits.maxBufferedBytes) this.onSlow();
  }

  #event(event: string, data: unknown): void {
    this.#write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  state(view: JobView): void {
    if (view.state === this.#lastState) return;
    this.#lastState = view.state;
    // A state change supersedes the progress it carries.
    this.#pendingProgress = null;
    this.#event('state', view);
  }

  progress(view: JobView): void {
    if (this.behind) this.#pendingProgress = view;
    else this.#event('progress', view);
  }

  keepalive(): void {
    if (!this.behind) this.#write(': keepalive\n\n');
  }

  #flush(): void {
    const view = this.#pendingProgress;
    this.#pendingProgress = null;
    if (view !== null) this.#event('progress', view);
  }

  end(last?: { event: string; data: unknown }): void {
    if (this.closed) return;
    if (last) this.#event(last.event, last.data);
    this.#closed = true;
    this.res.end();
  }

  destroy(): void {
    this.#closed = true;
    this.res.destroy();
  }
}

export class EventStreams {
  readonly #byHandle = new Map<string, Set<JobStream>>();
  #count = 0;
  #keepalive: NodeJS.Timeout | null = null;
  #sweep: NodeJS.Timeout | null = null;
  /** Streams whose durable job is to be looked up, one at a time. */
  readonly #lookups: JobStream[] = [];
  #lookingUp = false;
  readonly #onChange = (...[job]: [Job, ...unknown[]]): void => {
    if (job.state === 'done') return;
    const set = this.#byHandle.get(job.handle);
    if (!set) return;
    const view = this.#viewOf(job);
    for (const s of set) {
      s.durable ||= job.durable;
      s.missing = 0;
      s.state(view);
    }
  };
  readonly #onProgress = (job: Job): void => {
    const set = this.#byHandle.get(job.handle);
    if (set) for (const s of set) s.progress(liveJobView(job));
  };
  readonly #onFinished = (outcome: OutcomeRow): void => {
    const set = this.#byHandle.get(outcome.handle);
    if (!set) return;
    const view = outcomeView(outcome);
    for (const s of [...set]) {
      s.state(view);
      s.end();
    }
  };

  constructor(
    readonly engine: Engine,
    readonly limits: StreamLimits,
    readonly log: Logger,
    readonly find: FindJob,
  ) {}

  get size(): number {
    return this.#count;
  }

  /** A job memory holds, or has just let go to the store (a retry's backoff, a place beyond the window). */
  #viewOf(job: Job): JobView {
    const view = liveJobView(job);
    if (job.state !== 'stored') return view;
    return { ...view, state: job.runAt !== null && job.runAt > this.engine.clock.now() ? 'scheduled' : 'queued' };
  }

  /** Refuses with LAZ_TOO_MANY_STREAMS when a cap is reached; call before answering 200. */
  admit(handle: string): void {
    const onJob = this.#byHandle.get(handle)?.size ?? 0;
    if (this.#count >= this.limits.maxStreams) {
      throw new LazaretError(ErrorCode.TOO_MANY_STREAMS, `${this.#count} job event streams are open, the most this server allows (http.maxEventStreams)`, {
        hint: 'poll GET /api/jobs/:handle instead, or raise http.maxEventStreams',
      });
    }
    if (onJob >= this.limits.maxStreamsPerJob) {
      throw new LazaretError(ErrorCode.TOO_MANY_STREAMS, `${onJob} event streams already follow job ${handle} (http.maxEventStreamsPerJob)`, {
        hint: 'share one stream per job, or raise http.maxEventStreamsPerJob',
      });
    }
  }

  /**
   * Follows a job that has not finished on this response until it finishes, goes away, or the reader
   * leaves; `view` is where it is now (memory or the store), `durable` whether the store has it.
   */
  follow(handle: string, durable: boolean, view: JobView, res: ServerResponse, peer: string): void {
    const stream = new JobStream(handle, durable, res, this.limits, () => {
      this.log.warn(
        { handle, peer, bufferedBytes: res.writableLength, limit: this.limits.maxBufferedBytes },
        'job event stream reader too slow; stream closed',
      );
      stream.destroy();
    });
    let set = this.#byHandle.get(handle);
    if (!set) this.#byHandle.set(handle, (set = new Set()));
    set.add(stream);
    this.#count++;
    if (this.#count === 1) this.#listen();
    res.on('close', () => this.#remove(stream));
    stream.state(view);
    if (this.engine.job(handle) === undefined) {
      // Read from the store: it may have moved, or finished, while that read was answered. Looked at again now.
      stream.lookingUp = true;
      this.#lookups.push(stream);
      void this.#lookUp();
    }
  }

  #remove(stream: JobStream): void {
    const set = this.#byHandle.get(stream.handle);
    if (!set?.delete(stream)) return;
    if (set.size === 0) this.#byHandle.delete(stream.handle);
    this.#count--;
    if (this.#count === 0) this.#unlisten();
  }

  #listen(): void {
    for (const e of CHANGES) this.engine.on(e, this.#onChange);
    this.engine.on('job:progress', this.#onProgress);
    this.engine.on('job:finished', this.#onFinished);
    this.#keepalive = setInterval(() => this.#each((s) => s.keepalive()), Math.min(KEEPALIVE_MS, this.limits.idleTimeoutMs / 3)).unref();
    this.#sweep = setInterval(() => this.#sweepGone(), SWEEP_MS).unref();
  }

  #unlisten(): void {
    for (const e of CHANGES) this.engine.off(e, this.#onChange);
    this.engine.off('job:progress', this.#onProgress);
    this.engine.off('job:finished', this.#onFinished);
    if (this.#keepalive) clearInterval(this.#keepalive);
    if (this.#sweep) clearInterval(this.#sweep);
    this.#keepalive = this.#sweep = null;
  }

  #each(fn: (s: JobStream) => void): void {
    for (const set of [...this.#byHandle.values()]) for (const s of [...set]) fn(s);
  }

  #sweepGone(): void {
    this.#each((s) => {
      const live = this.engine.job(s.handle);
      if (live !== undefined && live.state !== 'done') {
        s.missing = 0;
        s.sinceLookup = 0;
        s.durable ||= live.durable;
        // An event missed while the stream opened shows now (a state already written is not written again).
        s.state(this.#viewOf(live));
        return;
      }
      if (!s.durable) {
        if (++s.missing >= FOREGROUND_GONE_AFTER_SWEEPS)
          this.#gone(s, 'the job left the server without finishing (a foreground job whose clients all went away)');
        return;
      }
      if (s.lookingUp || ++s.sinceLookup < STORE_CHECK_SWEEPS) return;
      s.lookingUp = true;
      this.#lookups.push(s);
    });
    void this.#lookUp();
  }

  /** Looks the queued streams' jobs up, one at a time: a thousand streams make one read at a time, not a thousand. */
  async #lookUp(): Promise<void> {
    if (this.#lookingUp) return;
    this.#lookingUp = true;
    try {
      for (let s = this.#lookups.shift(); s !== undefined; s = this.#lookups.shift()) {
        try {
          if (!s.closed) await this.#lookUpOne(s);
        } catch (err) {
          // A stream ended meanwhile (the server closing, its store with it) has nothing to retry.
          if (!s.closed) this.log.warn({ err, handle: s.handle }, 'could not look up the job of an event stream; trying again later');
        } finally {
          s.lookingUp = false;
          s.sinceLookup = 0;
        }
      }
    } finally {
      this.#lookingUp = false;
    }
  }

  async #lookUpOne(s: JobStream): Promise<void> {
    const view = await this.find(s.handle);
    if (s.closed) return;
    const live = this.engine.job(s.handle);
    if (live !== undefined && live.state !== 'done') {
      s.missing = 0;
      s.state(this.#viewOf(live));
      return;
    }
    if (view === null) {
      // Neither memory, the store, the outcomes nor the quarantine: only then is a durable job gone.
      if (++s.missing >= DURABLE_GONE_AFTER_CHECKS)
        this.#gone(s, 'the job is no longer stored and left no outcome (its results are not kept, or it was purged)');
      return;
    }
    s.missing = 0;
    s.state(view);
    // Its end was announced before this stream could hear it (while it opened).
    if (FINISHED.has(view.state)) s.end();
  }

  #gone(s: JobStream, reason: string): void {
    s.end({ event: 'gone', data: { handle: s.handle, reason } });
  }

  /** Ends every stream (the server is closing). */
  close(): void {
    this.#each((s) => s.end());
  }
}

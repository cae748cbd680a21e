// The open job event streams (GET /api/jobs/:handle/events) and what bounds them. One set of engine
// listeners serves every stream, so a thousand watchers add no listener each; each stream holds at most
// one pending progress update (the latest) while its reader is slow, and a reader that still falls
// behind by more than its byte budget is dropped rather than buffered for.

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
 * clients went away announces nothing). An outcome is announced after its commit, so a job is declared
 * gone only after it has been missing for a few checks; many more for a stored job, whose end is always
 * announced unless something went wrong.
 */
const SWEEP_MS = 1_000;
const GONE_AFTER_SWEEPS = { memory: 2, stored: 10 };

const CHANGES = ['job:created', 'job:queued', 'attempt:started', 'attempt:ended', 'job:retry'] as const;

class JobStream {
  #lastState = '';
  /** The latest progress not yet written because the reader was behind. */
  #pendingProgress: JobView | null = null;
  #closed = false;
  /** Checks in a row that found the job missing from the engine. */
  missing = 0;

  constructor(
    readonly job: Job,
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
  readonly #onChange = (...[job]: [Job, ...unknown[]]): void => {
    if (job.state === 'done') return;
    for (const s of this.#streamsOf(job)) s.state(liveJobView(job));
  };
  readonly #onProgress = (job: Job): void => {
    for (const s of this.#streamsOf(job)) s.progress(liveJobView(job));
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
  ) {}

  get size(): number {
    return this.#count;
  }

  *#streamsOf(job: Job): Iterable<JobStream> {
    const set = this.#byHandle.get(job.handle);
    if (set) for (const s of set) if (s.job === job) yield s;
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

  /** Follows a live job on this response until it finishes, goes away, or the reader leaves. */
  follow(job: Job, res: ServerResponse, peer: string): void {
    const stream = new JobStream(job, res, this.limits, () => {
      this.log.warn(
        { handle: job.handle, peer, bufferedBytes: res.writableLength, limit: this.limits.maxBufferedBytes },
        'job event stream reader too slow; stream closed',
      );
      stream.destroy();
    });
    let set = this.#byHandle.get(job.handle);
    if (!set) this.#byHandle.set(job.handle, (set = new Set()));
    set.add(stream);
    this.#count++;
    if (this.#count === 1) this.#listen();
    res.on('close', () => this.#remove(stream));
    stream.state(liveJobView(job));
  }

  #remove(stream: JobStream): void {
    const set = this.#byHandle.get(stream.job.handle);
    if (!set?.delete(stream)) return;
    if (set.size === 0) this.#byHandle.delete(stream.job.handle);
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
      if (this.engine.job(s.job.handle) === s.job) return;
      if (++s.missing < (s.job.durable ? GONE_AFTER_SWEEPS.stored : GONE_AFTER_SWEEPS.memory)) return;
      s.end({
        event: 'gone',
        data: { handle: s.job.handle, reason: 'the job left the server without finishing (a foreground job whose clients all went away)' },
      });
    });
  }

  /** Ends every stream (the server is closing). */
  close(): void {
    this.#each((s) => s.end());
  }
}

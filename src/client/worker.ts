// The worker: runs handlers for the functions it registers, on every server given, at most
// `concurrency` jobs at once; in-process or in sandbox children. It stops gracefully (no new jobs, the
// running ones get a grace period) on stop(), on SIGTERM when asked to, and to recycle itself after N
// jobs, T minutes or an RSS limit.

import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { request } from '../protocol/encoder.js';
import { PacketType, type Packet } from '../protocol/packets.js';
import { parseServers, type ServerAddress, type ServerSpec, type TlsOptions } from './address.js';
import { positive } from './client.js';
import type { Connection } from './connection.js';
import { CHECK_FUNCTION, resultBytes, type Handler, type JobContext } from './context.js';
import { ClientError, ClientErrorCode } from './errors.js';
import { encodeEvidence, type Evidence } from '../protocol/evidence.js';
import { DEFAULT_BACKOFF, type BackoffOptions } from './pool.js';
import { SandboxCrash, SandboxPool, type SandboxOptions } from './sandbox.js';
import { Semaphore } from './semaphore.js';
import { RunningJob } from './running-job.js';
import { Session, type SessionHost } from './session.js';

export interface RecycleOptions {
  /** Stop after this many jobs. */
  maxJobs?: number;
  /** Stop after running this long, ms. */
  maxAgeMs?: number;
  /** Stop once the process's resident memory exceeds this, bytes (checked every `rssCheckMs`). */
  maxRssBytes?: number;
  /** Default 5000. */
  rssCheckMs?: number;
}

export interface WorkerOptions {
  /**
   * `host:port` strings (or one comma-separated string), or `{ address, tls }` objects for servers that
   * speak TLS. Default `127.0.0.1:4730`.
   */
  servers?: string | readonly ServerSpec[];
  /** TLS for every server given as a string (`true` = the system's CAs, no client certificate). Default off. */
  tls?: TlsOptions | boolean;
  /** In-process handlers by function name. */
  functions?: Record<string, Handler>;
  /**
   * Jobs taken at once, over all servers. Default 1; in sandbox mode twice sandbox.poolSize, so the next
   * job is already fetched when a child becomes free.
   */
  concurrency?: number;
  /** Run the handlers of a module in child processes (functions: the module's exports). */
  sandbox?: SandboxOptions;
  /** Also answer `lazaret.check` (echoes the payload) for `lazaret check`. Default false. */
  check?: boolean;
  recycle?: RecycleOptions;
  /** Stop gracefully on SIGTERM and SIGINT. Default false. */
  handleSignals?: boolean;
  /** Grace period for running jobs when stopping, ms. Default 30000. */
  graceMs?: number;
  /** The worker id the server shows (SET_CLIENT_ID). Default `host:pid`. */
  clientId?: string;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** A sleeping worker asks for work again this often even without a NOOP, ms. Default 30000. */
  idleRegrabMs?: number;
  reconnect?: Partial<BackoffOptions>;
  maxFrameBytes?: number;
}

export type StopReason = 'stopped' | 'signal' | 'max_jobs' | 'max_age' | 'max_rss';

export interface StopResult {
  reason: StopReason;
  /** Jobs run in all. */
  jobs: number;
  /** Jobs still running when the grace period ended (their connections were dropped; the server retries them). */
  abandoned: number;
}

export interface JobReport {
  fn: string;
  handle: string;
  server: string;
  outcome: 'completed' | 'failed';
  ms: number;
  error?: Evidence;
}

export interface WorkerEvents {
  /** Registered (or tried to) with every server. */
  ready: [];
  job: [report: JobReport];
  /** A connection failed; the worker reconnects with backoff. */
  disconnect: [server: string, err: Error];
  stop: [result: StopResult];
}

/** The exit code of a runner (`runWorker`) that stopped to recycle itself: restart me. */
export const EXIT_RECYCLE = 75;

export class Worker extends EventEmitter<WorkerEvents> {
  /** The worker id the servers show (SET_CLIENT_ID). */
  readonly clientId: string;
  /** Resolves once the worker has stopped, with why. */
  readonly stopped: Promise<StopResult>;
  readonly #servers: ServerAddress[];
  readonly #handlers: Map<string, Handler>;
  readonly #sandbox: SandboxPool | null;
  readonly #recycle: RecycleOptions;
  readonly #graceMs: number;
  readonly #handleSignals: boolean;
  readonly #permits: Semaphore;
  /** What the sessions see of the worker; kept out of the public surface. */
  readonly #host: SessionHost;
  readonly #running = new Set<RunningJob>();
  readonly #timers: NodeJS.Timeout[] = [];
  #functions: readonly string[] = [];
  #sessions: Session[] = [];
  #jobs = 0;
  #stopping: Promise<StopResult> | null = null;
  #resolveStopped!: (r: StopResult) => void;
  readonly #onSignal = (): void => void this.stop({ reason: 'signal' });

  constructor(opts: WorkerOptions) {
    super();
    this.#servers = parseServers(opts.servers, opts.tls);
    this.#handlers = new Map(Object.entries(opts.functions ?? {}));
    if (opts.check) this.#handlers.set(CHECK_FUNCTION, (job) => job.payload);
    this.#sandbox = opts.sandbox ? new SandboxPool(opts.sandbox) : null;
    if (this.#handlers.size === 0 && !this.#sandbox) {
      throw new ClientError(ClientErrorCode.INVALID_ARGUMENT, 'a Worker needs functions, a sandbox module, or check: true');
    }
    this.#permits = new Semaphore(Math.floor(positive(opts.concurrency, opts.sandbox ? 2 * (opts.sandbox.poolSize ?? 2) : 1, 'concurrency')));
    this.clientId = opts.clientId ?? `${hostname()}:${process.pid}`;
    this.#recycle = opts.recycle ?? {};
    this.#graceMs = opts.graceMs ?? 30_000;
    this.#handleSignals = opts.handleSignals ?? false;
    this.stopped = new Promise((resolve) => (this.#resolveStopped = resolve));
    const worker = this;
    this.#host = {
      get stopping() {
        return worker.stopping;
      },
      get functions() {
        return worker.#functions;
      },
      permits: this.#permits,
      clientId: this.clientId,
      connection: { connectTimeoutMs: positive(opts.connectTimeoutMs, 5_000, 'connectTimeoutMs'), maxFrameBytes: opts.maxFrameBytes ?? 64 * 1024 * 1024 },
      requestTimeoutMs: positive(opts.requestTimeoutMs, 10_000, 'requestTimeoutMs'),
      idleRegrabMs: positive(opts.idleRegrabMs, 30_000, 'idleRegrabMs'),
      reconnect: { ...DEFAULT_BACKOFF, ...opts.reconnect },
      runJob: (conn, assign) => this.#runJob(conn, assign),
      onDisconnect: (server, err) => void this.emit('disconnect', server.label, err),
    };
  }

  /** The functions registered with the servers (known once start() has resolved). */
  get functions(): readonly string[] {
    return this.#functions;
  }

  get stopping(): boolean {
    return this.#stopping !== null;
  }

  /** Jobs run so far. */
  get jobs(): number {
    return this.#jobs;
  }

  /** Starts the sandbox (if any) and connects to every server; resolves once each has been tried. */
  async start(): Promise<void> {
    const names = new Set(this.#handlers.keys());
    if (this.#sandbox) {
      try {
        for (const name of await this.#sandbox.start()) names.add(name);
      } catch (err) {
        await this.#sandbox.close(0);
        throw err;
      }
    }
    this.#functions = [...names];
    // One connection per job slot and server, one job at a time each, as libgearman's workers do; the
    // permits keep the total at `concurrency`.
    this.#sessions = this.#servers.flatMap((server) => Array.from({ length: this.#permits.size }, () => new Session(this.#host, server)));
    if (this.#handleSignals) {
      process.on('SIGTERM', this.#onSignal);
      process.on('SIGINT', this.#onSignal);
    }
    const r = this.#recycle;
    if (r.maxAgeMs !== undefined) this.#timers.push(setTimeout(() => void this.stop({ reason: 'max_age' }), r.maxAgeMs).unref());
    if (r.maxRssBytes !== undefined) {
      const limit = r.maxRssBytes;
      this.#timers.push(setInterval(() => process.memoryUsage.rss() > limit && void this.stop({ reason: 'max_rss' }), r.rssCheckMs ?? 5_000).unref());
    }
    await Promise.all(this.#sessions.map((s) => s.firstTry));
    this.emit('ready');
  }

  /**
   * Takes no new jobs, lets the running ones finish within graceMs (default: the worker's graceMs), then
   * closes every connection. A job still running after that is abandoned: its connection is dropped, and
   * the server records a crashed attempt and runs it again. Jobs never grabbed stay on the server.
   */
  stop(opts: { graceMs?: number; reason?: StopReason } = {}): Promise<StopResult> {
    this.#stopping ??= this.#stop(opts.graceMs ?? this.#graceMs, opts.reason ?? 'stopped');
    return this.#stopping;
  }

  async #stop(graceMs: number, reason: StopReason): Promise<StopResult> {
    for (const t of this.#timers) clearTimeout(t);
    process.off('SIGTERM', this.#onSignal);
    process.off('SIGINT', this.#onSignal);
    this.#permits.cancelAll();
    for (const s of this.#sessions) s.wake();
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      Promise.all(this.#sessions.map((s) => s.done)).then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
    ]);
    clearTimeout(timer);
    const abandoned = finished ? 0 : this.#running.size;
    if (!finished) {
      for (const job of this.#running) job.abort();
      for (const s of this.#sessions) s.abandon();
    }
    await this.#sandbox?.close(finished ? 2000 : 0);
    const result: StopResult = { reason, jobs: this.#jobs, abandoned };
    this.#resolveStopped(result);
    this.emit('stop', result);
    return result;
  }

  /** Runs one assigned job and reports its end on the connection it came from. */
  async #runJob(conn: Connection, assign: Packet): Promise<void> {
    const [handle, fn, unique, payload] = assign.args as [Buffer, Buffer, Buffer, Buffer];
    const job = new RunningJob(conn, fn.toString(), handle.toString(), unique.toString(), payload);
    this.#running.add(job);
    const started = Date.now();
    let report: JobReport;
    try {
      const result = await this.#execute(job);
      job.send(request(PacketType.WORK_COMPLETE, job.handle, result));
      report = { fn: job.fn, handle: job.handle, server: conn.server.label, outcome: 'completed', ms: Date.now() - started };
    } catch (err) {
      const evidence: Evidence =
        err instanceof SandboxCrash ? err.evidence : { errorClass: (err as Error).name ?? 'Error', message: (err as Error).message ?? String(err) };
      job.send(request(PacketType.WORK_EXCEPTION, job.handle, encodeEvidence(evidence)));
      report = { fn: job.fn, handle: job.handle, server: conn.server.label, outcome: 'failed', ms: Date.now() - started, error: evidence };
    } finally {
      this.#running.delete(job);
    }
    this.#jobs++;
    this.emit('job', report);
    const max = this.#recycle.maxJobs;
    if (max !== undefined && this.#jobs >= max) void this.stop({ reason: 'max_jobs' });
  }

  async #execute(ctx: JobContext): Promise<Buffer> {
    const handler = this.#handlers.get(ctx.fn);
    if (handler) return resultBytes(await handler(ctx));
    if (this.#sandbox) return this.#sandbox.run(ctx);
    throw new ClientError(ClientErrorCode.INVALID_ARGUMENT, `this worker has no handler for ${ctx.fn}`);
  }
}

/**
 * Runs a worker as the whole program: stops gracefully on SIGTERM / SIGINT, then exits with 0, or with
 * EXIT_RECYCLE (75) when it stopped to recycle itself, so a supervisor starts a fresh copy.
 */
export async function runWorker(opts: WorkerOptions): Promise<never> {
  const worker = new Worker({ handleSignals: true, ...opts });
  await worker.start();
  const result = await worker.stopped;
  process.exit(result.reason === 'stopped' || result.reason === 'signal' ? 0 : EXIT_RECYCLE);
}

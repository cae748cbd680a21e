// The client: submits jobs to one of several servers, fails over when one is down, and bounds every
// wait with a timeout. It speaks standard Gearman only, so it works against gearmand too.

import { randomUUID } from 'node:crypto';
import { request } from '../protocol/encoder.js';
import { PacketType, type Packet, type PacketTypeNumber } from '../protocol/packets.js';
import { parseServers, type ServerAddress, type ServerSpec, type TlsOptions } from './address.js';
import type { Connection } from './connection.js';
import { ClientError, ClientErrorCode, isClientError, timeoutError } from './errors.js';
import { ForegroundJob } from './job.js';
import { DEFAULT_BACKOFF, ServerPool, type BackoffOptions } from './pool.js';

export type Priority = 'high' | 'normal' | 'low';

export interface ClientOptions {
  /**
   * `host:port` strings (or one comma-separated string), or `{ address, tls }` objects for servers that
   * speak TLS. Default `127.0.0.1:4730`.
   */
  servers?: string | readonly ServerSpec[];
  /** TLS for every server given as a string (`true` = the system's CAs, no client certificate). Default off. */
  tls?: TlsOptions | boolean;
  /** Opening a connection, ms. Default 5000. */
  connectTimeoutMs?: number;
  /** Waiting for the server to answer a request (JOB_CREATED, STATUS_RES, ...), ms. Default 10000. */
  requestTimeoutMs?: number;
  /** Waiting for a foreground job's result, ms. Default 300000 (5 minutes). */
  jobTimeoutMs?: number;
  /** Wait before dialling a failed server again. Default 100 ms doubling up to 10 s, with jitter. */
  reconnect?: Partial<BackoffOptions>;
  /** Largest packet accepted from a server, bytes. Default 64 MiB. */
  maxFrameBytes?: number;
}

export interface SubmitOptions {
  /** Unique key: jobs with the same key and function are coalesced by the server. Default none. */
  unique?: string;
  priority?: Priority;
  /** Overrides `jobTimeoutMs` for this job. */
  timeoutMs?: number;
}

export interface BackgroundOptions {
  /** Default: a random UUID, so a submission retried on failover cannot be queued twice on one server. */
  unique?: string;
  priority?: Priority;
  /** Run no earlier than this time (SUBMIT_JOB_EPOCH, one-second resolution; priority is then normal). */
  runAt?: Date | number;
}

export interface BackgroundJob {
  handle: string;
  /** `host:port` of the server that holds the job; pass it back to `status()`. */
  server: string;
}

export interface JobStatus {
  known: boolean;
  running: boolean;
  numerator: number;
  denominator: number;
}

export interface FunctionStatus {
  function: string;
  queued: number;
  running: number;
  workers: number;
}

const FOREGROUND: Record<Priority, PacketTypeNumber> = { high: PacketType.SUBMIT_JOB_HIGH, normal: PacketType.SUBMIT_JOB, low: PacketType.SUBMIT_JOB_LOW };
const BACKGROUND: Record<Priority, PacketTypeNumber> = {
  high: PacketType.SUBMIT_JOB_HIGH_BG,
  normal: PacketType.SUBMIT_JOB_BG,
  low: PacketType.SUBMIT_JOB_LOW_BG,
};
const WORK_TYPES = new Set<number>([
  PacketType.WORK_STATUS,
  PacketType.WORK_DATA,
  PacketType.WORK_WARNING,
  PacketType.WORK_COMPLETE,
  PacketType.WORK_FAIL,
  PacketType.WORK_EXCEPTION,
]);

export class Client {
  readonly #pool: ServerPool;
  readonly #requestTimeoutMs: number;
  readonly #jobTimeoutMs: number;
  /** Foreground jobs by connection, then handle: handles are only unique per server. */
  readonly #running = new Map<Connection, Map<string, ForegroundJob[]>>();
  #closed = false;

  constructor(opts: ClientOptions = {}) {
    this.#requestTimeoutMs = positive(opts.requestTimeoutMs, 10_000, 'requestTimeoutMs');
    this.#jobTimeoutMs = positive(opts.jobTimeoutMs, 300_000, 'jobTimeoutMs');
    this.#pool = new ServerPool(
      parseServers(opts.servers, opts.tls),
      { connectTimeoutMs: positive(opts.connectTimeoutMs, 5_000, 'connectTimeoutMs'), maxFrameBytes: opts.maxFrameBytes ?? 64 * 1024 * 1024 },
      { ...DEFAULT_BACKOFF, ...opts.reconnect },
      (conn) => this.#setup(conn),
    );
  }

  /** The servers, as `host:port`. */
  get servers(): string[] {
    return this.#pool.servers.map((s) => s.label);
  }

  /** Submits a foreground job: await it for the result; it emits `created`, `progress`, `data`, `warning`. */
  submit(fn: string, payload: Buffer | string, opts: SubmitOptions = {}): ForegroundJob {
    const job = new ForegroundJob(fn);
    const timeoutMs = positive(opts.timeoutMs, this.#jobTimeoutMs, 'timeoutMs');
    const timer = setTimeout(() => {
      job.settle(
        timeoutError(
          `job ${job.handle ?? '(not yet accepted)'} (${fn}) on ${job.server ?? 'no server yet'}`,
          timeoutMs,
          'no worker finished it in time; it may still run: raise timeoutMs or add workers',
        ),
      );
      this.#forget(job);
    }, timeoutMs);
    job.result.then(
      () => clearTimeout(timer),
      () => clearTimeout(timer),
    );
    const frame = request(FOREGROUND[opts.priority ?? 'normal'], fn, opts.unique ?? '', payload);
    this.#send(frame, `submitting a ${fn} job`, (conn, packet) => {
      if (job.done) return;
      job.handle = packet.args[0]!.toString();
      job.server = conn.server.label;
      let byHandle = this.#running.get(conn);
      if (!byHandle) {
        byHandle = new Map();
        this.#running.set(conn, byHandle);
      }
      const same = byHandle.get(job.handle);
      if (same) same.push(job);
      else byHandle.set(job.handle, [job]);
      job.emit('created', job.handle, job.server);
    }).catch((err: Error) => job.settle(err));
    return job;
  }

  /** Submits a background job; resolves once the server has accepted (and, for Lazaret, stored) it. */
  async submitBackground(fn: string, payload: Buffer | string, opts: BackgroundOptions = {}): Promise<BackgroundJob> {
    const unique = opts.unique ?? randomUUID();
    let frame: Buffer;
    if (opts.runAt !== undefined) {
      const at = opts.runAt instanceof Date ? opts.runAt.getTime() : opts.runAt;
      if (!Number.isFinite(at))
        throw new ClientError(ClientErrorCode.INVALID_ARGUMENT, `runAt must be a Date or epoch milliseconds, got ${String(opts.runAt)}`);
      frame = request(PacketType.SUBMIT_JOB_EPOCH, fn, unique, String(Math.ceil(at / 1000)), payload);
    } else {
      frame = request(BACKGROUND[opts.priority ?? 'normal'], fn, unique, payload);
    }
    let result: BackgroundJob | null = null;
    await this.#send(
      frame,
      `submitting a background ${fn} job`,
      (conn, packet) => (result = { handle: packet.args[0]!.toString(), server: conn.server.label }),
    );
    return result!;
  }

  /** GET_STATUS for a job on the server that holds it. */
  async status(job: BackgroundJob): Promise<JobStatus> {
    const conn = await this.#connect(job.server);
    const p = await conn.request(
      request(PacketType.GET_STATUS, job.handle),
      [PacketType.STATUS_RES],
      `status of ${job.handle} on ${job.server}`,
      this.#requestTimeoutMs,
    );
    const [, known, running, num, den] = p.args.map((a) => a.toString());
    return { known: known === '1', running: running === '1', numerator: Number(num) || 0, denominator: Number(den) || 0 };
  }

  /** The admin `status` of one server (default: the first): each function's queue, running jobs and workers. */
  async functions(server?: string): Promise<FunctionStatus[]> {
    const conn = await this.#connect(server ?? this.#pool.servers[0]!.label);
    const lines = await conn.requestText('status', this.#requestTimeoutMs);
    return lines.map((line) => {
      const [fn = '', queued, running, workers] = line.split('\t');
      return { function: fn, queued: Number(queued) || 0, running: Number(running) || 0, workers: Number(workers) || 0 };
    });
  }

  /** Closes every connection; jobs still waiting reject with LAZ_CLIENT_CLOSED. */
  close(): void {
    this.#closed = true;
    this.#pool.close();
  }

  async #setup(conn: Connection): Promise<void> {
    // Without it, gearmand turns WORK_EXCEPTION into WORK_FAIL and the reason is lost.
    await conn.request(
      request(PacketType.OPTION_REQ, 'exceptions'),
      [PacketType.OPTION_RES],
      `OPTION_REQ exceptions on ${conn.server.label}`,
      this.#requestTimeoutMs,
    );
    conn.onPacket = (p) => this.#onPacket(conn, p);
    conn.once('close', (err) => {
      const jobs = this.#running.get(conn);
      this.#running.delete(conn);
      for (const list of jobs?.values() ?? []) {
        for (const job of list) {
          job.settle(
            new ClientError(
              ClientErrorCode.CONNECTION_LOST,
              `lost the connection to ${conn.server.label} while job ${job.handle} (${job.fn}) ran: ${err?.message ?? 'closed'}`,
              { hint: 'the job may or may not have run; submit it again if it is safe to repeat' },
            ),
          );
        }
      }
    });
  }

  #onPacket(conn: Connection, p: Packet): void {
    if (!WORK_TYPES.has(p.type)) return;
    const byHandle = this.#running.get(conn);
    const handle = p.args[0]!.toString();
    const jobs = byHandle?.get(handle);
    if (!jobs) return;
    for (const job of [...jobs]) {
      if (job.onPacket(p)) byHandle!.delete(handle);
    }
  }

  #forget(job: ForegroundJob): void {
    for (const byHandle of this.#running.values()) {
      const list = job.handle === null ? undefined : byHandle.get(job.handle);
      if (!list) continue;
      const rest = list.filter((j) => j !== job);
      if (rest.length === 0) byHandle.delete(job.handle!);
      else byHandle.set(job.handle!, rest);
    }
  }

  /**
   * Sends a submission to the first server that takes it, in round-robin order with failed servers last.
   * An unreachable server, a dropped connection or a request timeout moves on to the next; an ERROR from
   * the server (queue full, payload too large) is the answer and is thrown.
   */
  async #send(frame: Buffer, what: string, onCreated: (conn: Connection, p: Packet) => void): Promise<void> {
    const tried: string[] = [];
    for (const server of this.#pool.order()) {
      if (this.#closed) break;
      try {
        const conn = await this.#pool.get(server);
        await conn.request(frame, [PacketType.JOB_CREATED], `${what} on ${server.label}`, this.#requestTimeoutMs, (p) => onCreated(conn, p));
        return;
      } catch (err) {
        if (isClientError(err, ClientErrorCode.SERVER_ERROR)) throw err;
        this.#pool.failed(server, err as Error);
        tried.push(`${server.label}: ${(err as Error).message}`);
      }
    }
    if (this.#closed) throw new ClientError(ClientErrorCode.CLIENT_CLOSED, `${what}: the client was closed`);
    throw new ClientError(ClientErrorCode.NO_SERVER, `${what}: no server took it (${tried.join('; ')})`, {
      hint: 'start a server, or check the addresses in servers',
    });
  }

  async #connect(label: string): Promise<Connection> {
    const server: ServerAddress | undefined = this.#pool.servers.find((s) => s.label === label);
    if (!server)
      throw new ClientError(
        ClientErrorCode.INVALID_ARGUMENT,
        `${label} is not one of this client's servers (${this.#pool.servers.map((s) => s.label).join(', ')})`,
      );
    return this.#pool.get(server);
  }
}

export function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(value > 0) || !Number.isFinite(value))
    throw new ClientError(ClientErrorCode.INVALID_ARGUMENT, `${name} must be a positive number of milliseconds, got ${value}`);
  return value;
}

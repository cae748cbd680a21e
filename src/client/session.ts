// One worker connection to one server: register, then GRAB_JOB_UNIQ -> run -> WORK_COMPLETE, and
// PRE_SLEEP until NOOP when the queue is empty. A connection that fails is reopened with backoff until
// the worker stops. It grabs only while it holds a permit, so the worker never takes more jobs than it
// can run at once; every job it grabbed is run, even when a stop began meanwhile.

import { request } from '../protocol/encoder.js';
import { PacketType, type Packet } from '../protocol/packets.js';
import type { ServerAddress } from './address.js';
import { Connection, type ConnectionOptions } from './connection.js';
import { ClientError, ClientErrorCode } from './errors.js';
import { backoffMs, type BackoffOptions } from './pool.js';
import type { Semaphore } from './semaphore.js';

export interface SessionHost {
  readonly stopping: boolean;
  readonly permits: Semaphore;
  readonly functions: readonly string[];
  readonly clientId: string;
  readonly connection: ConnectionOptions;
  readonly requestTimeoutMs: number;
  readonly idleRegrabMs: number;
  readonly reconnect: BackoffOptions;
  runJob(conn: Connection, assign: Packet): Promise<void>;
  onDisconnect(server: ServerAddress, err: Error): void;
}

const GRAB = request(PacketType.GRAB_JOB_UNIQ);
const PRE_SLEEP = request(PacketType.PRE_SLEEP);

export class Session {
  readonly #host: SessionHost;
  readonly server: ServerAddress;
  #conn: Connection | null = null;
  #wake: (() => void) | null = null;
  #firstTry!: () => void;
  /** Resolves after the first attempt to connect and register, whatever its outcome. */
  readonly firstTry = new Promise<void>((resolve) => (this.#firstTry = resolve));
  /** Resolves when the session has ended (the worker stopped and its job, if any, finished). */
  readonly done: Promise<void>;

  constructor(host: SessionHost, server: ServerAddress) {
    this.#host = host;
    this.server = server;
    this.done = this.#loop();
  }

  get connected(): boolean {
    return this.#conn !== null && !this.#conn.closed;
  }

  /** Ends a sleep or a backoff wait early (the worker is stopping). */
  wake(): void {
    this.#wake?.();
  }

  /** Drops the connection at once: its running job, if any, is left to the server's crash handling. */
  abandon(): void {
    this.#conn?.close();
  }

  async #loop(): Promise<void> {
    let failures = 0;
    while (!this.#host.stopping) {
      try {
        const conn = await Connection.open(this.server, this.#host.connection);
        this.#conn = conn;
        await this.#register(conn);
        failures = 0;
        this.#firstTry();
        await this.#serve(conn);
      } catch (err) {
        this.#firstTry();
        if (this.#host.stopping) break;
        failures++;
        this.#host.onDisconnect(this.server, err as Error);
        await this.#pause(backoffMs(failures, this.#host.reconnect));
      } finally {
        this.#conn?.close();
        this.#conn = null;
      }
    }
    this.#firstTry();
  }

  async #register(conn: Connection): Promise<void> {
    conn.send(request(PacketType.SET_CLIENT_ID, this.#host.clientId));
    for (const fn of this.#host.functions) conn.send(request(PacketType.CAN_DO, fn));
    // The echo answers after the server has handled everything sent before it.
    await conn.request(
      request(PacketType.ECHO_REQ, 'lazaret-worker'),
      [PacketType.ECHO_RES],
      `registering with ${this.server.label}`,
      this.#host.requestTimeoutMs,
    );
  }

  async #serve(conn: Connection): Promise<void> {
    conn.onPacket = (p) => {
      if (p.type === PacketType.NOOP) this.#wake?.();
    };
    const lost = (): void => this.#wake?.();
    conn.once('close', lost);
    while (!this.#host.stopping) {
      if (!(await this.#host.permits.acquire())) return;
      if (this.#host.stopping) return this.#host.permits.release();
      let p: Packet;
      try {
        p = await conn.request(GRAB, [PacketType.JOB_ASSIGN_UNIQ, PacketType.NO_JOB], `GRAB_JOB_UNIQ on ${this.server.label}`, this.#host.requestTimeoutMs);
      } catch (err) {
        this.#host.permits.release();
        throw err;
      }
      if (p.type === PacketType.JOB_ASSIGN_UNIQ) {
        try {
          await this.#host.runJob(conn, p);
        } finally {
          this.#host.permits.release();
        }
        continue;
      }
      this.#host.permits.release();
      // Listening before PRE_SLEEP goes out: the NOOP may follow at once.
      const woken = this.#pause(this.#host.idleRegrabMs);
      conn.send(PRE_SLEEP);
      await woken;
      if (conn.closed) throw new ClientError(ClientErrorCode.CONNECTION_LOST, `connection to ${this.server.label} closed while the worker slept`);
    }
  }

  /** Waits ms, or until woken (NOOP, connection lost, stop). */
  #pause(ms: number): Promise<void> {
    // A stop that came while a request was in flight found nothing to wake.
    if (this.#host.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        if (self.#wake === done) self.#wake = null;
        resolve();
      }
      this.#wake = done;
    });
  }
}

// One TCP connection: socket, decoder, ordered replies, backpressure. Packets are routed to the handler
// table; this file is the only place bytes reach the socket.

import type { Socket } from 'node:net';
import { isLoopback, peerAddress } from '../access.js';
import type { Logger } from 'pino';
import type { TimerRef } from '../core/clock.js';
import type { Job, Waiter, WorkerConn, WorkUpdate } from '../core/job.js';
import type { Worker } from '../core/worker.js';
import { ErrorCode, isLazaretError } from '../errors.js';
import { Decoder } from '../protocol/decoder.js';
import { errorPacket, NOOP, response } from '../protocol/encoder.js';
import { PacketType, type Frame } from '../protocol/packets.js';
import type { InputBudget } from './budget.js';
import type { ServerContext } from './context.js';
import { dispatch } from './handlers/index.js';

/** A reply whose bytes are not known yet (it waits on a commit); later replies queue behind it. */
interface Slot {
  data: Buffer | string | null;
  ready: boolean;
}

export class Connection implements Waiter, WorkerConn {
  readonly id: number;
  readonly address: string;
  /** The peer's and our ends of the socket: on the same host they find the peer's process (peer-process.ts). */
  readonly peerPort: number;
  readonly localPort: number;
  readonly sameHost: boolean;
  pid: number | null = null;
  pgid: number | null = null;
  readonly loopback: boolean;
  readonly connectedAt: number;
  readonly ctx: ServerContext;
  readonly log: Logger;
  clientId = '-';
  exceptions: boolean;
  authorized: boolean;
  worker: Worker | null = null;
  /** Foreground jobs this connection waits on. */
  readonly attached = new Set<Job>();
  readonly #socket: Socket;
  readonly #decoder: Decoder;
  readonly #slots: Slot[] = [];
  #out: (Buffer | string)[] = [];
  #flushScheduled = false;
  #closed = false;
  #paused = false;
  readonly #budget: InputBudget;
  /** Bytes of the input budget held for the unfinished packet. */
  #reserved = 0;
  #frameTimer: TimerRef | null = null;
  #identifyTimer: TimerRef | null = null;

  constructor(id: number, socket: Socket, ctx: ServerContext, budget: InputBudget) {
    this.id = id;
    this.#socket = socket;
    this.ctx = ctx;
    this.address = peerAddress(socket.remoteAddress);
    this.connectedAt = ctx.engine.clock.now();
    this.loopback = isLoopback(socket.remoteAddress);
    this.peerPort = socket.remotePort ?? 0;
    this.localPort = socket.localPort ?? 0;
    this.sameHost = this.loopback || (socket.remoteAddress !== undefined && socket.remoteAddress === socket.localAddress);
    this.authorized = this.loopback && ctx.config.trustLoopback;
    this.exceptions = ctx.config.exceptionsByDefault;
    this.log = ctx.log.child({ conn: id, peer: this.address });
    this.#decoder = new Decoder({ maxFrameBytes: ctx.config.limits.maxFrameBytes, maxLineBytes: ctx.config.limits.maxLineBytes });
    this.#budget = budget;
    const identifyMs = ctx.config.limits.identifyTimeoutMs;
    if (identifyMs > 0) {
      this.#identifyTimer = ctx.engine.clock.setTimer(identifyMs, () =>
        this.#timedOut(ErrorCode.IDENTIFY_TIMEOUT, `No client, worker or admin request within ${identifyMs} ms of connecting`),
      );
    }
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => this.log.debug({ err }, 'socket error'));
    socket.on('close', () => this.#onClose());
    socket.on('drain', () => this.#maybeResume());
  }

  /** WorkerConn: the name attempts are recorded under: SET_CLIENT_ID, else host:port and its pid if known. */
  get name(): string {
    if (this.clientId !== '-') return this.clientId;
    const host = this.address.includes(':') ? `[${this.address}]` : this.address;
    return `${host}:${this.peerPort}${this.pid === null ? '' : ` pid ${this.pid}`}`;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The peer sent a request that makes it a client, a worker or an admin: it may now stay idle. */
  identify(): void {
    this.#identifyTimer?.cancel();
    this.#identifyTimer = null;
  }

  // ------------------------------------------------------------- input

  #onData(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (err) {
      this.#protocolError(err);
      return;
    }
    for (const frame of frames) {
      if (this.#closed) return;
      try {
        dispatch(this, frame);
      } catch (err) {
        this.#protocolError(err);
        return;
      }
    }
    const failure = this.#decoder.failure;
    if (failure && !this.#closed) {
      this.#protocolError(failure);
      return;
    }
    if (this.#closed || !this.#holdUnfinished(frames.length > 0)) return;
    // Read only as fast as we answer: a peer that pipelines faster than the store commits waits.
    if (this.#slots.length > this.ctx.config.limits.maxPendingReplies && !this.#paused) {
      this.#paused = true;
      this.#socket.pause();
    }
  }

  /**
   * Bounds what an unfinished packet may hold: its declared size is reserved from the budget shared by
   * all connections, and it must be complete within frameTimeoutMs. False when the connection was closed.
   */
  #holdUnfinished(progressed: boolean): boolean {
    const want = this.#decoder.unfinished;
    if (want !== this.#reserved) {
      this.#budget.release(this.#reserved);
      this.#reserved = 0;
      if (want > 0 && !this.#budget.reserve(want)) {
        this.log.warn(
          { code: ErrorCode.INPUT_BUDGET, bytes: want, used: this.#budget.used, limit: this.#budget.limit },
          'large packet refused: unfinished packets already hold the input budget; closing the connection',
        );
        this.reply(errorPacket('SERVER_BUSY', `Server busy: ${want} byte packet refused, input budget of ${this.#budget.limit} bytes in use`));
        this.end();
        return false;
      }
      this.#reserved = want;
    }
    // The deadline runs per packet: a steady pipeline that always ends mid-packet is making progress.
    if (progressed || want === 0) {
      this.#frameTimer?.cancel();
      this.#frameTimer = null;
    }
    if (want > 0 && this.#frameTimer === null) this.#armFrameDeadline();
    return true;
  }

  #armFrameDeadline(): void {
    const ms = this.ctx.config.limits.frameTimeoutMs;
    if (ms === 0) return;
    this.#frameTimer = this.ctx.engine.clock.setTimer(ms, () => {
      // While we do not read (replies wait on the store), the packet cannot be finished: not its fault.
      if (this.#paused) return this.#armFrameDeadline();
      this.#timedOut(ErrorCode.FRAME_TIMEOUT, `Packet not completed within ${ms} ms (${this.#decoder.pending} of ${this.#decoder.unfinished} bytes received)`);
    });
  }

  #timedOut(code: typeof ErrorCode.FRAME_TIMEOUT | typeof ErrorCode.IDENTIFY_TIMEOUT, message: string): void {
    if (this.#closed) return;
    this.log.warn({ code }, `${message}; closing the connection`);
    this.reply(errorPacket('TIMEOUT', message));
    this.end();
  }

  /** Answers a malformed stream with an ERROR and closes this connection; the server carries on. */
  #protocolError(err: unknown): void {
    if (!isLazaretError(err)) {
      this.log.error({ err }, 'internal error while handling a packet; closing the connection');
      this.reply(errorPacket('SERVER_ERROR', 'Internal error; see the server log'));
    } else {
      this.log.warn({ code: err.code, reason: err.message }, 'protocol error; closing the connection');
      switch (err.code) {
        case ErrorCode.BAD_MAGIC:
          this.reply(errorPacket('INVALID_MAGIC', err.message));
          break;
        case ErrorCode.UNKNOWN_PACKET:
          this.reply(errorPacket('INVALID_COMMAND', err.message));
          break;
        case ErrorCode.FRAME_TOO_LARGE:
          this.reply(errorPacket('ARGUMENT_TOO_LARGE', err.message));
          break;
        case ErrorCode.LINE_TOO_LONG:
          this.reply(`ERR LINE_TOO_LONG ${err.message.replaceAll(' ', '+')}\r\n`);
          break;
        default:
          this.reply(errorPacket('INVALID_PACKET', err.message));
      }
    }
    this.end();
  }

  // ------------------------------------------------------------- output

  /** Queues a reply behind any reply still waiting on a commit. */
  reply(data: Buffer | string): void {
    if (this.#closed) return;
    if (this.#slots.length === 0) this.#write(data);
    else this.#slots.push({ data, ready: true });
  }

  /** Reserves the next reply's place; call the returned function with its bytes (or null for none). */
  defer(): (data: Buffer | string | null) => void {
    const slot: Slot = { data: null, ready: false };
    this.#slots.push(slot);
    return (data) => {
      slot.data = data;
      slot.ready = true;
      this.#drainSlots();
    };
  }

  #drainSlots(): void {
    while (this.#slots.length > 0 && this.#slots[0]!.ready) {
      const slot = this.#slots.shift()!;
      if (slot.data !== null && !this.#closed) this.#write(slot.data);
    }
    this.#maybeResume();
  }

  #write(data: Buffer | string): void {
    this.#out.push(data);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      process.nextTick(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#closed || this.#out.length === 0) return;
    const out = this.#out;
    this.#out = [];
    // One write per turn: admin replies must arrive in one piece (gearadmin stops reading after a few ms of silence).
    const buf = out.length === 1 ? out[0]! : Buffer.concat(out.map((d) => (typeof d === 'string' ? Buffer.from(d) : d)));
    this.#socket.write(buf);
    if (this.#socket.writableLength > this.ctx.config.limits.maxOutputBytes) {
      this.log.warn({ code: ErrorCode.OUTPUT_OVERFLOW, buffered: this.#socket.writableLength }, 'peer is not reading its replies; closing the connection');
      this.#socket.destroy();
    }
  }

  #maybeResume(): void {
    if (this.#paused && this.#slots.length <= this.ctx.config.limits.maxPendingReplies / 2 && !this.#closed) {
      this.#paused = false;
      this.#socket.resume();
    }
  }

  /** Flushes what is queued, then closes. */
  end(): void {
    if (this.#closed) return;
    this.#flush();
    this.#socket.end();
    this.#socket.destroySoon?.();
    this.#onClose();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  // ------------------------------------------------------------- Waiter and WorkerConn

  wake(): void {
    this.reply(NOOP);
  }

  deliver(job: Job, update: WorkUpdate): void {
    const h = job.handle;
    switch (update.kind) {
      case 'status':
        this.reply(response(PacketType.WORK_STATUS, h, update.numerator, update.denominator));
        return;
      case 'data':
        this.reply(response(PacketType.WORK_DATA, h, update.data));
        return;
      case 'warning':
        this.reply(response(PacketType.WORK_WARNING, h, update.data));
        return;
      case 'complete':
        this.reply(response(PacketType.WORK_COMPLETE, h, update.data));
        break;
      case 'fail':
        this.reply(response(PacketType.WORK_FAIL, h));
        break;
      case 'exception':
        // Clients without the exceptions option get a WORK_FAIL with the bare handle (README, Where Lazaret differs: B8).
        this.reply(this.exceptions ? response(PacketType.WORK_EXCEPTION, h, update.data) : response(PacketType.WORK_FAIL, h));
        break;
    }
    this.attached.delete(job);
  }

  // ------------------------------------------------------------- close

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#frameTimer?.cancel();
    this.#identifyTimer?.cancel();
    this.#budget.release(this.#reserved);
    this.#reserved = 0;
    const engine = this.ctx.engine;
    for (const job of this.attached) engine.detach(job, this);
    this.attached.clear();
    if (this.worker) engine.removeWorker(this.worker);
    this.ctx.connections.delete(this);
    this.log.debug('connection closed');
  }
}

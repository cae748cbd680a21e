// One TCP connection to one Gearman server: frames in and out through the shared codec, and the
// request/response pairing. Gearman answers the requests of a connection in order, so pending requests
// are a FIFO; packets that answer no request (WORK_* for a client, NOOP for a worker) go to onPacket.
// A request that times out closes the connection: its late answer would otherwise pair with the next one.

import { EventEmitter } from 'node:events';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Decoder } from '../protocol/decoder.js';
import { PacketType, type Packet, type PacketTypeNumber } from '../protocol/packets.js';
import type { ServerAddress } from './address.js';
import { ClientError, ClientErrorCode, timeoutError } from './errors.js';

export interface ConnectionOptions {
  connectTimeoutMs: number;
  maxFrameBytes: number;
}

interface Pending {
  expect: readonly PacketTypeNumber[] | 'text';
  /** Runs before the next packet is read, so a caller can route what follows (a handle's WORK_*). */
  onAnswer: ((packet: Packet) => void) | undefined;
  what: string;
  lines: string[];
  resolve: (value: Packet | string[]) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | null;
}

export class Connection extends EventEmitter<{ close: [err: Error | null] }> {
  readonly server: ServerAddress;
  /** Packets that answer no pending request. */
  onPacket: (packet: Packet) => void = () => undefined;
  readonly #socket: Socket;
  readonly #decoder: Decoder;
  readonly #pending: Pending[] = [];
  #closed: Error | null = null;
  #out: Buffer[] = [];

  private constructor(server: ServerAddress, socket: Socket, opts: ConnectionOptions) {
    super();
    this.server = server;
    this.#socket = socket;
    this.#decoder = new Decoder({ maxFrameBytes: opts.maxFrameBytes, maxLineBytes: 64 * 1024 });
    socket.setNoDelay(true);
    // Keeps idle workers' connections alive through NAT and firewalls, and finds dead peers.
    socket.setKeepAlive(true, 30_000);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) =>
      this.close(new ClientError(ClientErrorCode.CONNECTION_LOST, `connection to ${server.label} failed: ${err.message}`, { cause: err })),
    );
    socket.on('close', () => this.close(new ClientError(ClientErrorCode.CONNECTION_LOST, `connection to ${server.label} closed by the server`)));
  }

  static open(server: ServerAddress, opts: ConnectionOptions): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const tls = server.tls;
      const socket =
        tls === null
          ? netConnect({ host: server.host, port: server.port })
          : tlsConnect({
              host: server.host,
              port: server.port,
              ca: tls.ca,
              cert: tls.cert,
              key: tls.key,
              servername: tls.servername ?? (isIP(server.host) ? undefined : server.host),
            });
      const fail = (err: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      const timer = setTimeout(
        () => fail(timeoutError(`connecting to ${server.label}`, opts.connectTimeoutMs, 'is the server up and reachable from here?')),
        opts.connectTimeoutMs,
      );
      socket.once('error', (err) => fail(new ClientError(ClientErrorCode.NO_SERVER, `cannot connect to ${server.label}: ${err.message}`, { cause: err })));
      socket.once(tls === null ? 'connect' : 'secureConnect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new Connection(server, socket, opts));
      });
    });
  }

  get closed(): boolean {
    return this.#closed !== null;
  }

  send(frame: Buffer): void {
    if (this.#closed) throw this.#closed;
    this.#write(frame);
  }

  /**
   * Frames written in one turn of the event loop leave in one write: a worker's WORK_COMPLETE and its
   * next GRAB_JOB_UNIQ, a client's burst of submissions.
   */
  #write(frame: Buffer): void {
    if (this.#out.length === 0) process.nextTick(this.#flush);
    this.#out.push(frame);
  }

  readonly #flush = (): void => {
    const out = this.#out;
    if (out.length === 0 || this.#closed) return;
    this.#out = [];
    this.#socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
  };

  /** Sends a request and resolves with the packet that answers it (one of `expect`); ERROR rejects. */
  request(frame: Buffer, expect: readonly PacketTypeNumber[], what: string, timeoutMs: number, onAnswer?: (packet: Packet) => void): Promise<Packet> {
    return this.#enqueue(frame, expect, what, timeoutMs, onAnswer) as Promise<Packet>;
  }

  /** An admin text command whose answer is lines ending with ".". */
  requestText(line: string, timeoutMs: number): Promise<string[]> {
    return this.#enqueue(Buffer.from(`${line}\n`), 'text', `admin "${line}" on ${this.server.label}`, timeoutMs) as Promise<string[]>;
  }

  #enqueue(frame: Buffer, expect: Pending['expect'], what: string, timeoutMs: number, onAnswer?: (packet: Packet) => void): Promise<Packet | string[]> {
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise((resolve, reject) => {
      const p: Pending = { expect, onAnswer, what, lines: [], resolve, reject, timer: null };
      p.timer = setTimeout(() => this.close(timeoutError(what, timeoutMs, 'the server may be overloaded or stuck; the connection was closed')), timeoutMs);
      this.#pending.push(p);
      this.#write(frame);
    });
  }

  #onData(chunk: Buffer): void {
    let frames;
    try {
      frames = this.#decoder.push(chunk);
    } catch (err) {
      this.close(new ClientError(ClientErrorCode.CONNECTION_LOST, `bad data from ${this.server.label}: ${(err as Error).message}`, { cause: err }));
      return;
    }
    for (const frame of frames) {
      if (this.#closed) return;
      const head = this.#pending[0];
      if (frame.magic === 'TEXT') {
        if (head?.expect !== 'text') continue;
        if (frame.line === '.') this.#settle(null, head.lines);
        else head.lines.push(frame.line);
        continue;
      }
      // Argument buffers are views into the decoder's input: keep copies.
      const packet: Packet = { magic: frame.magic, type: frame.type, args: frame.args.map((a) => Buffer.from(a)) };
      if (head && head.expect !== 'text' && (head.expect.includes(packet.type) || packet.type === PacketType.ERROR)) {
        if (packet.type === PacketType.ERROR && !head.expect.includes(PacketType.ERROR)) {
          const [code, text] = packet.args.map((a) => a.toString());
          this.#settle(new ClientError(ClientErrorCode.SERVER_ERROR, `${head.what}: ${this.server.label} answered ERROR ${code}: ${text}`));
        } else this.#settle(null, packet);
        continue;
      }
      if (packet.type === PacketType.ERROR) {
        const [code, text] = packet.args.map((a) => a.toString());
        this.close(new ClientError(ClientErrorCode.SERVER_ERROR, `${this.server.label} sent ERROR ${code}: ${text}`));
        return;
      }
      this.onPacket(packet);
    }
  }

  #settle(err: Error | null, value?: Packet | string[]): void {
    const p = this.#pending.shift()!;
    if (p.timer) clearTimeout(p.timer);
    if (err) return p.reject(err);
    if (p.onAnswer && !Array.isArray(value)) p.onAnswer(value!);
    p.resolve(value!);
  }

  close(err: Error | null = null): void {
    if (this.#closed) return;
    this.#closed = err ?? new ClientError(ClientErrorCode.CLIENT_CLOSED, `connection to ${this.server.label} was closed`);
    if (err === null) {
      // Our own close: what is queued (a last WORK_COMPLETE) goes out first.
      const out = this.#out;
      this.#out = [];
      this.#socket.end(Buffer.concat(out), () => this.#socket.destroy());
    } else this.#socket.destroy();
    for (const p of this.#pending.splice(0)) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(this.#closed);
    }
    this.emit('close', err);
  }
}

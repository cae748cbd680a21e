// A lean Gearman peer for the load generator: the project's own codec (src/protocol) over a plain TCP
// socket. Everything sent during one tick leaves in one write, so a peer that answers many frames of one
// read replies with one segment, as real pipelined clients do.

import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { Decoder } from '../../src/protocol/decoder.js';
import { encodePacket, type Arg } from '../../src/protocol/encoder.js';
import { PacketType, type Packet, type PacketTypeNumber } from '../../src/protocol/packets.js';

export { PacketType };
export type { Packet };

export const req = (type: PacketTypeNumber, ...args: Arg[]): Buffer => encodePacket('REQ', type, args);

/**
 * SUBMIT_JOB_BG with a fresh 36-character unique key, as libgearman sends for every background job
 * (libgearman/add.cc generates a UUID). Without one, gearmand+libsqlite3 stores every job under the same
 * key (INSERT OR REPLACE): it keeps one row and loses the rest, and its figures mean nothing.
 */
export function backgroundSubmitter(fn: string, payload: Buffer): () => Buffer {
  const prefix = randomUUID().slice(0, 24);
  let n = 0;
  return () => req(PacketType.SUBMIT_JOB_BG, fn, prefix + (n++).toString(16).padStart(12, '0'), payload);
}

/** Frames that never change, encoded once. */
export const GRAB_JOB = req(PacketType.GRAB_JOB);
export const PRE_SLEEP = req(PacketType.PRE_SLEEP);

export class Peer {
  readonly socket: Socket;
  readonly #decoder = new Decoder({ maxFrameBytes: 64 << 20, maxLineBytes: 1 << 20 });
  #out: Buffer[] = [];
  #scheduled = false;
  #echo: (() => void)[] = [];
  /** Called for every binary frame received (ERROR included); ECHO_RES of echo() is kept back. */
  onPacket: (p: Packet) => void = () => undefined;
  /** Called once if the server closes the connection or it fails. */
  onClose: (why: string) => void = () => undefined;
  errors = 0;
  lastError = '';
  closed = false;
  #closing = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => this.#lost(err.message));
    socket.on('close', () => this.#lost('closed by the server'));
  }

  static async open(port: number, host = '127.0.0.1'): Promise<Peer> {
    const socket = connect({ port, host });
    await once(socket, 'connect');
    return new Peer(socket);
  }

  /** Queues bytes; everything queued in this tick goes out in one write. */
  send(buf: Buffer): void {
    if (this.closed) return;
    this.#out.push(buf);
    if (!this.#scheduled) {
      this.#scheduled = true;
      process.nextTick(this.#flush);
    }
  }

  /** Resolves once the server has handled everything sent before (ECHO_REQ answers in order). */
  echo(): Promise<void> {
    return new Promise((resolve) => {
      this.#echo.push(resolve);
      this.send(req(PacketType.ECHO_REQ, 'bench'));
    });
  }

  close(): void {
    this.#closing = true;
    this.closed = true;
    this.socket.destroy();
  }

  #flush = (): void => {
    this.#scheduled = false;
    const out = this.#out;
    if (out.length === 0 || this.closed) return;
    this.#out = [];
    this.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
  };

  #onData(chunk: Buffer): void {
    const frames = this.#decoder.push(chunk);
    for (const f of frames) {
      if (f.magic === 'TEXT') continue;
      if (f.type === PacketType.ECHO_RES && this.#echo.length > 0) {
        this.#echo.shift()!();
        continue;
      }
      if (f.type === PacketType.ERROR) {
        this.errors++;
        this.lastError = f.args.map((a) => a.toString()).join(': ');
      }
      this.onPacket(f);
    }
  }

  #lost(why: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.closed = true;
    this.onClose(why);
  }
}

export async function openPeers(port: number, n: number): Promise<Peer[]> {
  return Promise.all(Array.from({ length: n }, () => Peer.open(port)));
}

export function closeAll(peers: Iterable<Peer>): void {
  for (const p of peers) p.close();
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves when done() is called, rejects when fail() is called or after timeoutMs. */
export function latch(timeoutMs: number, what: string): { promise: Promise<void>; done: () => void; fail: (why: string) => void } {
  let done!: () => void;
  let fail!: (why: string) => void;
  const promise = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no end after ${timeoutMs} ms`)), timeoutMs);
    done = () => {
      clearTimeout(timer);
      resolve();
    };
    fail = (why) => {
      clearTimeout(timer);
      reject(new Error(`${what}: ${why}`));
    };
  });
  return { promise, done, fail };
}

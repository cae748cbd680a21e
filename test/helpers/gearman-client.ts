// A raw Gearman peer for tests, speaking through the project's own codec over a real TCP socket
// It records every frame it receives and lets a test wait for the next one that matches.

import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { Decoder } from '../../src/protocol/decoder.js';
import { encodePacket, type Arg } from '../../src/protocol/encoder.js';
import { PacketType, packetName, type Packet, type PacketTypeName } from '../../src/protocol/packets.js';

export interface Received {
  name: PacketTypeName | 'TEXT';
  type: number;
  args: Buffer[];
  /** args as UTF-8 strings, for assertions. */
  text: string[];
}

export class RawPeer {
  readonly socket: Socket;
  readonly received: Received[] = [];
  #decoder = new Decoder({ maxFrameBytes: 1 << 30, maxLineBytes: 1 << 20 });
  #cursor = 0;
  #waiters: (() => void)[] = [];
  #text = '';
  closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('close', () => {
      this.closed = true;
      this.#notify();
    });
    socket.on('error', () => undefined);
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<RawPeer> {
    const socket = connect({ port, host, noDelay: true });
    await once(socket, 'connect');
    return new RawPeer(socket);
  }

  #onData(chunk: Buffer): void {
    // Server replies are binary (start with NUL) or admin text; admin text is gathered raw.
    if (chunk[0] !== 0 && this.#decoder.pending === 0) {
      this.#text += chunk.toString('utf8');
    } else {
      for (const f of this.#decoder.push(chunk)) {
        const p = f as Packet;
        const args = p.args;
        this.received.push({ name: packetName(p.type) as PacketTypeName, type: p.type, args, text: args.map((a) => a.toString()) });
      }
    }
    this.#notify();
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  async #changed(timeoutMs: number, what: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  send(type: PacketTypeName, ...args: Arg[]): void {
    this.socket.write(encodePacket('REQ', PacketType[type], args));
  }

  write(data: Buffer | string): void {
    this.socket.write(data);
  }

  /** Next received packet not yet consumed, optionally of the given name. */
  async next(name?: PacketTypeName, timeoutMs = 5000): Promise<Received> {
    for (;;) {
      while (this.#cursor < this.received.length) {
        const r = this.received[this.#cursor++]!;
        if (name === undefined || r.name === name) return r;
        if (name !== 'NOOP' && r.name === 'NOOP') continue;
        throw new Error(`expected ${name}, got ${r.name} ${JSON.stringify(r.text)}`);
      }
      if (this.closed) throw new Error(`connection closed while waiting for ${name ?? 'a packet'}`);
      await this.#changed(timeoutMs, name ?? 'a packet');
    }
  }

  /** Sends a request and returns the next packet. */
  async request(type: PacketTypeName, args: Arg[], expect?: PacketTypeName): Promise<Received> {
    this.send(type, ...args);
    return this.next(expect);
  }

  /** Sends an admin line and resolves with the raw reply (a listing through its `.` line, or one line). */
  async admin(line: string, timeoutMs = 5000): Promise<string> {
    this.#text = '';
    this.socket.write(`${line}\r\n`);
    for (;;) {
      const t = this.#text;
      if (t.startsWith('OK') || t.startsWith('ERR')) {
        if (t.endsWith('\n')) return t;
      } else if (t === '.\n' || t.endsWith('\n.\n')) return t;
      if (this.closed) throw new Error(`connection closed while waiting for the reply to ${line}; got ${JSON.stringify(t)}`);
      await this.#changed(timeoutMs, `the reply to ${line}`);
    }
  }

  async waitClosed(timeoutMs = 5000): Promise<void> {
    while (!this.closed) await this.#changed(timeoutMs, 'the connection to close');
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A worker loop for tests: grabs and answers with the given function until closed. */
export async function rawWorker(
  port: number,
  fn: string,
  work: (payload: Buffer, peer: RawPeer, handle: string) => Promise<Buffer | null> | Buffer | null,
): Promise<RawPeer> {
  const peer = await RawPeer.connect(port);
  peer.send('CAN_DO', fn);
  void (async () => {
    try {
      for (;;) {
        peer.send('GRAB_JOB');
        const r = await peer.next(undefined, 60_000);
        if (r.name === 'NO_JOB') {
          peer.send('PRE_SLEEP');
          await peer.next('NOOP', 60_000);
          continue;
        }
        if (r.name !== 'JOB_ASSIGN') continue;
        const [handle, , payload] = r.args;
        const out = await work(payload!, peer, handle!.toString());
        if (out !== null) peer.send('WORK_COMPLETE', handle!, out);
      }
    } catch {
      // closed
    }
  })();
  return peer;
}

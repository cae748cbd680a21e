// Workload "restart-1m": how long a server with a large durable backlog takes, after a crash, to hand a
// worker its first job. The caller fills the store (submitting, or seeding gearmand's queue table) and
// SIGKILLs the server; this starts it again on the same store and port and times from the spawn to the
// first JOB_ASSIGN a worker receives. The worker connects as soon as the port accepts, registers, and asks
// for a job every few milliseconds until one comes (NO_JOB while the server is still loading is normal).

import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Decoder } from '../src/protocol/decoder.js';
import { GRAB_JOB, PacketType, req, sleep } from './lib/peer.js';

export interface FirstJobResult {
  /** Spawn to the first accepted connection. */
  listenMs: number;
  /** Spawn to the first JOB_ASSIGN. */
  firstJobMs: number;
  /** NO_JOB answers met before the first job (the server listened before its queue was ready). */
  noJobs: number;
}

/** Polling period for the port and for GRAB_JOB after a NO_JOB: the resolution of the figure. */
const POLL_MS = 5;

/**
 * Times from `spawnedAt` (performance.now() just before the spawn) to the first connection and the first
 * JOB_ASSIGN for `fn` on 127.0.0.1:port; fails after timeoutMs or if `alive` turns false.
 */
export async function firstJobAfterStart(port: number, fn: string, spawnedAt: number, timeoutMs: number, alive: () => boolean): Promise<FirstJobResult> {
  const deadline = spawnedAt + timeoutMs;
  let listenMs = Number.NaN;
  let noJobs = 0;
  for (;;) {
    if (performance.now() > deadline) throw new Error(`no job within ${timeoutMs} ms of the restart`);
    if (!alive()) throw new Error('the server exited during its restart');
    const got = await new Promise<'refused' | 'lost' | number>((resolve) => {
      const socket = connect({ port, host: '127.0.0.1' });
      const decoder = new Decoder({ maxFrameBytes: 64 << 20, maxLineBytes: 1 << 20 });
      let connected = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (v: 'refused' | 'lost' | number): void => {
        clearTimeout(timer);
        socket.destroy();
        resolve(v);
      };
      socket.setNoDelay(true);
      socket.once('connect', () => {
        connected = true;
        if (Number.isNaN(listenMs)) listenMs = performance.now() - spawnedAt;
        socket.write(Buffer.concat([req(PacketType.CAN_DO, fn), GRAB_JOB]));
      });
      socket.on('data', (chunk: Buffer) => {
        for (const f of decoder.push(chunk)) {
          if (f.magic === 'TEXT') continue;
          if (f.type === PacketType.JOB_ASSIGN || f.type === PacketType.JOB_ASSIGN_UNIQ) {
            finish(performance.now() - spawnedAt);
            return;
          }
          if (f.type === PacketType.NO_JOB) {
            noJobs++;
            if (performance.now() > deadline) return finish('lost');
            timer = setTimeout(() => socket.write(GRAB_JOB), POLL_MS);
          }
        }
      });
      socket.on('error', () => finish(connected ? 'lost' : 'refused'));
      socket.on('close', () => finish(connected ? 'lost' : 'refused'));
    });
    if (typeof got === 'number') return { listenMs, firstJobMs: got, noJobs };
    await sleep(POLL_MS);
  }
}

// Workload 1: durable background submissions. SUBMIT_JOB_BG (each with its own unique key, as libgearman
// sends them) pipelined over several connections, each keeping `window` submissions in flight; a
// JOB_CREATED (sent by Lazaret only after the commit) frees a slot. Also the preload used by the drain and
// memory workloads.

import { performance } from 'node:perf_hooks';
import { Meter, type Rate } from './lib/meter.js';
import { backgroundSubmitter, closeAll, latch, openPeers, PacketType } from './lib/peer.js';

export interface SubmitOptions {
  conns: number;
  /** Submissions in flight per connection. */
  window: number;
  warmupMs: number;
  durationMs: number;
  /** Stop issuing after this many, even if the window is still open. */
  maxJobs: number;
  fn: string;
  payload: Buffer;
}

export interface SubmitResult extends Rate {
  errors: number;
  lastError: string;
}

export async function submitBackground(port: number, o: SubmitOptions): Promise<SubmitResult> {
  const peers = await openPeers(port, o.conns);
  const packet = backgroundSubmitter(o.fn, o.payload);
  const meter = new Meter(o.warmupMs, o.durationMs);
  const end = latch(o.warmupMs + o.durationMs + 30_000, 'submit');
  let sent = 0;
  let inFlight = 0;
  let errors = 0;
  let lastError = '';
  for (const peer of peers) {
    peer.onClose = (why) => end.fail(why);
    peer.onPacket = (p) => {
      if (p.type !== PacketType.JOB_CREATED && p.type !== PacketType.ERROR) return;
      inFlight--;
      meter.hit();
      if (p.type === PacketType.ERROR) {
        errors++;
        lastError = peer.lastError;
      }
      if (sent < o.maxJobs && !meter.over) {
        sent++;
        inFlight++;
        peer.send(packet());
      } else if (inFlight === 0 || meter.over) {
        end.done();
      }
    };
    for (let i = 0; i < o.window && sent < o.maxJobs; i++) {
      sent++;
      inFlight++;
      peer.send(packet());
    }
  }
  const timer = setTimeout(() => end.done(), o.warmupMs + o.durationMs);
  try {
    await end.promise;
  } finally {
    clearTimeout(timer);
    closeAll(peers);
  }
  return { ...meter.rate(), errors, lastError };
}

export interface PreloadOptions {
  conns: number;
  window: number;
  count: number;
  /** Stop issuing after this long even if fewer than count were stored (a slow store). */
  budgetMs: number;
  fn: string;
  payload: Buffer;
}

export interface PreloadResult {
  /** Jobs the server acknowledged (JOB_CREATED). */
  loaded: number;
  seconds: number;
  errors: number;
  lastError: string;
}

/** Submits up to count background jobs and waits until every submission is answered. */
export async function preload(port: number, o: PreloadOptions): Promise<PreloadResult> {
  const peers = await openPeers(port, o.conns);
  const packet = backgroundSubmitter(o.fn, o.payload);
  const start = performance.now();
  const stopIssuing = start + o.budgetMs;
  const end = latch(o.budgetMs + 120_000, 'preload');
  let sent = 0;
  let inFlight = 0;
  let loaded = 0;
  let errors = 0;
  let lastError = '';
  for (const peer of peers) {
    peer.onClose = (why) => end.fail(why);
    peer.onPacket = (p) => {
      if (p.type === PacketType.JOB_CREATED) loaded++;
      else if (p.type === PacketType.ERROR) {
        errors++;
        lastError = peer.lastError;
      } else return;
      inFlight--;
      if (sent < o.count && performance.now() < stopIssuing) {
        sent++;
        inFlight++;
        peer.send(packet());
      } else if (inFlight === 0) {
        end.done();
      }
    };
    for (let i = 0; i < o.window && sent < o.count; i++) {
      sent++;
      inFlight++;
      peer.send(packet());
    }
  }
  try {
    await end.promise;
  } finally {
    closeAll(peers);
  }
  return { loaded, seconds: (performance.now() - start) / 1000, errors, lastError };
}

// Scenario: a poison storm. Background jobs flow through submitters and workers as in the pipeline
// workload, but one job in `every` is poison: the worker that receives it dies (its connection drops
// without a word) and is restarted at once. Lazaret charges each such delivery as a crash and, after
// maxCrashes (3 by default) with a backoff between deliveries, quarantines the job. Measured: healthy
// jobs completed per second, and for each poison job the time from its first delivery to the moment its
// quarantine notice arrives (the server hands every quarantined job to `quarantineFunction`).

import { performance } from 'node:perf_hooks';
import { Meter, type Rate } from './lib/meter.js';
import { backgroundSubmitter, closeAll, GRAB_JOB, latch, openPeers, PacketType, Peer, PRE_SLEEP, req, sleep } from './lib/peer.js';

export interface PoisonOptions {
  submitters: number;
  window: number;
  workers: number;
  backlog: number;
  /** One job in `every` is poison; 0 = none. */
  every: number;
  fn: string;
  payload: Buffer;
  /** The server's quarantineFunction (config), listened to for quarantine notices. */
  quarantineFn: string;
  warmupMs: number;
  durationMs: number;
  /** After the window, how long to wait for the poison jobs already delivered to reach quarantine. */
  settleMs: number;
}

export interface PoisonResult extends Rate {
  /** Poison jobs delivered at least once in the run. */
  poisonDelivered: number;
  /** Deliveries of poison jobs (each one killed a worker). */
  crashes: number;
  /** Of those delivered, how many were seen in quarantine. */
  quarantined: number;
  /** First delivery -> quarantine notice, ms, ascending. */
  toQuarantineMs: number[];
  errors: number;
}

const POISON = Buffer.from('POISON');
const isPoison = (data: Buffer): boolean => data.length >= POISON.length && data.subarray(0, POISON.length).equals(POISON);

export async function poisonStorm(port: number, o: PoisonOptions): Promise<PoisonResult> {
  const end = latch(o.warmupMs + o.durationMs + o.settleMs + 30_000, 'poison storm');
  let meter: Meter | null = null;
  /** The window closed: no more submissions. Workers keep going so delivered poison reaches quarantine. */
  let stopping = false;
  /** Tearing down: connections close on purpose. */
  let closing = false;
  let sent = 0;
  /** Jobs handed out for the first time; sent - taken is the backlog. */
  let taken = 0;
  let crashes = 0;
  let errors = 0;
  const firstDelivery = new Map<string, number>();
  const quarantinedAt = new Map<string, number>();
  const peers = new Set<Peer>();

  // Quarantine notices: a worker of quarantineFunction; each job's payload describes one quarantined job.
  const listener = await Peer.open(port);
  peers.add(listener);
  listener.onClose = (why) => {
    if (!closing) end.fail(`quarantine listener: ${why}`);
  };
  listener.onPacket = (p) => {
    if (p.type === PacketType.JOB_ASSIGN) {
      try {
        const entry = JSON.parse(p.args[2]!.toString()) as { handle?: string };
        if (entry.handle !== undefined) quarantinedAt.set(entry.handle, performance.now());
      } catch {
        errors++;
      }
      listener.send(req(PacketType.WORK_COMPLETE, p.args[0]!, ''));
      listener.send(GRAB_JOB);
      if (stopping && [...firstDelivery.keys()].every((h) => quarantinedAt.has(h))) end.done();
    } else if (p.type === PacketType.NO_JOB) listener.send(PRE_SLEEP);
    else if (p.type === PacketType.NOOP) listener.send(GRAB_JOB);
  };
  listener.send(req(PacketType.CAN_DO, o.quarantineFn));
  listener.send(GRAB_JOB);

  function startWorker(): void {
    void Peer.open(port).then(
      (peer) => {
        if (closing) {
          peer.close();
          return;
        }
        peers.add(peer);
        let dead = false;
        peer.onClose = (why) => {
          if (!dead && !closing) end.fail(`worker: ${why}`);
        };
        peer.onPacket = (p) => {
          if (dead) return;
          if (p.type === PacketType.JOB_ASSIGN) {
            const handle = p.args[0]!.toString();
            if (isPoison(p.args[2]!)) {
              if (!firstDelivery.has(handle)) {
                firstDelivery.set(handle, performance.now());
                taken++;
              }
              crashes++;
              // The worker process dies mid-job: the connection drops; its supervisor starts a new one.
              dead = true;
              peers.delete(peer);
              peer.close();
              if (!closing) startWorker();
            } else {
              taken++;
              meter!.hit();
              peer.send(req(PacketType.WORK_COMPLETE, p.args[0]!, ''));
              peer.send(GRAB_JOB);
            }
            pump();
          } else if (p.type === PacketType.NO_JOB) peer.send(PRE_SLEEP);
          else if (p.type === PacketType.NOOP) peer.send(GRAB_JOB);
        };
        peer.send(req(PacketType.CAN_DO, o.fn));
        peer.send(GRAB_JOB);
      },
      (err: Error) => end.fail(`worker restart: ${err.message}`),
    );
  }

  const submitters = await openPeers(port, o.submitters);
  for (const s of submitters) peers.add(s);
  const inFlight = submitters.map(() => 0);
  const healthy = backgroundSubmitter(o.fn, o.payload);
  const poison = backgroundSubmitter(o.fn, Buffer.concat([POISON, o.payload]));

  function pump(): void {
    if (stopping || meter === null || meter.over) return;
    for (let i = 0; i < submitters.length; i++) {
      while (inFlight[i]! < o.window && sent - taken < o.backlog) {
        inFlight[i]!++;
        sent++;
        submitters[i]!.send(o.every > 0 && sent % o.every === 0 ? poison() : healthy());
      }
    }
  }

  submitters.forEach((peer, i) => {
    peer.onClose = (why) => {
      if (!closing) end.fail(`submitter: ${why}`);
    };
    peer.onPacket = (p) => {
      if (p.type !== PacketType.JOB_CREATED && p.type !== PacketType.ERROR) return;
      inFlight[i]!--;
      pump();
    };
  });

  meter = new Meter(o.warmupMs, o.durationMs);
  for (let i = 0; i < o.workers; i++) startWorker();
  pump();
  const windowTimer = setTimeout(() => {
    stopping = true;
    if ([...firstDelivery.keys()].every((h) => quarantinedAt.has(h))) end.done();
  }, o.warmupMs + o.durationMs);
  const settleTimer = setTimeout(() => end.done(), o.warmupMs + o.durationMs + o.settleMs);
  try {
    await end.promise;
  } finally {
    stopping = true;
    closing = true;
    clearTimeout(windowTimer);
    clearTimeout(settleTimer);
    closeAll(peers);
    await sleep(0);
  }
  const toQuarantineMs: number[] = [];
  for (const [handle, at] of firstDelivery) {
    const q = quarantinedAt.get(handle);
    if (q !== undefined) toQuarantineMs.push(q - at);
  }
  toQuarantineMs.sort((a, b) => a - b);
  errors += [...submitters, listener].reduce((n, p) => n + p.errors, 0);
  return { ...meter.rate(), poisonDelivered: firstDelivery.size, crashes, quarantined: toQuarantineMs.length, toQuarantineMs, errors };
}

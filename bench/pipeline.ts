// Workload 3: submit and work at once. Submitters pipeline SUBMIT_JOB_BG while workers grab, complete
// and sleep (PRE_SLEEP / NOOP) as real workers do. The backlog (submitted, not yet handed out) is capped so
// the run measures a steady state rather than a growing queue.

import { performance } from 'node:perf_hooks';
import { Meter, type Rate } from './lib/meter.js';
import { backgroundSubmitter, closeAll, latch, openPeers, PacketType } from './lib/peer.js';
import { connectWorkers } from './lib/workers.js';

export interface PipelineOptions {
  submitters: number;
  /** Submissions in flight per submitter. */
  window: number;
  workers: number;
  /** Most jobs submitted but not yet handed to a worker. */
  backlog: number;
  fn: string;
  payload: Buffer;
  warmupMs: number;
  durationMs: number;
}

export interface PipelineResult extends Rate {
  /** Submissions acknowledged per second over the same window. */
  submittedPerSec: number;
  errors: number;
}

export async function pipeline(port: number, o: PipelineOptions): Promise<PipelineResult> {
  const end = latch(o.warmupMs + o.durationMs + 30_000, 'pipeline');
  let meter: Meter | null = null;
  let sent = 0;
  let assigned = 0;
  let createdInWindow = 0;
  const { peers: workers, go } = await connectWorkers(port, o.workers, {
    fn: o.fn,
    onEmpty: 'sleep',
    echo: false,
    onJob: () => {
      meter!.hit();
      assigned++;
      pump();
      return !meter!.over;
    },
    onClose: (why) => end.fail(why),
  });
  const submitters = await openPeers(port, o.submitters);
  const inFlight = submitters.map(() => 0);
  const packet = backgroundSubmitter(o.fn, o.payload);

  function pump(): void {
    if (meter!.over) return;
    for (let i = 0; i < submitters.length; i++) {
      while (inFlight[i]! < o.window && sent - assigned < o.backlog) {
        inFlight[i]!++;
        sent++;
        submitters[i]!.send(packet());
      }
    }
  }

  submitters.forEach((peer, i) => {
    peer.onClose = (why) => end.fail(why);
    peer.onPacket = (p) => {
      if (p.type !== PacketType.JOB_CREATED && p.type !== PacketType.ERROR) return;
      inFlight[i]!--;
      if (p.type === PacketType.JOB_CREATED) {
        if (meter!.inWindow(performance.now())) createdInWindow++;
      }
      pump();
    };
  });
  meter = new Meter(o.warmupMs, o.durationMs);
  const timer = setTimeout(() => end.done(), o.warmupMs + o.durationMs);
  go();
  pump();
  try {
    await end.promise;
  } finally {
    clearTimeout(timer);
    closeAll(workers);
    closeAll(submitters);
  }
  const rate = meter.rate();
  const errors = [...workers, ...submitters].reduce((n, p) => n + p.errors, 0);
  return { ...rate, submittedPerSec: rate.seconds > 0 ? createdInWindow / rate.seconds : 0, errors };
}

// Workload 4: foreground round trips. Each client submits one SUBMIT_JOB and waits for its WORK_COMPLETE
// before the next; workers echo the payload back. Latency is submit-sent to WORK_COMPLETE-received.

import { performance } from 'node:perf_hooks';
import { Meter, quantile, type Rate } from './lib/meter.js';
import { closeAll, latch, openPeers, PacketType, req } from './lib/peer.js';
import { connectWorkers } from './lib/workers.js';

export interface RoundTripOptions {
  clients: number;
  workers: number;
  fn: string;
  payload: Buffer;
  warmupMs: number;
  durationMs: number;
}

export interface RoundTripResult extends Rate {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
}

export async function roundTrip(port: number, o: RoundTripOptions): Promise<RoundTripResult> {
  const end = latch(o.warmupMs + o.durationMs + 30_000, 'round trip');
  const { peers: workers, go } = await connectWorkers(port, o.workers, {
    fn: o.fn,
    onEmpty: 'sleep',
    echo: true,
    onJob: () => true,
    onClose: (why) => end.fail(why),
  });
  go();
  // Let every worker reach PRE_SLEEP so the clients meet workers the way they would in production.
  await Promise.all(workers.map((w) => w.echo()));

  const clients = await openPeers(port, o.clients);
  const packet = req(PacketType.SUBMIT_JOB, o.fn, '', o.payload);
  const meter = new Meter(o.warmupMs, o.durationMs);
  const latencies: number[] = [];
  let finished = 0;
  for (const client of clients) {
    let sentAt = 0;
    const next = (): void => {
      if (meter.over) {
        if (++finished === clients.length) end.done();
        return;
      }
      sentAt = performance.now();
      client.send(packet);
    };
    client.onClose = (why) => end.fail(why);
    client.onPacket = (p) => {
      if (p.type === PacketType.JOB_CREATED) return;
      if (p.type !== PacketType.WORK_COMPLETE && p.type !== PacketType.WORK_FAIL && p.type !== PacketType.ERROR) return;
      const now = meter.hit();
      if (meter.inWindow(now)) latencies.push(now - sentAt);
      next();
    };
    next();
  }
  const timer = setTimeout(() => end.done(), o.warmupMs + o.durationMs + 5_000);
  try {
    await end.promise;
  } finally {
    clearTimeout(timer);
    closeAll(clients);
    closeAll(workers);
  }
  latencies.sort((a, b) => a - b);
  const errors = [...workers, ...clients].reduce((n, p) => n + p.errors, 0);
  return { ...meter.rate(), p50Ms: quantile(latencies, 0.5), p99Ms: quantile(latencies, 0.99), maxMs: latencies.at(-1) ?? Number.NaN, errors };
}

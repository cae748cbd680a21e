// Workload 7: what the HTTP side costs the job path. The drain and pipeline workloads run against a server
// with HTTP off, then against one with HTTP on (fastify, the metrics listeners, the health checks) while
// a scraper fetches /metrics and /health every second, as Prometheus and a load balancer would. Cases
// alternate off/on over several rounds and each side keeps its best figure, so a noisy neighbour on a
// shared machine hurts both sides alike instead of deciding the ratio.

import { performance } from 'node:perf_hooks';

export interface ScrapeStats {
  scrapes: number;
  errors: number;
  /** Mean and worst time of one /metrics + /health pair, ms. */
  meanMs: number;
  maxMs: number;
  /** Size of the last /metrics answer, bytes. */
  metricsBytes: number;
}

/** Fetches /metrics and /health every everyMs until stopped. */
export function startScraper(httpPort: number, everyMs = 1000): { stop: () => Promise<ScrapeStats> } {
  const base = `http://127.0.0.1:${httpPort}`;
  const stats: ScrapeStats = { scrapes: 0, errors: 0, meanMs: 0, maxMs: 0, metricsBytes: 0 };
  let total = 0;
  let inFlight: Promise<void> = Promise.resolve();
  const scrape = async (): Promise<void> => {
    const t0 = performance.now();
    try {
      const metrics = await fetch(`${base}/metrics`);
      const text = await metrics.text();
      const health = await fetch(`${base}/health`);
      await health.text();
      // 503 is an answer too (a drained queue may have no worker left); only other codes are errors.
      if (!metrics.ok || (health.status !== 200 && health.status !== 503)) stats.errors++;
      stats.metricsBytes = text.length;
    } catch {
      stats.errors++;
    }
    const ms = performance.now() - t0;
    stats.scrapes++;
    total += ms;
    stats.maxMs = Math.max(stats.maxMs, ms);
  };
  inFlight = scrape();
  const timer = setInterval(() => {
    inFlight = inFlight.then(scrape);
  }, everyMs);
  return {
    async stop() {
      clearInterval(timer);
      await inFlight;
      stats.meanMs = stats.scrapes > 0 ? total / stats.scrapes : 0;
      return stats;
    },
  };
}

/** Runs body with a scraper on httpPort (none when null) and returns both results. */
export async function whileScraping<T>(httpPort: number | null, body: () => Promise<T>): Promise<{ result: T; scrapes: ScrapeStats | null }> {
  const scraper = httpPort === null ? null : startScraper(httpPort);
  try {
    const result = await body();
    return { result, scrapes: (await scraper?.stop()) ?? null };
  } catch (err) {
    await scraper?.stop();
    throw err;
  }
}

export interface InProcessCost {
  /** Added cost per job of the metrics and latency listeners (job:created, attempt:started, attempt:ended), ns. */
  perJobNs: number;
  /** One /metrics rendering plus one health check with `functions` functions, ms. */
  scrapeMs: number;
  functions: number;
}

/**
 * The same costs measured in this process, free of scheduling noise: the engine events of one job
 * emitted a million times with and without the observers attached, and one scrape of a node with
 * `functions` busy functions.
 */
export async function inProcessCost(functions = 50): Promise<InProcessCost> {
  const pino = (await import('pino')).default;
  const { Engine } = await import('../src/core/engine.js');
  const { HealthChecker } = await import('../src/observe/health.js');
  const { createJob } = await import('../src/core/job.js');
  const { Metrics } = await import('../src/observe/metrics.js');
  const { SqliteStore } = await import('../src/storage/sqlite/store.js');
  const log = pino({ level: 'silent' });
  const store = new SqliteStore({ path: ':memory:' });
  await store.open();
  const engine = new Engine({ store, logger: log, handlePrefix: 'H:b:', limits: { maxPayloadBytes: 1 << 20, maxUniqueBytes: 64, maxQueue: 0 } });
  await engine.start();
  const jobs = Array.from({ length: functions }, (_, i) => {
    const fn = engine.functions.ensure(`bench_fn_${i}`);
    fn.queued[1] = 10;
    return createJob({ id: i + 1, handle: `H:b:${i + 1}`, fn, unique: '', payload: Buffer.alloc(16), priority: 1, submittedAt: 0, durable: true });
  });
  const started = { jobId: 1, n: 1, worker: 'w', startedAt: 5, endedAt: null, outcome: null, error: null, evidence: null };
  const ended = { ...started, endedAt: 9, outcome: 'completed' as const };
  const N = 1_000_000;
  const run = (): number => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) {
      const job = jobs[i % functions]!;
      engine.emit('job:created', job);
      engine.emit('attempt:started', job, started);
      engine.emit('attempt:ended', job, ended);
    }
    return Number(process.hrtime.bigint() - t0) / N;
  };
  let bare = Number.POSITIVE_INFINITY;
  let observed = Number.POSITIVE_INFINITY;
  let scrapeMs = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 5; round++) {
    bare = Math.min(bare, run());
    // A p95 rule for every function: the latency window listens too (the costliest configuration).
    const h = new HealthChecker(engine, log, { intervalMs: 10_000, unservedAfterMs: 30_000, rules: [{ function: '*', maxP95Wait: 1000, maxP95Run: 1000 }] });
    const metrics = new Metrics(engine, h, null, 'bench');
    observed = Math.min(observed, run());
    const t0 = performance.now();
    await metrics.registry.metrics();
    await h.check();
    scrapeMs = Math.min(scrapeMs, performance.now() - t0);
    metrics.close();
    h.stop();
  }
  await engine.close();
  return { perJobNs: observed - bare, scrapeMs, functions };
}

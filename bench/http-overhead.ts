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

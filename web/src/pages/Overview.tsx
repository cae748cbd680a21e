// Per function: what waits, what runs, who works on it, how fast and how often it fails — live.

import { href } from '../router.js';
import { byPriority, count, duration, percent, rate } from '../format.js';
import type { FunctionStats, Health, History } from '../types.js';
import { MIN_POLL_MS, useApi } from '../use-api.js';
import { Problem } from '../components/Problem.js';
import { Sparkline } from '../components/Sparkline.js';
import { HealthPanel } from './HealthPanel.js';

const HISTORY_POLL_MS = 15_000;

/**
 * The charts: the closed steps of the history, then the live values of /api/functions as the last
 * point. "Done/min" at each point counts the jobs completed in the minute that ended there, the same
 * measure as Throughput (src/observe/activity.ts, rates), so the chart's current value is the Throughput shown
 * beside it, and both move with the 2 s poll rather than the history's 15 s. The live point also means
 * a chart has data from the first answer, before the server has closed its first 10 s step.
 */
function series(history: History | null, f: FunctionStats): { queued: number[]; perMin: number[] } {
  const points = history?.points ?? [];
  const perStep = history ? Math.max(1, Math.round(60_000 / history.stepMs)) : 6;
  const completed = points.map((p) => p.functions[f.name]?.completed ?? 0);
  return {
    queued: [...points.map((p) => p.functions[f.name]?.queued ?? 0), f.queued.total],
    perMin: [...completed.map((_, i) => completed.slice(Math.max(0, i - perStep + 1), i + 1).reduce((a, b) => a + b, 0)), f.rates.completedPerMin],
  };
}

function FunctionCard({ f, history }: { f: FunctionStats; history: History | null }) {
  const { queued, perMin } = series(history, f);
  const done = f.rates.completedPerMin + f.rates.failedPerMin;
  const noWorkers = f.workers === 0 && f.queued.total > 0;
  return (
    <article class={`fn ${noWorkers ? 'fn-alarm' : ''}`} aria-label={`Function ${f.name}`} data-testid="function">
      <h3>{f.name}</h3>
      <dl class="stats">
        <div>
          <dt>Queued</dt>
          <dd class="num big">{count(f.queued.total)}</dd>
          <dd class="num small" data-testid="by-priority">
            {byPriority(f.queued)}
          </dd>
        </div>
        <div>
          <dt>Running</dt>
          <dd class="num big">{count(f.running)}</dd>
          <dd class="num small">{f.scheduled ? `${count(f.scheduled)} scheduled` : '\u00a0'}</dd>
        </div>
        <div>
          <dt>Workers</dt>
          <dd class={`num big ${noWorkers ? 'bad' : ''}`}>{count(f.workers)}</dd>
          <dd class="small wrap">{noWorkers ? 'none for queued jobs' : '\u00a0'}</dd>
        </div>
        <div>
          <dt>Oldest queued</dt>
          <dd class="num">{duration(f.oldestQueuedMs)}</dd>
        </div>
        <div>
          <dt>Throughput</dt>
          <dd class="num" data-testid="throughput" title="jobs completed in the last minute">
            {rate(f.rates.completedPerMin)}
          </dd>
        </div>
        <div>
          <dt>Failure rate</dt>
          <dd class={`num ${f.rates.failedPerMin > 0 ? 'warn' : ''}`}>{percent(f.rates.failedPerMin, done)}</dd>
        </div>
        <div>
          <dt>Quarantined</dt>
          <dd class="num">{f.quarantined > 0 ? <a href={href('quarantine', [], { function: f.name })}>{count(f.quarantined)}</a> : '0'}</dd>
        </div>
      </dl>
      <div class="sparks">
        <Sparkline values={queued} label="Queued, 1 h" current={count(f.queued.total)} tone="queue" />
        <Sparkline values={perMin} label="Done/min, 1 h" current={rate(f.rates.completedPerMin)} tone="throughput" />
      </div>
    </article>
  );
}

export function Overview() {
  const functions = useApi<{ functions: FunctionStats[] }>('/api/functions', { everyMs: MIN_POLL_MS });
  const health = useApi<Health>('/health', { everyMs: MIN_POLL_MS, accept: [503] });
  const history = useApi<History>('/api/history?minutes=60', { everyMs: HISTORY_POLL_MS });
  const list = functions.data?.functions ?? null;
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Overview</h1>
      <HealthPanel health={health} />
      <h2>Functions</h2>
      <Problem error={functions.error} what="Function statistics" />
      <Problem error={history.error} what="History for the charts" />
      {list === null && !functions.error ? <p class="muted">Loading…</p> : null}
      {list?.length === 0 ? <p class="muted">No functions yet: no worker has registered and no job was submitted.</p> : null}
      <div class="fn-grid">
        {list?.map((f) => (
          <FunctionCard key={f.name} f={f} history={history.data} />
        ))}
      </div>
    </section>
  );
}

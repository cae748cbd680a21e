// /health as it is: every check with its state and reason. A failing check is a red banner at the top
// of the overview, announced to screen readers, with the reason in words (not only a colour).

import type { Health, HealthCheck } from '../types.js';
import { count, duration, time } from '../format.js';
import type { Loaded } from '../use-api.js';
import { Problem } from '../components/Problem.js';

function checkName(c: HealthCheck): string {
  return c.function ? `${c.name} · ${c.function}` : c.name;
}

/** Checks whose value and threshold are durations in ms (src/observe/health.ts); the others count things. */
const DURATION_CHECKS = new Set(['unserved', 'stalled', 'oldest_queued_age', 'hung', 'p95_wait', 'p95_run']);

/**
 * The threshold in the units a person reads (`limit 30 s`); the reason already says the measured value
 * in words. `workers` is a minimum its reason states itself.
 */
function limit(c: HealthCheck): string | null {
  if (c.threshold === undefined || c.name === 'workers') return null;
  if (typeof c.threshold !== 'number') return `limit ${c.threshold}`;
  return `limit ${DURATION_CHECKS.has(c.name) ? duration(c.threshold) : count(c.threshold)}`;
}

function why(c: HealthCheck): string {
  const l = limit(c);
  return l === null ? c.reason : `${c.reason}, ${l}`;
}

export function HealthPanel({ health }: { health: Loaded<Health> }) {
  const h = health.data;
  const checks = h?.checks ?? null;
  const failing = checks?.filter((c) => c.state !== 'ok') ?? [];
  const red = h?.status === 'fail' || failing.length > 0;
  return (
    <section class={`health ${red ? 'health-fail' : h ? 'health-ok' : ''}`} aria-labelledby="health-title" data-testid="health">
      <div class="health-head">
        <h2 id="health-title">
          Health: <span class="health-status">{h ? (red ? 'FAILING' : 'OK') : health.error ? 'unknown' : 'loading…'}</span>
        </h2>
        <span class="muted">{h?.checkedAt ? `checked ${time(h.checkedAt)}` : ''}</span>
      </div>
      <Problem error={health.error} what="Health" />
      {failing.length > 0 ? (
        <ul class="failing" role="alert">
          {failing.map((c) => (
            <li key={checkName(c)} data-testid="check-fail">
              <strong>✗ {checkName(c)}</strong>: {why(c)}
            </li>
          ))}
        </ul>
      ) : null}
      {h && checks === null ? <p class="muted">Health checks not available on this server (it answers status only).</p> : null}
      {checks && checks.length > 0 ? (
        <details class="checks" open={checks.length <= 8}>
          <summary>
            {checks.length} checks, {failing.length} failing
          </summary>
          <ul>
            {checks.map((c) => (
              <li key={checkName(c)} class={c.state === 'ok' ? 'ok' : 'fail'}>
                <span class="badge">{c.state === 'ok' ? '✓ ok' : '✗ fail'}</span> <span class="check-name">{checkName(c)}</span>{' '}
                <span class="muted">{why(c)}</span>
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </section>
  );
}

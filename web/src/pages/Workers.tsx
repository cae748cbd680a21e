// Who is connected, what each one is doing and since when; stuck workers, hung attempts and flapping
// programs first.

import { duration, since, time } from '../format.js';
import { href } from '../router.js';
import type { SupervisorInfo, SupervisorList, WorkerInfo } from '../types.js';
import { MIN_POLL_MS, useApi } from '../use-api.js';
import { Problem } from '../components/Problem.js';

const SUPERVISOR_POLL_MS = 5000;

/** Stuck workers and hung attempts first, then busy workers by how long they have run, then idle ones. */
function order(a: WorkerInfo, b: WorkerInfo): number {
  const rank = (w: WorkerInfo): number => (w.stuck ? -1 : w.job?.hung ? 0 : w.job ? 1 : 2);
  return rank(a) - rank(b) || (b.job?.runningMs ?? 0) - (a.job?.runningMs ?? 0) || a.name.localeCompare(b.name);
}

function WorkerTable({ workers }: { workers: WorkerInfo[] }) {
  const hung = workers.filter((w) => w.job?.hung).length;
  const stuck = workers.filter((w) => w.stuck).length;
  if (workers.length === 0) return <p class="muted">No worker is connected.</p>;
  return (
    <>
      {stuck > 0 ? (
        <p class="notice error" role="alert" data-testid="stuck-notice">
          {stuck} worker{stuck === 1 ? ' is' : 's are'} stuck in an attempt that timed out: no job goes to {stuck === 1 ? 'it' : 'them'} until it answers or
          disconnects.
        </p>
      ) : null}
      {hung > 0 ? (
        <p class="notice error" role="alert">
          {hung} attempt{hung === 1 ? '' : 's'} running past the hang threshold.
        </p>
      ) : null}
      <div class="table-wrap">
        <table class="list stack">
          <thead>
            <tr>
              <th scope="col">Worker</th>
              <th scope="col">Address</th>
              <th scope="col">Functions</th>
              <th scope="col">Doing</th>
              <th scope="col" class="n">
                For
              </th>
              <th scope="col">Connected</th>
            </tr>
          </thead>
          <tbody>
            {[...workers].sort(order).map((w) => (
              <tr key={w.id} class={w.job?.hung || w.stuck ? 'row-bad' : ''} data-testid="worker">
                <td data-label="Worker">
                  {w.name || w.id}
                  {w.pid !== null && !w.name.includes(`pid ${w.pid}`) ? <span class="muted num"> pid {w.pid}</span> : null}
                </td>
                <td class="num" data-label="Address">
                  {w.address}
                </td>
                <td data-label="Functions">{w.functions.join(', ') || '—'}</td>
                <td data-label="Doing">
                  {w.stuck ? (
                    <>
                      <span class="badge bad" data-testid="stuck">
                        STUCK
                      </span>{' '}
                      {w.stuck.function}{' '}
                      <a class="num" href={href('jobs', [w.stuck.handle])}>
                        {w.stuck.handle}
                      </a>{' '}
                      <span class="muted" title={time(w.stuck.timedOutAt)}>
                        timed out {duration(w.stuck.stuckMs)} ago
                      </span>
                    </>
                  ) : w.job ? (
                    <>
                      {w.job.hung ? <span class="badge bad">HUNG</span> : null} {w.job.function}{' '}
                      <a class="num" href={href('jobs', [w.job.handle])}>
                        {w.job.handle}
                      </a>
                    </>
                  ) : (
                    <span class="muted">idle</span>
                  )}
                </td>
                <td class="num n" data-label="For">
                  {w.job ? duration(w.job.runningMs) : '—'}
                </td>
                <td class="num" data-label="Connected" title={time(w.connectedAt)}>
                  {since(w.connectedAt)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function exits(p: SupervisorInfo['programs'][number]): string {
  return (
    p.lastExits
      .slice(-3)
      .map((e) => `${e.signal ?? `exit ${e.code ?? '?'}`} ${since(e.at)}`)
      .join('; ') || '—'
  );
}

function Supervisors({ list }: { list: SupervisorInfo[] }) {
  if (list.length === 0) {
    return (
      <p class="muted">
        No supervisor reports to this server (<code>lazaret supervise</code>).
      </p>
    );
  }
  return (
    <div class="table-wrap">
      <table class="list stack">
        <thead>
          <tr>
            <th scope="col">Supervisor</th>
            <th scope="col">Program</th>
            <th scope="col" class="n">
              Running
            </th>
            <th scope="col" class="n">
              Restarts
            </th>
            <th scope="col">Last exits</th>
          </tr>
        </thead>
        <tbody>
          {list.flatMap((s) =>
            s.programs.map((p) => (
              <tr key={`${s.id}/${p.name}`} class={p.flapping || s.stale ? 'row-bad' : ''} data-testid="program">
                <td data-label="Supervisor">
                  {s.host} <span class="muted num">pid {s.pid}</span>
                  {s.stale ? <span class="badge bad">STALE since {since(s.reportedAt)}</span> : null}
                </td>
                <td data-label="Program">
                  {p.name} {p.flapping ? <span class="badge bad">FLAPPING</span> : null}
                  <div class="muted small">{p.command}</div>
                </td>
                <td class={`num n ${p.running < p.copies ? 'bad' : ''}`} data-label="Running">
                  {p.running} / {p.copies}
                </td>
                <td class="num n" data-label="Restarts">
                  {p.restarts}
                  {p.recycled ? <div class="muted small">{p.recycled} recycled</div> : null}
                </td>
                <td class="small" data-label="Last exits">
                  {exits(p)}
                </td>
              </tr>
            )),
          )}
        </tbody>
      </table>
    </div>
  );
}

export function Workers() {
  const workers = useApi<{ workers: WorkerInfo[] }>('/api/workers', { everyMs: MIN_POLL_MS });
  const supervisors = useApi<SupervisorList>('/api/supervisors', { everyMs: SUPERVISOR_POLL_MS });
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Workers</h1>
      <Problem error={workers.error} what="Connected workers" />
      {workers.data ? <WorkerTable workers={workers.data.workers} /> : null}
      <h2>Supervised programs</h2>
      <Problem error={supervisors.error} what="Supervisor reports" />
      {supervisors.data ? <Supervisors list={supervisors.data.supervisors} /> : null}
    </section>
  );
}

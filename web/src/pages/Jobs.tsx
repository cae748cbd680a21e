// Find a job by handle, unique key or tag, and follow one: state, progress, attempts, result.

import { useEffect, useState } from 'preact/hooks';
import { query } from '../api.js';
import { count, since, time } from '../format.js';
import { decodeBase64 } from '../payload.js';
import { href, replaceParams } from '../router.js';
import type { JobInfo } from '../types.js';
import { MIN_POLL_MS, useApi } from '../use-api.js';
import { History } from '../components/History.js';
import { PayloadView } from '../components/PayloadView.js';
import { Problem } from '../components/Problem.js';

type By = 'handle' | 'unique' | 'tag';
const FINISHED = new Set(['completed', 'failed', 'expired', 'quarantined']);

function SearchForm({ by, q }: { by: By; q: string }) {
  const [kind, setKind] = useState<By>(by);
  const [text, setText] = useState(q);
  return (
    <form
      class="filters"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        const v = text.trim();
        if (kind === 'handle' && v) location.hash = href('jobs', [v]);
        else replaceParams({ by: kind, q: v });
      }}
    >
      <label>
        Find by
        <select value={kind} onChange={(e) => setKind(e.currentTarget.value as By)}>
          <option value="handle">handle</option>
          <option value="unique">unique key</option>
          <option value="tag">tag</option>
        </select>
      </label>
      <label class="grow">
        {kind === 'tag' ? 'Tag (key:value)' : kind === 'unique' ? 'Unique key' : 'Handle'}
        <input
          type="search"
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
          placeholder={kind === 'tag' ? 'user_id:42' : kind === 'handle' ? 'H:host:123' : ''}
        />
      </label>
      <button type="submit" class="primary">
        Find
      </button>
    </form>
  );
}

function Progress({ p }: { p: JobInfo['progress'] }) {
  if (!p || p.denominator <= 0) return <>—</>;
  return (
    <>
      <progress value={p.numerator} max={p.denominator} aria-label="Progress" />{' '}
      <span class="num">
        {p.numerator} / {p.denominator}
      </span>
    </>
  );
}

function State({ state }: { state: string }) {
  return <span class={`state state-${state}`}>{state}</span>;
}

function JobDetail({ handle }: { handle: string }) {
  const [finished, setFinished] = useState(false);
  const job = useApi<JobInfo>(`/api/jobs/${encodeURIComponent(handle)}`, finished ? {} : { everyMs: MIN_POLL_MS });
  const j = job.data;
  // A finished job changes no more: stop polling it.
  useEffect(() => {
    if (j && FINISHED.has(j.state)) setFinished(true);
  }, [j]);
  return (
    <>
      <h1 id="page-title">
        Job <span class="num">{handle}</span>
      </h1>
      <Problem error={job.error} what="Job status" gone={`No job ${handle}: unknown, or finished longer ago than results are kept.`} />
      {j ? (
        <dl class="facts" data-testid="job">
          <dt>State</dt>
          <dd data-testid="job-state">
            <State state={j.state} />
            {j.quarantineId !== null ? (
              <>
                {' '}
                <a href={href('quarantine', [j.quarantineId])}>see quarantine entry {j.quarantineId}</a>
              </>
            ) : null}
          </dd>
          <dt>Function</dt>
          <dd>{j.function}</dd>
          <dt>Unique key</dt>
          <dd>{j.unique || '—'}</dd>
          <dt>Priority</dt>
          <dd>{j.priority}</dd>
          <dt>Progress</dt>
          <dd>
            <Progress p={j.progress} />
          </dd>
          <dt>Attempts</dt>
          <dd class="num">{count(j.attempts)}</dd>
          <dt>Submitted</dt>
          <dd class="num">{time(j.submittedAt)}</dd>
          <dt>Run at</dt>
          <dd class="num">{time(j.runAt)}</dd>
          <dt>Started</dt>
          <dd class="num">{time(j.startedAt)}</dd>
          <dt>Finished</dt>
          <dd class="num">{time(j.finishedAt)}</dd>
          <dt>Deadline</dt>
          <dd class="num">{time(j.deadline)}</dd>
          <dt>Tags</dt>
          <dd>
            {j.tags.length
              ? j.tags.map((t) => (
                  <a key={t} class="tag" href={href('jobs', [], { by: 'tag', q: t })}>
                    {t}
                  </a>
                ))
              : '—'}
          </dd>
        </dl>
      ) : null}
      {j?.result ? (
        <>
          <h2>Result</h2>
          <PayloadView bytes={decodeBase64(j.result.base64)} label="Result" />
        </>
      ) : null}
      {j ? <History lives={j.lives ?? []} audit={j.audit ?? []} /> : null}
    </>
  );
}

function JobList({ by, q }: { by: 'unique' | 'tag'; q: string }) {
  const jobs = useApi<{ jobs: JobInfo[] }>(`/api/jobs${query({ [by]: q, limit: 100 })}`);
  return (
    <>
      <Problem error={jobs.error} what="Job search" />
      {jobs.data && jobs.data.jobs.length === 0 ? (
        <p class="muted">No live or recently finished job has {by === 'tag' ? 'this tag' : 'this unique key'}.</p>
      ) : null}
      {jobs.data?.jobs.length ? (
        <div class="table-wrap">
          <table class="list">
            <thead>
              <tr>
                <th scope="col">Handle</th>
                <th scope="col">Function</th>
                <th scope="col">State</th>
                <th scope="col" class="n">
                  Attempts
                </th>
                <th scope="col">Submitted</th>
              </tr>
            </thead>
            <tbody>
              {jobs.data.jobs.map((j) => (
                <tr key={j.handle}>
                  <td class="num">
                    <a href={href('jobs', [j.handle])}>{j.handle}</a>
                  </td>
                  <td>{j.function}</td>
                  <td>
                    <State state={j.state} />
                  </td>
                  <td class="num n">{j.attempts}</td>
                  <td class="num">{since(j.submittedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}

export function Jobs({ handle, params }: { handle: string | null; params: URLSearchParams }) {
  const by = (params.get('by') as By | null) ?? 'handle';
  const q = params.get('q') ?? '';
  return (
    <section aria-labelledby="page-title">
      {handle ? (
        <>
          <p class="crumbs">
            <a href={href('jobs')}>← Find another job</a>
          </p>
          <JobDetail key={handle} handle={handle} />
        </>
      ) : (
        <>
          <h1 id="page-title">Jobs</h1>
          <SearchForm by={by} q={q} />
          {q && by !== 'handle' ? <JobList by={by} q={q} /> : null}
        </>
      )}
    </section>
  );
}

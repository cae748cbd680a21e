// Attempts of one life of a job, with their evidence: the quarantine entry and the job pages show them.

import { duration, time } from '../format.js';
import type { Attempt } from '../types.js';

function exitOf(a: Attempt): string {
  const e = a.evidence;
  if (!e) return '—';
  return [e.signal, e.exitCode !== undefined ? `exit ${e.exitCode}` : null].filter(Boolean).join(', ') || '—';
}

export function Attempts({ list, caption = 'Attempts' }: { list: Attempt[]; caption?: string }) {
  return (
    <div class="table-wrap">
      <table class="list stack">
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col" class="n">
              #
            </th>
            <th scope="col">Worker</th>
            <th scope="col">Started</th>
            <th scope="col" class="n">
              Ran
            </th>
            <th scope="col">Outcome</th>
            <th scope="col">Exit / signal</th>
            <th scope="col">Error</th>
          </tr>
        </thead>
        <tbody>
          {list.map((a) => (
            <tr key={a.n} data-testid="attempt">
              <td class="num n" data-label="#">
                {a.n}
              </td>
              <td data-label="Worker">{a.worker}</td>
              <td class="num" data-label="Started">
                {time(a.startedAt)}
              </td>
              <td class="num n" data-label="Ran">
                {a.endedAt ? duration(Date.parse(a.endedAt) - Date.parse(a.startedAt)) : '—'}
              </td>
              <td data-label="Outcome">
                <span class={`outcome outcome-${a.outcome ?? 'none'}`}>{a.outcome ?? 'unfinished'}</span>
              </td>
              <td class={`num ${a.evidence?.signal || a.evidence?.exitCode ? 'bad' : ''}`} data-label="Exit / signal" data-testid="exit">
                {exitOf(a)}
              </td>
              <td class="detail" data-label="Error">
                <div>
                  {a.evidence?.errorClass ? <strong>{a.evidence.errorClass}: </strong> : null}
                  {a.error ?? '—'}
                  {a.evidence?.stderr ? (
                    <details>
                      <summary>stderr</summary>
                      <pre>{a.evidence.stderr}</pre>
                    </details>
                  ) : null}
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

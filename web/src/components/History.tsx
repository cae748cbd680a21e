// A job's earlier lives (each with its attempts) and the audit trail of who requeued, edited or purged it.

import { time } from '../format.js';
import type { AuditEntry, Life } from '../types.js';
import { Attempts } from './Attempts.js';

export function History({ lives, audit }: { lives: Life[]; audit: AuditEntry[] }) {
  if (lives.length === 0 && audit.length === 0) return null;
  return (
    <section aria-labelledby="history-title" data-testid="history">
      <h2 id="history-title">History</h2>
      {lives.map((l) => (
        <div key={l.life} data-testid="life">
          <h3>
            Life {l.life}: <span class={`reason reason-${l.end}`}>{l.end}</span> {l.detail}{' '}
            <span class="muted">
              · ended {time(l.endedAt)}, then {l.endedBy}
            </span>
          </h3>
          <Attempts list={l.attempts} caption={`Attempts of life ${l.life}`} />
        </div>
      ))}
      {audit.length > 0 ? (
        <div class="table-wrap">
          <table class="list stack">
            <caption>Audit trail</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Action</th>
                <th scope="col">By</th>
                <th scope="col">Client</th>
                <th scope="col">Peer</th>
              </tr>
            </thead>
            <tbody>
              {audit.map((a, i) => (
                <tr key={i} data-testid="audit">
                  <td class="num" data-label="When">
                    {time(a.at)}
                  </td>
                  <td data-label="Action">{a.action}</td>
                  <td data-label="By">{a.actor}</td>
                  <td data-label="Client">{a.client ?? '—'}</td>
                  <td class="num" data-label="Peer">
                    {a.peer ?? '—'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

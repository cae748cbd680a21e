// Who was hurt: tags (users, accounts) whose jobs waited too long, failed, expired or were quarantined.

import { useState } from 'preact/hooks';
import { query } from '../api.js';
import { count, duration, time } from '../format.js';
import { replaceParams } from '../router.js';
import type { Impact as ImpactReport, ImpactRow } from '../types.js';
import { useApi } from '../use-api.js';
import { Problem } from '../components/Problem.js';
// The formula guard is shared with `lazaret impact --csv`.
import { csvCell } from '../../../src/csv.js';

const COLUMNS: [keyof ImpactRow, string][] = [
  ['tag', 'Tag'],
  ['jobs', 'Jobs'],
  ['waitedTooLong', 'Waited too long'],
  ['failed', 'Failed'],
  ['expired', 'Expired'],
  ['quarantined', 'Quarantined'],
  ['worstWaitMs', 'Worst wait (ms)'],
];

function toCsv(rows: ImpactRow[]): string {
  const lines = [COLUMNS.map(([k]) => k).join(',')];
  for (const r of rows) lines.push(COLUMNS.map(([k]) => csvCell(r[k])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function Impact({ params }: { params: URLSearchParams }) {
  const current = { since: params.get('since') ?? '6h', waitedLongerThan: params.get('waitedLongerThan') ?? '5m', by: params.get('by') ?? '' };
  const [form, setForm] = useState(current);
  const report = useApi<ImpactReport>(`/api/impact${query(current)}`);
  const rows = report.data?.rows ?? [];
  const field = (key: keyof typeof form, label: string, placeholder: string) => (
    <label>
      {label}
      <input value={form[key]} placeholder={placeholder} onInput={(e) => setForm({ ...form, [key]: e.currentTarget.value })} />
    </label>
  );
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Impact</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          replaceParams({ since: form.since.trim(), waitedLongerThan: form.waitedLongerThan.trim(), by: form.by.trim() });
        }}
      >
        {field('since', 'Window (since)', '6h')}
        {field('waitedLongerThan', 'Waited longer than', '5m')}
        {field('by', 'Group by tag key', 'user_id')}
        <button type="submit" class="primary">
          Show
        </button>
        <button type="button" disabled={!rows.length} onClick={() => download(`lazaret-impact-${current.since}.csv`, toCsv(rows))}>
          Export CSV
        </button>
      </form>
      <Problem error={report.error} what="The impact report" />
      {report.data ? (
        <p class="muted num">
          {time(report.data.since)} – {time(report.data.until)}: {rows.length} tag{rows.length === 1 ? '' : 's'} affected
        </p>
      ) : null}
      {rows.length ? (
        <div class="table-wrap">
          <table class="list">
            <thead>
              <tr>
                {COLUMNS.map(([k, label]) => (
                  <th key={k} scope="col" class={k === 'tag' ? '' : 'n'}>
                    {label.replace(' (ms)', '')}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.tag} data-testid="impact-row">
                  <td>{r.tag}</td>
                  <td class="num n">{count(r.jobs)}</td>
                  <td class="num n">{count(r.waitedTooLong)}</td>
                  <td class="num n">{count(r.failed)}</td>
                  <td class="num n">{count(r.expired)}</td>
                  <td class="num n">{count(r.quarantined)}</td>
                  <td class="num n">{duration(r.worstWaitMs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : report.data ? (
        <p class="muted">No tag was affected in this window.</p>
      ) : null}
    </section>
  );
}

// `lazaret impact`: which tags (users, accounts) had jobs that waited too long, failed, expired or were
// quarantined — through the server's HTTP API (/api/impact).

import { ApiClient, type ApiOptions } from '../api.js';
import { csvLine, duration, safe, safeJson, table } from '../format.js';
import type { CliIO } from '../io.js';
import type { ImpactAnswer } from '../../http/schemas.js';

export interface ImpactOptions extends ApiOptions {
  since?: string;
  waitedLongerThan?: string;
  by?: string;
  json?: boolean;
  csv?: boolean;
}

type ImpactReport = ImpactAnswer;

const COLUMNS = ['tag', 'jobs', 'waitedTooLong', 'failed', 'expired', 'quarantined', 'worstWaitMs'] as const;

export async function impact(opts: ImpactOptions, io: CliIO): Promise<number> {
  const api = new ApiClient(opts, io);
  const params = new URLSearchParams({ since: opts.since ?? '6h', waitedLongerThan: opts.waitedLongerThan ?? '5m' });
  if (opts.by) params.set('by', opts.by);
  const report = await api.request<ImpactReport>('GET', `/api/impact?${params}`);
  if (opts.json) {
    io.out(`${safeJson(report, 2)}\n`);
    return 0;
  }
  if (opts.csv) {
    io.out(csvLine([...COLUMNS]) + report.rows.map((r) => csvLine(COLUMNS.map((c) => r[c]))).join(''));
    return 0;
  }
  if (report.rows.length === 0) {
    io.out(`${safe(`no tag had jobs that waited longer than ${opts.waitedLongerThan ?? '5m'}, failed, expired or were quarantined since ${report.since}`)}\n`);
    return 0;
  }
  io.out(`${safe(`since ${report.since} until ${report.until}; worst first`)}\n`);
  io.out(
    table(
      ['TAG', 'JOBS', `WAITED>${opts.waitedLongerThan ?? '5m'}`, 'FAILED', 'EXPIRED', 'QUARANTINED', 'WORST WAIT'],
      report.rows.map((r) => [
        r.tag,
        String(r.jobs),
        String(r.waitedTooLong),
        String(r.failed),
        String(r.expired),
        String(r.quarantined),
        duration(r.worstWaitMs),
      ]),
    ),
  );
  return 0;
}

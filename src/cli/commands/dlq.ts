// `lazaret dlq list|show|requeue|edit|purge`: the quarantine, through the server's HTTP API.

import { readFile } from 'node:fs/promises';
import { ErrorCode, isLazaretError, LazaretError } from '../../errors.js';
import { ApiClient, type ApiOptions } from '../api.js';
import { ago, safe, safeJson, safeLines, table, timeArg } from '../format.js';
import type { CliIO } from '../io.js';
import type { AttemptAnswer, PurgedAnswer, QuarantineEntryAnswer, QuarantineHistoryAnswer, QuarantineListAnswer, RequeuedAnswer } from '../../http/schemas.js';

export interface FilterOptions {
  function?: string;
  reason?: string;
  since?: string;
  olderThan?: string;
}

type Attempt = AttemptAnswer;

/** The lives and audit trail, on an entry and on the history of a job no longer in quarantine. */
type History = Pick<QuarantineHistoryAnswer, 'lives' | 'audit'>;

function filterBody(f: FilterOptions): Record<string, string> {
  const out: Record<string, string> = {};
  if (f.function) out.function = f.function;
  if (f.reason) out.reason = f.reason;
  if (f.since) out.since = timeArg(f.since);
  if (f.olderThan) out.before = timeArg(f.olderThan);
  return out;
}

function ids(args: string[]): number[] {
  return args.map((a) => {
    const n = Number(a);
    if (!Number.isSafeInteger(n) || n < 1) throw new LazaretError(ErrorCode.BAD_REQUEST, `"${a}" is not a quarantine id (see lazaret dlq list)`);
    return n;
  });
}

export async function dlqList(opts: ApiOptions & FilterOptions & { json?: boolean; limit?: string }, io: CliIO): Promise<number> {
  const api = new ApiClient(opts, io);
  const params = new URLSearchParams({ ...filterBody(opts), limit: opts.limit ?? '1000' });
  const res = await api.request<QuarantineListAnswer>('GET', `/api/quarantine?${params}`);
  if (opts.json) {
    io.out(`${safeJson(res.entries, 2)}\n`);
    return 0;
  }
  if (res.entries.length === 0) {
    io.out('quarantine is empty\n');
    return 0;
  }
  io.out(
    table(
      ['ID', 'FUNCTION', 'UNIQUE', 'REASON', 'ATTEMPTS', 'QUARANTINED', 'DETAIL'],
      res.entries.map((e) => [String(e.id), e.function, e.unique || '-', e.reason, String(e.attempts), ago(e.quarantinedAt), (e.detail ?? '').slice(0, 80)]),
    ),
  );
  if (res.total > res.entries.length) io.out(`(${res.entries.length} of ${res.total} shown; narrow with --function, --reason, --since, or --limit)\n`);
  return 0;
}

export async function dlqShow(id: string, opts: ApiOptions & { json?: boolean }, io: CliIO): Promise<number> {
  const api = new ApiClient(opts, io);
  const [n] = ids([id]);
  let e: QuarantineEntryAnswer;
  try {
    e = await api.request<QuarantineEntryAnswer>('GET', `/api/quarantine/${n}`);
  } catch (err) {
    // Requeued or purged: no longer in quarantine, but its lives and who acted are kept.
    if (!isLazaretError(err, ErrorCode.NOT_FOUND)) throw err;
    const h = await api.request<QuarantineHistoryAnswer>('GET', `/api/quarantine/${n}/history`).catch(() => {
      throw err;
    });
    if (opts.json) io.out(`${safeJson(h, 2)}\n`);
    else {
      io.out(`id:           ${n} (no longer in quarantine)\n`);
      printHistory(h, io);
    }
    return 0;
  }
  if (opts.json) {
    io.out(`${safeJson(e, 2)}\n`);
    return 0;
  }
  const lines = [
    `id:           ${e.id}`,
    `handle:       ${e.handle}`,
    `function:     ${e.function}`,
    `unique:       ${e.unique || '-'}`,
    `priority:     ${e.priority}`,
    `reason:       ${e.reason}`,
    `detail:       ${e.detail ?? '-'}`,
    `submitted:    ${e.submittedAt} (${ago(e.submittedAt)})`,
    `quarantined:  ${e.quarantinedAt} (${ago(e.quarantinedAt)})`,
    `deadline:     ${e.deadline ?? '-'}`,
    `payload:      ${e.payloadBytes} bytes${e.payloadTruncated ? ' (preview of the first 1024)' : ''}`,
    `  ${JSON.stringify(e.payloadPreview)}`,
    `attempts:     ${e.attemptList.length}${e.lives.length > 0 ? ` (this life; ${e.lives.length} earlier below)` : ''}`,
  ];
  io.out(safeLines(lines));
  if (e.attemptList.length > 0) io.out(attemptTable(e.attemptList));
  printHistory(e, io);
  return 0;
}

function attemptTable(attempts: Attempt[]): string {
  return table(
    ['#', 'WORKER', 'STARTED', 'ENDED', 'OUTCOME', 'ERROR / EVIDENCE'],
    attempts.map((a) => [String(a.n), a.worker, a.startedAt, a.endedAt ?? '-', a.outcome ?? 'running', describeFailure(a)]),
  );
}

function printHistory(h: History, io: CliIO): void {
  for (const life of h.lives) {
    io.out(`\n${safe(`life ${life.life}: ${life.end}${life.detail ? ` (${life.detail})` : ''}, ended ${life.endedAt}, then ${life.endedBy}`)}\n`);
    if (life.attempts.length > 0) io.out(attemptTable(life.attempts));
  }
  if (h.audit.length > 0) {
    io.out('\naudit:\n');
    io.out(
      table(
        ['AT', 'ACTION', 'BY', 'CLIENT', 'PEER'],
        h.audit.map((a) => [a.at, a.action, a.actor, a.client ?? '-', a.peer ?? '-']),
      ),
    );
  }
}

export function describeFailure(a: Attempt): string {
  const parts: string[] = [];
  if (a.error) parts.push(a.error);
  const ev = a.evidence;
  if (ev) {
    if (ev.signal) parts.push(`signal ${ev.signal}`);
    if (ev.exitCode !== undefined) parts.push(`exit ${ev.exitCode}`);
    if (ev.errorClass) parts.push(ev.errorClass);
    if (ev.stderr) parts.push(`stderr: ${JSON.stringify(ev.stderr.slice(-200))}`);
  }
  return parts.join('; ').replaceAll('\n', ' ');
}

export async function dlqRequeue(args: string[], opts: ApiOptions & FilterOptions & { all?: boolean; json?: boolean }, io: CliIO): Promise<number> {
  const api = new ApiClient(opts, io);
  const body = selection(args, opts, 'Name ids to requeue, or --all (optionally with --function / --reason / --since)');
  const res = await api.request<RequeuedAnswer>('POST', '/api/quarantine/requeue', body);
  if (opts.json) io.out(`${safeJson(res.requeued, 2)}\n`);
  else
    io.out(
      `${safe(`requeued ${res.requeued.length} job${res.requeued.length === 1 ? '' : 's'}${res.requeued.length ? `: ${res.requeued.map((j) => `${j.id} (${j.handle})`).join(', ')}` : ''}`)}\n`,
    );
  if (args.length > 0 && res.requeued.length < args.length) {
    io.err(`not found in quarantine: ${args.filter((a) => !res.requeued.some((j) => String(j.id) === a)).join(', ')}\n`);
    return 1;
  }
  return 0;
}

export async function dlqEdit(id: string, opts: ApiOptions & { payloadFile: string; json?: boolean }, io: CliIO): Promise<number> {
  const api = new ApiClient(opts, io);
  const [n] = ids([id]);
  const payload = opts.payloadFile === '-' ? await readStdin() : await readFile(opts.payloadFile);
  const res = await api.request<RequeuedAnswer>('PUT', `/api/quarantine/${n}/payload`, undefined, payload);
  if (opts.json) io.out(`${safeJson(res.requeued, 2)}\n`);
  else io.out(`${safe(`payload of ${n} replaced (${payload.length} bytes); requeued as ${res.requeued[0]?.handle}`)}\n`);
  return 0;
}

export async function dlqPurge(args: string[], opts: ApiOptions & FilterOptions & { all?: boolean; json?: boolean }, io: CliIO): Promise<number> {
  const api = new ApiClient(opts, io);
  const body = selection(args, opts, 'Name ids to purge, or --older-than T, or --all (with optional filters)');
  const res = await api.request<PurgedAnswer>('POST', '/api/quarantine/purge', body);
  io.out(opts.json ? `${safeJson(res)}\n` : `purged ${res.purged} quarantined job${res.purged === 1 ? '' : 's'}\n`);
  return 0;
}

/** Which entries a requeue or purge acts on: ids, or filters, or everything when --all says so. */
function selection(args: string[], opts: FilterOptions & { all?: boolean }, refusal: string): Record<string, unknown> {
  const body: Record<string, unknown> = filterBody(opts);
  if (args.length > 0) body.ids = ids(args);
  else if (!opts.all && Object.keys(body).length === 0) throw new LazaretError(ErrorCode.BAD_REQUEST, refusal);
  if (opts.all) body.all = true;
  return body;
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

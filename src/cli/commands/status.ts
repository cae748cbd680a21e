// `lazaret status`: a table per function — queued by priority, running, workers, oldest age, rate,
// quarantined — from the server's HTTP API; `--watch` redraws it in place every 2 s.

import { ApiClient, type ApiOptions } from '../api.js';
import { duration, safeJson, table } from '../format.js';
import type { CliIO } from '../io.js';
import type { FunctionAnswer } from '../../http/schemas.js';
import type { Optional } from '../../http/shape.js';

export interface StatusOptions extends ApiOptions {
  watch?: boolean;
  json?: boolean;
}

/** A function as GET /api/functions serialises it; `stuckWorkers` is absent from older servers. */
type FunctionRow = Optional<FunctionAnswer, 'stuckWorkers'>;

const REFRESH_MS = 2000;
/** Cursor home, clear the screen: the next frame replaces the last one. */
const CLEAR = '\x1b[H\x1b[2J';

export function statusTable(functions: FunctionRow[], now = new Date()): string {
  const head = `lazaret status at ${now.toISOString()}\n`;
  if (functions.length === 0) return `${head}no functions yet: no jobs submitted and no workers connected\n`;
  // A function with work queued and nobody to do it is the outage this table exists to show.
  const rows = functions.map((f) => [
    f.queued.total > 0 && f.workers === 0 ? `${f.name} (!)` : f.name,
    String(f.queued.high),
    String(f.queued.normal),
    String(f.queued.low),
    String(f.scheduled),
    String(f.running),
    f.stuckWorkers ? `${f.workers} +${f.stuckWorkers} stuck` : String(f.workers),
    duration(f.oldestQueuedMs),
    `${f.rates.completedPerMin}/${f.rates.failedPerMin}`,
    String(f.quarantined),
  ]);
  const flagged = functions.filter((f) => f.queued.total > 0 && f.workers === 0);
  const note =
    flagged.length === 0
      ? ''
      : flagged.some((f) => f.stuckWorkers)
        ? '(!) jobs queued and no worker that can take them (stuck workers are in a job that timed out)\n'
        : '(!) jobs queued and no worker connected\n';
  return head + table(['FUNCTION', 'HIGH', 'NORMAL', 'LOW', 'SCHEDULED', 'RUNNING', 'WORKERS', 'OLDEST', 'DONE/FAILED PER MIN', 'QUARANTINED'], rows) + note;
}

export async function status(opts: StatusOptions, io: CliIO, signal?: AbortSignal): Promise<number> {
  const api = new ApiClient(opts, io);
  const fetchFunctions = async (): Promise<FunctionRow[]> => (await api.request<{ functions: FunctionRow[] }>('GET', '/api/functions')).functions;
  if (!opts.watch) {
    const functions = await fetchFunctions();
    io.out(opts.json ? `${safeJson({ functions }, 2)}\n` : statusTable(functions));
    return 0;
  }
  const stop = signal ?? interrupted();
  while (!stop.aborted) {
    const functions = await fetchFunctions();
    io.out(opts.json ? `${safeJson({ functions })}\n` : CLEAR + statusTable(functions));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, REFRESH_MS);
      stop.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
  }
  return 0;
}

/** Aborts on Ctrl-C, so --watch ends with status 0 instead of being killed. */
function interrupted(): AbortSignal {
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  return ac.signal;
}

// `lazaret status`: a line about the store and its nodes, then a table per function — queued by
// priority, running, workers, oldest age, rate, quarantined — from the server's HTTP API; `--watch`
// redraws it in place every 2 s.

import { ApiClient, type ApiOptions } from '../api.js';
import { duration, safe, safeJson, table } from '../format.js';
import type { CliIO } from '../io.js';
import { ErrorCode, isLazaretError } from '../../errors.js';
import type { FunctionAnswer, NodeListAnswer } from '../../http/schemas.js';
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

/** `store … (schema lazaret), schema version 4, 3 nodes: a (this one), b, c (lease expired)`. */
export function nodesLine(list: NodeListAnswer): string {
  const names = list.nodes.map((n) => `${n.name}${n.self ? ' (this one)' : ''}${n.expired ? ' (lease expired)' : ''}`);
  const n = list.nodes.length;
  return `${safe(`store ${list.store}, schema version ${list.schemaVersion}, ${n} node${n === 1 ? '' : 's'}: ${names.join(', ')}`)}\n`;
}

/** `nodes`: null from a server without /api/nodes (older than node leases). */
export function statusTable(functions: FunctionRow[], nodes: NodeListAnswer | null, now = new Date()): string {
  const head = `lazaret status at ${now.toISOString()}\n${nodes ? nodesLine(nodes) : ''}`;
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
  const fetchAll = async (): Promise<[FunctionRow[], NodeListAnswer | null]> =>
    Promise.all([
      api.request<{ functions: FunctionRow[] }>('GET', '/api/functions').then((r) => r.functions),
      api.request<NodeListAnswer>('GET', '/api/nodes').catch((err: unknown) => {
        if (isLazaretError(err, ErrorCode.NOT_FOUND)) return null;
        throw err;
      }),
    ]);
  // --json: the nodes' answer as /api/nodes gives it (store, schemaVersion, nodes), beside the functions.
  const asJson = (functions: FunctionRow[], nodes: NodeListAnswer | null): object => ({ ...nodes, functions });
  if (!opts.watch) {
    const [functions, nodes] = await fetchAll();
    io.out(opts.json ? `${safeJson(asJson(functions, nodes), 2)}\n` : statusTable(functions, nodes));
    return 0;
  }
  const stop = signal ?? interrupted();
  while (!stop.aborted) {
    const [functions, nodes] = await fetchAll();
    io.out(opts.json ? `${safeJson(asJson(functions, nodes))}\n` : CLEAR + statusTable(functions, nodes));
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

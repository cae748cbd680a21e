// /api/supervisors: `lazaret supervise` processes report the programs they run; the dashboard, /health
// and operators read them back (docs/supervisor.md).

import { hostname } from 'node:os';
import type { FastifyPluginAsync } from 'fastify';
import type { Engine } from '../../core/engine.js';
import { iso } from '../../core/handoff.js';
import { DEFAULT_REPORT_INTERVAL_MS, type ReportAnswer, type StuckCopy, type SupervisorReport } from '../../observe/supervisors.js';
import { ErrorCode, LazaretError } from '../../errors.js';
import { type SupervisorListAnswer, supervisorListSchema } from '../schemas.js';
import type { HttpContext } from '../server.js';

const exitSchema = {
  type: 'object',
  required: ['at', 'code', 'signal'],
  properties: {
    at: { type: 'string', format: 'date-time' },
    code: { type: ['integer', 'null'] },
    signal: { type: ['string', 'null'], maxLength: 32 },
    pid: { type: ['integer', 'null'], minimum: 1 },
    stderr: { type: 'string', maxLength: 8192 },
    message: { type: 'string', maxLength: 1000 },
  },
} as const;

const programSchema = {
  type: 'object',
  required: ['name', 'command', 'copies', 'running', 'restarts', 'flapping', 'lastExits'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200 },
    command: { type: 'string', maxLength: 4096 },
    copies: { type: 'integer', minimum: 0 },
    running: { type: 'integer', minimum: 0 },
    restarts: { type: 'integer', minimum: 0 },
    recycled: { type: 'integer', minimum: 0 },
    flapping: { type: 'boolean' },
    lastExits: { type: 'array', maxItems: 100, items: exitSchema },
    pids: { type: 'array', maxItems: 1000, items: { type: 'integer', minimum: 1 } },
  },
} as const;

const reportSchema = {
  type: 'object',
  required: ['host', 'pid', 'programs'],
  properties: {
    id: { type: 'string' },
    host: { type: 'string', minLength: 1, maxLength: 255 },
    pid: { type: 'integer', minimum: 1 },
    intervalMs: { type: 'integer', minimum: 100 },
    programs: { type: 'array', maxItems: 1000, items: programSchema },
  },
} as const;

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;

export function supervisorRoutes(ctx: HttpContext): FastifyPluginAsync {
  const registry = ctx.supervisors;
  return async (app) => {
    // The answer's schema lists every field a report may carry: fastify serialises with it.
    app.get(
      '/',
      { schema: { summary: 'What each supervisor reported last, and whether it is stale', tags: ['supervisors'], response: { 200: supervisorListSchema } } },
      async (): Promise<SupervisorListAnswer> => ({
        supervisors: registry.list().map((s) => ({ ...s, reportedAt: iso(s.reportedAt)! })),
      }),
    );

    app.put('/:id', { schema: { params: idParams, body: reportSchema } }, async (request) => {
      const { id } = request.params as { id: string };
      const body = request.body as Omit<SupervisorReport, 'id' | 'intervalMs'> & { id?: string; intervalMs?: number };
      if (body.id !== undefined && body.id !== id) {
        throw new LazaretError(ErrorCode.BAD_REQUEST, `The body's id "${body.id}" differs from the id "${id}" in the path`);
      }
      const deaths = registry.report({
        id,
        host: body.host,
        pid: body.pid,
        intervalMs: body.intervalMs ?? DEFAULT_REPORT_INTERVAL_MS,
        programs: body.programs.map((p) => ({ ...p, recycled: p.recycled ?? 0 })),
      });
      // Crash evidence for workers in any language: the exit goes on the attempt its connection held.
      for (const death of deaths) ctx.engine.processDied(death);
      // Pids mean something only on this host: a supervisor elsewhere is never told to kill one.
      const pids = new Set(body.programs.flatMap((p) => p.pids ?? []));
      const answer: ReportAnswer = { ok: true, stuck: body.host === hostname() && pids.size > 0 ? stuckCopies(ctx.engine, pids) : [] };
      return answer;
    });

    app.delete('/:id', { schema: { params: idParams } }, async (request) => {
      const { id } = request.params as { id: string };
      if (!registry.remove(id)) throw new LazaretError(ErrorCode.NOT_FOUND, `No supervisor with id "${id}" has reported`);
      return { removed: id };
    });
  };
}

/** Stuck workers that are (or run inside) one of these processes, named by that process's pid. */
function stuckCopies(engine: Engine, pids: ReadonlySet<number>): StuckCopy[] {
  const now = engine.clock.now();
  const out: StuckCopy[] = [];
  for (const w of engine.workers) {
    const s = w.stuck.values().next().value;
    if (s === undefined) continue;
    const pid = [w.conn.pid, w.conn.pgid].find((p) => p !== null && pids.has(p));
    if (pid === undefined || pid === null) continue;
    out.push({ pid, worker: w.conn.name, function: s.fn.name, handle: s.handle, stuckMs: Math.max(0, now - s.timedOutAt) });
  }
  return out;
}

// /api/workers: every worker connection, what it serves and what it runs now — and whether that has
// run past its hang threshold (the same threshold the health checks use).

import type { FastifyPluginAsync } from 'fastify';
import { iso } from '../../core/handoff.js';
import { type SupervisedAnswer, supervisedSchema, type WorkerAnswer, workerSchema } from '../schemas.js';
import type { HttpContext } from '../server.js';

export function workerRoutes(ctx: HttpContext): FastifyPluginAsync {
  const { engine } = ctx;
  return async (app) => {
    app.get(
      '/workers',
      {
        schema: {
          summary: 'Worker connections (functions, current job, running time, hung) and supervised programs (flapping, last exits)',
          tags: ['workers'],
          response: {
            200: { type: 'object', properties: { workers: { type: 'array', items: workerSchema }, supervised: { type: 'array', items: supervisedSchema } } },
          },
        },
      },
      async (): Promise<{ workers: WorkerAnswer[]; supervised: SupervisedAnswer[] }> => {
        const now = engine.clock.now();
        const workers = [...engine.workers].map((w): WorkerAnswer => {
          // held is in assignment order: the first is the one it is most likely running.
          const job = w.held.values().next().value;
          const startedAt = job?.current?.startedAt ?? null;
          const runningMs = startedAt === null ? 0 : Math.max(0, now - startedAt);
          const stuck = w.stuck.values().next().value;
          return {
            id: w.conn.id,
            name: w.conn.name,
            address: w.conn.address,
            functions: [...w.abilities.keys()],
            connectedAt: iso(w.conn.connectedAt)!,
            pid: w.conn.pid,
            // The oldest attempt it never answered for after its timeout: it takes no job until it does.
            stuck:
              stuck === undefined
                ? null
                : {
                    handle: stuck.handle,
                    function: stuck.fn.name,
                    startedAt: iso(stuck.startedAt)!,
                    timedOutAt: iso(stuck.timedOutAt)!,
                    stuckMs: Math.max(0, now - stuck.timedOutAt),
                  },
            job:
              job === undefined || startedAt === null
                ? null
                : {
                    handle: job.handle,
                    function: job.fn.name,
                    startedAt: iso(startedAt)!,
                    runningMs,
                    hung: runningMs > ctx.health.hangThresholdFor(job.fn.name),
                  },
          };
        });
        // Programs run by `lazaret supervise`, flapping ones first: a worker that keeps dying is never
        // connected long enough to show up above.
        const supervised = ctx.supervisors
          .list()
          .flatMap((s) => s.programs.map((p) => ({ supervisor: s.id, host: s.host, stale: s.stale, ...p })))
          .sort((a, b) => Number(b.flapping) - Number(a.flapping));
        return { workers: workers.sort((a, b) => a.id - b.id), supervised };
      },
    );
  };
}

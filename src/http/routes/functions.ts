// /api/functions and /api/history: what each function has queued, running and waiting, its workers and
// rates, and the last hour of it for charts.

import type { FastifyPluginAsync } from 'fastify';
import type { Activity } from '../../observe/activity.js';
import { STEP_MS } from '../../observe/activity.js';
import { availableWorkers, stuckWorkers } from '../../core/worker.js';
import { type FunctionAnswer, functionSchema } from '../schemas.js';
import type { HttpContext } from '../server.js';

const counts = {
  type: 'object',
  properties: { queued: { type: 'integer' }, running: { type: 'integer' }, completed: { type: 'integer' }, failed: { type: 'integer' } },
};

export function functionRoutes(ctx: HttpContext, activity: Activity): FastifyPluginAsync {
  const { engine } = ctx;
  return async (app) => {
    app.get(
      '/functions',
      {
        schema: {
          summary: 'Per function: queued by priority, scheduled, running, workers, oldest queued age, quarantined, rates per minute',
          tags: ['functions'],
          response: { 200: { type: 'object', properties: { functions: { type: 'array', items: functionSchema } } } },
        },
      },
      async (): Promise<{ functions: FunctionAnswer[] }> => {
        const quarantined = await engine.quarantine.countByFunction();
        const now = engine.clock.now();
        const names = new Set([...[...engine.functions.all()].map((f) => f.name), ...Object.keys(quarantined)]);
        const functions = [...names].sort().map((name): FunctionAnswer => {
          const f = engine.functions.get(name);
          const oldest = f?.oldestQueuedAt() ?? null;
          return {
            name,
            queued: { high: f?.queued[0] ?? 0, normal: f?.queued[1] ?? 0, low: f?.queued[2] ?? 0, total: f?.runnable ?? 0 },
            scheduled: f ? f.scheduled[0] + f.scheduled[1] + f.scheduled[2] : 0,
            running: f?.running ?? 0,
            workers: f ? availableWorkers(f) : 0,
            stuckWorkers: f ? stuckWorkers(f).length : 0,
            oldestQueuedMs: oldest === null ? null : Math.max(0, now - oldest),
            quarantined: quarantined[name] ?? 0,
            rates: activity.rates(name),
          };
        });
        return { functions };
      },
    );

    app.get<{ Querystring: { minutes?: number } }>(
      '/history',
      {
        schema: {
          summary: 'Per function counts per 10 s step over the last hour (or fewer minutes), oldest first',
          tags: ['functions'],
          querystring: { type: 'object', properties: { minutes: { type: 'integer', minimum: 1, maximum: 60, default: 60 } } },
          response: {
            200: {
              type: 'object',
              properties: {
                stepMs: { type: 'integer' },
                points: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: { at: { type: 'string', format: 'date-time' }, functions: { type: 'object', additionalProperties: counts } },
                  },
                },
              },
            },
          },
        },
      },
      async (request) => ({
        stepMs: STEP_MS,
        points: activity.history(request.query.minutes ?? 60).map((p) => ({
          at: new Date(p.at).toISOString(),
          functions: Object.fromEntries(
            [...p.functions].map(([name, a]) => [name, { queued: a.queued, running: a.running, completed: a.completed, failed: a.failed }]),
          ),
        })),
      }),
    );
  };
}

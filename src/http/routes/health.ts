// GET /health: 200 when every check passes, 503 otherwise, with every check, its state and why
// (docs/http-api.md). Each request runs the checks afresh (observe/health.ts).

import type { FastifyPluginAsync } from 'fastify';
import { iso } from '../../core/handoff.js';
import type { HttpContext } from '../server.js';

export function healthRoutes(ctx: HttpContext): FastifyPluginAsync {
  return async (app) => {
    app.get('/health', async (_request, reply) => {
      const report = await ctx.health.check();
      return reply.status(report.status === 'ok' ? 200 : 503).send({ status: report.status, checkedAt: iso(report.checkedAt), checks: report.checks });
    });
  };
}

// GET /metrics: Prometheus text format (observe/metrics.ts says what is counted and how).

import type { FastifyPluginAsync } from 'fastify';
import { Metrics } from '../../observe/metrics.js';
import type { HttpContext } from '../server.js';

export function metricsRoutes(ctx: HttpContext): FastifyPluginAsync {
  return async (app) => {
    const metrics = new Metrics(ctx.engine, ctx.health, ctx.alerts, ctx.config.cluster.node);
    app.addHook('onClose', async () => metrics.close());
    app.get('/metrics', async (_request, reply) => {
      const text = await metrics.registry.metrics();
      return reply.header('content-type', metrics.registry.contentType).send(text);
    });
  };
}

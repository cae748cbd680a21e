// GET /metrics: Prometheus text format (http/metrics.ts says what is counted and how).

import type { FastifyPluginAsync } from 'fastify';
import type { Metrics } from '../metrics.js';

export function metricsRoutes(metrics: Metrics): FastifyPluginAsync {
  return async (app) => {
    app.get('/metrics', async (_request, reply) => {
      const text = await metrics.registry.metrics();
      return reply.header('content-type', metrics.registry.contentType).send(text);
    });
  };
}

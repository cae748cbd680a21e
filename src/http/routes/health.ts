// /health: a summary that load balancers and people can read. (Checks on workers, queue depth and job
// age arrive with the observability work.)

import type { FastifyPluginAsync } from 'fastify';
import type { HttpContext } from '../server.js';

export function healthRoutes(ctx: HttpContext): FastifyPluginAsync {
  return async (app) => {
    app.get('/health', async () => {
      const functions = [...ctx.engine.functions.all()].map((f) => ({
        name: f.name,
        queued: f.runnable,
        scheduled: f.scheduled[0] + f.scheduled[1] + f.scheduled[2],
        running: f.running,
        workers: f.workers.size,
      }));
      return { status: 'ok', jobs: ctx.engine.jobCount, connections: ctx.connections.size, functions };
    });
  };
}

import type { FastifyPluginAsync } from 'fastify';
import type { HttpContext } from '../server.js';

export function quarantineRoutes(_ctx: HttpContext): FastifyPluginAsync {
  return async () => undefined;
}

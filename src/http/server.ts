// The HTTP side (port 4731): REST API, /health. Calls core, never storage directly.

import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Engine } from '../core/engine.js';
import type { Connection } from '../gearman/connection.js';
import { registerAuth } from './auth.js';
import { registerErrorHandler } from './errors.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { healthRoutes } from './routes/health.js';
import { quarantineRoutes } from './routes/quarantine.js';

export interface HttpContext {
  engine: Engine;
  config: Readonly<Config>;
  log: Logger;
  connections: Set<Connection>;
}

export interface HttpServer {
  readonly port: number;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

export async function buildApp(ctx: HttpContext): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({ loggerInstance: ctx.log.child({ component: 'http' }, { level: 'warn' }) as FastifyBaseLogger, bodyLimit: ctx.config.limits.maxPayloadBytes * 2 + 65536 });
  registerErrorHandler(app);
  registerAuth(app, ctx.config);
  await app.register(healthRoutes(ctx));
  await app.register(quarantineRoutes(ctx), { prefix: '/api/quarantine' });
  await app.register(dashboardRoutes());
  return app;
}

export async function startHttp(ctx: HttpContext): Promise<HttpServer> {
  const app = await buildApp(ctx);
  await app.listen({ host: ctx.config.httpHost, port: ctx.config.httpPort ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { port, app, close: () => app.close() };
}

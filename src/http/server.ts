// The HTTP side (port 4731): REST API, OpenAPI document, /health, /metrics. Calls core, never storage directly.

import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Engine } from '../core/engine.js';
import type { HealthChecker } from '../observe/health.js';
import type { AlertStats } from '../observe/alerts/outbox.js';
import type { SupervisorRegistry } from '../observe/supervisors.js';
import cors from '@fastify/cors';
import { Activity } from '../observe/activity.js';
import { registerAuth } from './auth.js';
import { registerErrorHandler } from './errors.js';
import { registerOpenApi } from './openapi.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { functionRoutes } from './routes/functions.js';
import { healthRoutes } from './routes/health.js';
import { impactRoutes } from './routes/impact.js';
import { jobRoutes } from './routes/jobs.js';
import { metricsRoutes } from './routes/metrics.js';
import { quarantineRoutes } from './routes/quarantine.js';
import { workerRoutes } from './routes/workers.js';
import { supervisorRoutes } from './routes/supervisors.js';

export interface HttpContext {
  engine: Engine;
  health: HealthChecker;
  config: Readonly<Config>;
  log: Logger;
  /** What `lazaret supervise` processes report; the engine asks it which workers are supervised. */
  supervisors: SupervisorRegistry;
  /** The webhook alerts' counts for /metrics; null when no webhook is configured. */
  alerts: AlertStats | null;
}

export interface HttpServer {
  readonly port: number;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

export async function buildApp(ctx: HttpContext): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({ loggerInstance: ctx.log.child({ component: 'http' }, { level: 'warn' }) as FastifyBaseLogger, bodyLimit: ctx.config.limits.maxPayloadBytes * 2 + 65536 });
  registerErrorHandler(app);
  // Before auth: a browser's preflight carries no token and must still learn the allowed origins.
  if (ctx.config.http.corsOrigins.length > 0) await app.register(cors, { origin: [...ctx.config.http.corsOrigins] });
  registerAuth(app, ctx.config);
  await registerOpenApi(app);
  const activity = new Activity(ctx.engine);
  activity.start();
  app.addHook('onClose', async () => activity.stop());
  await app.register(healthRoutes(ctx));
  await app.register(jobRoutes(ctx), { prefix: '/api/jobs' });
  await app.register(functionRoutes(ctx, activity), { prefix: '/api' });
  await app.register(workerRoutes(ctx), { prefix: '/api' });
  await app.register(impactRoutes(ctx), { prefix: '/api' });
  await app.register(metricsRoutes(ctx));
  await app.register(quarantineRoutes(ctx), { prefix: '/api/quarantine' });
  await app.register(supervisorRoutes(ctx), { prefix: '/api/supervisors' });
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

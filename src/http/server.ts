// The HTTP side (port 4731): REST API, OpenAPI document, /health, /metrics. Calls core, never storage directly.

import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions, type Server as TlsServer } from 'node:tls';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Engine } from '../core/engine.js';
import type { HealthChecker } from '../observe/health.js';
import type { AlertStats } from '../observe/alerts/outbox.js';
import type { SupervisorRegistry } from '../observe/supervisors.js';
import cors from '@fastify/cors';
import { Activity } from '../observe/activity.js';
import { ErrorCode, LazaretError } from '../errors.js';
import { classifyRoutes, registerAuth } from './auth.js';
import { AuthFailureLog } from './auth-failures.js';
import { registerBrowserGuards } from './browser.js';
import { registerErrorHandler, registerNotFoundHandler } from './errors.js';
import { registerOpenApi } from './openapi.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { functionRoutes } from './routes/functions.js';
import { healthRoutes } from './routes/health.js';
import { impactRoutes } from './routes/impact.js';
import { jobRoutes } from './routes/jobs.js';
import { metricsRoutes } from './routes/metrics.js';
import { quarantineRoutes } from './routes/quarantine.js';
import { nodeRoutes } from './routes/nodes.js';
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
  /** Reads the HTTPS certificate and key again; open connections keep theirs (no-op without TLS). */
  reloadTls(): void;
  close(): Promise<void>;
}

export async function buildApp(ctx: HttpContext, tls: SecureContextOptions | null = null): Promise<FastifyInstance> {
  const { requestTimeoutMs } = ctx.config.http;
  // Node reads requestTimeout when the server is made (setting it later, as fastify does, has no effect),
  // and looks for requests past it every connectionsCheckingInterval (30 s by default).
  const checking = { requestTimeout: requestTimeoutMs, connectionsCheckingInterval: Math.min(1000, requestTimeoutMs) };
  const options = {
    loggerInstance: ctx.log.child({ component: 'http' }, { level: 'warn' }) as FastifyBaseLogger,
    bodyLimit: ctx.config.limits.maxPayloadBytes * 2 + 65536,
    requestTimeout: requestTimeoutMs,
    // Also closes a connection that never sends a request; event streams write a keepalive well within it.
    connectionTimeout: ctx.config.http.idleTimeoutMs,
  };
  // Fastify's types pick the server kind from the options; both kinds are one FastifyInstance to us.
  const app = (tls === null ? Fastify({ ...options, http: checking }) : Fastify({ ...options, https: { ...tls, ...checking } })) as unknown as FastifyInstance;
  // Past it, Node closes each new connection as it arrives: a flood cannot take every descriptor.
  app.server.maxConnections = ctx.config.http.maxConnections;
  registerErrorHandler(app);
  registerNotFoundHandler(app);
  classifyRoutes(app);
  // Before auth: a browser's preflight carries no token and must still learn the allowed origins.
  if (ctx.config.http.corsOrigins.length > 0) await app.register(cors, { origin: [...ctx.config.http.corsOrigins] });
  registerBrowserGuards(app, ctx.config);
  registerAuth(app, ctx.config, new AuthFailureLog(ctx.log.child({ component: 'http' }), ctx.engine.clock));
  await registerOpenApi(app);
  const activity = new Activity(ctx.engine);
  activity.start();
  app.addHook('onClose', async () => activity.stop());
  await app.register(healthRoutes(ctx));
  await app.register(jobRoutes(ctx), { prefix: '/api/jobs' });
  await app.register(functionRoutes(ctx, activity), { prefix: '/api' });
  await app.register(workerRoutes(ctx), { prefix: '/api' });
  await app.register(nodeRoutes(ctx), { prefix: '/api' });
  await app.register(impactRoutes(ctx), { prefix: '/api' });
  await app.register(metricsRoutes(ctx));
  await app.register(quarantineRoutes(ctx), { prefix: '/api/quarantine' });
  await app.register(supervisorRoutes(ctx), { prefix: '/api/supervisors' });
  await app.register(dashboardRoutes());
  return app;
}

export async function startHttp(ctx: HttpContext): Promise<HttpServer> {
  const files = ctx.config.http.tls;
  let tls: SecureContextOptions | null = null;
  try {
    tls = files === null ? null : readTls(files);
  } catch (err) {
    throw new LazaretError(ErrorCode.CONFIG_INVALID, `Cannot use the HTTPS certificate ${files!.cert} with the key ${files!.key}: ${(err as Error).message}`, {
      hint: 'http.tls.cert is the PEM certificate chain, http.tls.key its PEM private key (unencrypted)',
    });
  }
  const app = await buildApp(ctx, tls);
  await app.listen({ host: ctx.config.httpHost, port: ctx.config.httpPort ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const reloadTls = (): void => {
    if (files === null) return;
    try {
      (app.server as unknown as TlsServer).setSecureContext(readTls(files));
      ctx.log.info({ cert: files.cert }, 'HTTPS certificate reloaded');
    } catch (err) {
      // The old certificate stays in use: a half-written file must not take the port down.
      ctx.log.error({ err: (err as Error).message, cert: files.cert, key: files.key }, 'HTTPS certificate reload failed; still serving the previous one');
    }
  };
  return { port, app, reloadTls, close: () => app.close() };
}

function readTls(files: { cert: string; key: string }): SecureContextOptions {
  const context = { cert: readFileSync(files.cert), key: readFileSync(files.key) };
  // Fails here, with the reason, when the key does not belong to the certificate.
  createSecureContext(context);
  return context;
}

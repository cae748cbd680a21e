// One Lazaret node: the store, the engine, and its two doors (Gearman on 4730, HTTP on 4731).

import { once } from 'node:events';
import pino, { type Logger } from 'pino';
import { checkExposure, type Config } from './config.js';
import { ErrorCode, type LazaretError } from './errors.js';
import { systemClock, type Clock } from './core/clock.js';
import { DEFAULT_RESCUE_MS, Engine } from './core/engine.js';
import { PolicyBook } from './core/policy.js';
import { TagRules } from './core/tags.js';
import type { Connection } from './gearman/connection.js';
import { httpConnectionsAllowed, readDescriptors } from './gearman/descriptors.js';
import { GearmanServer } from './gearman/server.js';
import type { HttpServer } from './http/server.js';
import { startAlerts, type RunningAlerts } from './observe/alerts/start.js';
import { HealthChecker } from './observe/health.js';
import { logStateChanges } from './observe/state-log.js';
import { SupervisorRegistry } from './observe/supervisors.js';
import type { StorageAdapter } from './storage/adapter.js';
import { PostgresStore } from './storage/postgres/store.js';
import { SqliteStore } from './storage/sqlite/store.js';
import { VERSION } from './version.js';

export { VERSION };
/** What `version` answers: a 1.1.x number >= 1.1.19 so clients such as Net_Gearman use milliseconds. */
export const GEARMAN_VERSION = `1.1.20+lazaret.${VERSION}`;

export interface ServerOptions {
  logger?: Logger;
  clock?: Clock;
  store?: StorageAdapter;
  random?: () => number;
}

export interface RunningServer {
  readonly engine: Engine;
  readonly config: Readonly<Config>;
  readonly log: Logger;
  /** Checked every health.intervalMs; addSource() adds checks from elsewhere. */
  readonly health: HealthChecker;
  /** What `lazaret supervise` processes report (PUT /api/supervisors/:id). */
  readonly supervisors: SupervisorRegistry;
  /** The webhook alerts; null when none are configured. */
  readonly alerts: RunningAlerts | null;
  /** The Gearman port: TLS when `ssl` is on. */
  readonly gearmanPort: number;
  /** The plain-text Gearman port beside a TLS one, or null. */
  readonly gearmanPlainPort: number | null;
  readonly httpPort: number | null;
  /**
   * Set when a peer rescued this node's jobs after its lease expired (LAZ_STORE_FENCED): the node has
   * stopped itself and must be started again (`lazaret serve` exits with 75, EX_TEMPFAIL).
   */
  readonly fenced: LazaretError | null;
  /** Resolves when the server has stopped (by stop(), a signal or the admin `shutdown`). */
  readonly stopped: Promise<void>;
  /** Reads TLS certificates and keys again (SIGHUP); connections already open keep theirs. */
  reloadTls(): void;
  /** Graceful stop: no new work, running jobs get the grace period, then everything closes. */
  stop(opts?: { graceMs?: number }): Promise<void>;
}

export async function startServer(config: Readonly<Config>, opts: ServerOptions = {}): Promise<RunningServer> {
  checkExposure(config);
  const log = opts.logger ?? pino({ level: config.logLevel, base: { pid: process.pid } });
  // A node fenced by its peers may write nothing more: it stops (once its doors exist, to be closed).
  let fenced: LazaretError | null = null;
  let up = false;
  const onFenced = (err: LazaretError): void => {
    if (fenced !== null) return;
    fenced = err;
    if (up) stopFenced(err);
  };
  // Loaded only when wanted (fastify costs about 10 MiB of memory), and before the store opens: loading
  // it can hold the event loop for seconds on a busy machine, and a lease taken before would run out.
  const httpModule = config.httpPort === null ? null : await import('./http/server.js');
  const store = opts.store ?? storeFor(config, onFenced);
  await store.open();
  const clock = opts.clock ?? systemClock;
  const supervisors = new SupervisorRegistry(clock);
  const engine = new Engine({
    store,
    logger: log,
    clock,
    supervision: supervisors,
    random: opts.random,
    policies: new PolicyBook(config.policies),
    handlePrefix: config.handlePrefix,
    limits: {
      maxPayloadBytes: config.limits.maxPayloadBytes,
      maxUniqueBytes: config.limits.maxUniqueBytes,
      maxQueue: config.limits.maxQueue,
      maxFunctionNameBytes: config.limits.maxFunctionNameBytes,
      maxFunctions: config.limits.maxFunctions,
    },
    quarantineFunction: config.quarantineFunction,
    tagRules: new TagRules(config.tags),
    resultRetentionMs: config.results.retention,
    window: config.queue.window,
    // Twice per lease at least, and every 5 s at most: a dead node's jobs run elsewhere within lease + 5 s.
    rescueMs: Math.min(DEFAULT_RESCUE_MS, Math.floor(config.cluster.leaseMs / 2)),
  });
  try {
    await engine.start();
  } catch (err) {
    // A store that went away while the node read it: its connections must not keep the process alive.
    await store.close().catch(() => {});
    throw err;
  }
  const stopStateLog = logStateChanges(engine, log);
  const health = new HealthChecker(engine, log.child({ component: 'health' }), { ...config.health, node: config.cluster.node });
  // Flapping supervised programs and silent supervisors turn /health red like any other check.
  health.addSource(() => supervisors.checks());
  health.start();
  const alerts = await startAlerts(engine, store, health, config, log);

  const connections = new Set<Connection>();
  let stopping: Promise<void> | null = null;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));

  const gearman = new GearmanServer({
    engine,
    config,
    log,
    connections,
    version: GEARMAN_VERSION,
    shutdown: (graceful) => void stop({ graceMs: graceful ? config.shutdownGraceMs : 0 }),
  });
  const address = await gearman.listen(config.host, config.port);
  let http: HttpServer | null = null;
  if (httpModule !== null) {
    const { startHttp } = httpModule;
    const fds = readDescriptors();
    const httpAllowed = httpConnectionsAllowed(config.http.maxConnections, fds, gearman.maxConnections);
    if (fds !== null && httpAllowed < config.http.maxConnections) {
      log.warn(
        { code: ErrorCode.DESCRIPTOR_LIMIT, maxConnections: config.http.maxConnections, allowed: httpAllowed, ulimit: fds.limit, open: fds.open },
        `http.maxConnections ${config.http.maxConnections} is more than the file-descriptor limit leaves beside the Gearman connections (ulimit -n ${fds.limit}): accepting at most ${httpAllowed} HTTP connections; raise ulimit -n`,
      );
    }
    const httpConfig = { ...config, http: { ...config.http, maxConnections: httpAllowed } };
    try {
      http = await startHttp({ engine, health, config: httpConfig, log, supervisors, alerts: alerts?.outbox ?? null });
    } catch (err) {
      // Nothing may keep running when the start fails (a bad certificate, a port in use).
      gearman.stopAccepting();
      gearman.closeAll();
      health.stop();
      alerts?.close();
      stopStateLog();
      await engine.close();
      throw err;
    }
  }

  const gearmanAddresses = [`${address.address}:${address.port}`, ...(address.plainPort === null ? [] : [`${address.address}:${address.plainPort}`])];
  const httpUrl = http ? `${config.http.tls ? 'https' : 'http'}://${config.httpHost}:${http.port}` : null;
  store.nodesPublish(() => {
    const workers: Record<string, number> = {};
    const able = new Set<unknown>();
    for (const fn of engine.functions.all()) {
      if (fn.workers.size > 0) workers[fn.name] = fn.workers.size;
      for (const w of fn.workers) able.add(w);
    }
    return { gearman: gearmanAddresses, http: httpUrl, version: VERSION, workers, workersTotal: able.size, jobsHeld: engine.jobCount };
  });

  log.info(
    {
      gearman: `${address.address}:${address.port}`,
      tls: gearman.tls,
      plainPort: address.plainPort,
      http: httpUrl ?? 'off',
      node: config.cluster.node,
      store: store.describe(),
      ...(config.store === null ? { db: config.db } : {}),
    },
    `lazaret ${VERSION} listening on ${address.address}:${address.port}${gearman.tls ? ' (TLS)' : ''}${address.plainPort === null ? '' : ` and ${address.address}:${address.plainPort} (plain)`}, storing in ${store.describe()}`,
  );

  up = true;
  if (fenced !== null) stopFenced(fenced);

  function stopFenced(err: LazaretError): void {
    log.error(
      { err, code: err.code },
      'this node lost its lease: a peer rescued its jobs; stopping now (run it under systemd or another supervisor to start it again with a new lease)',
    );
    void stop({ graceMs: 0 });
  }

  async function stop({ graceMs = config.shutdownGraceMs }: { graceMs?: number } = {}): Promise<void> {
    stopping ??= (async () => {
      log.info({ graceMs, running: engine.runningCount }, 'stopping: no new connections or jobs');
      gearman.stopAccepting();
      engine.drain();
      if (engine.runningCount > 0 && graceMs > 0) await waitForIdle(engine, graceMs);
      const abandoned = engine.abandonRunning();
      if (abandoned > 0) log.warn({ abandoned }, 'grace period over; running jobs go back to their queues');
      gearman.closeAll();
      await http?.close();
      health.stop();
      alerts?.close();
      stopStateLog();
      await engine.close();
      log.info('stopped; store closed');
      resolveStopped();
    })();
    return stopping;
  }

  return {
    engine,
    config,
    log,
    health,
    supervisors,
    alerts,
    gearmanPort: address.port,
    gearmanPlainPort: address.plainPort,
    httpPort: http?.port ?? null,
    get fenced() {
      return fenced;
    },
    stopped,
    stop,
    reloadTls: () => http?.reloadTls(),
  };
}

/**
 * The store the config names: PostgreSQL when `store` is set, else the SQLite file `db`. `onFenced`:
 * called when peers rescued this node's jobs (a shared store only).
 */
export function storeFor(config: Readonly<Config>, onFenced?: (err: LazaretError) => void): StorageAdapter {
  if (config.store !== null) {
    return new PostgresStore({
      url: config.store,
      schema: config.storeSchema,
      node: config.cluster.node,
      leaseMs: config.cluster.leaseMs,
      onFenced,
      maxPayloadBytes: config.limits.maxPayloadBytes,
    });
  }
  return new SqliteStore({ path: config.db, synchronous: config.synchronous, node: config.cluster.node });
}

async function waitForIdle(engine: Engine, graceMs: number): Promise<void> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), graceMs);
  try {
    while (engine.runningCount > 0) await once(engine, 'attempt:ended', { signal: ac.signal });
  } catch {
    // grace period over
  } finally {
    clearTimeout(timer);
  }
}

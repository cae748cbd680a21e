// A real Lazaret node for tests: in-process, on port 0, with a fresh SQLite file. Stopped by the test
// (use `await using`-style try/finally or t.after).

import pino from 'pino';
import { defaultConfig, type Config } from '../../src/config.js';
import type { Clock } from '../../src/core/clock.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { freshSqlite } from './store.js';

export interface TestServer extends RunningServer {
  dbPath: string;
  /** Stops the server (if running) and removes its files. */
  dispose(): Promise<void>;
}

export type ConfigPatch = Partial<Omit<Config, 'limits' | 'http' | 'alerts'>> & { limits?: Partial<Config['limits']>; http?: Partial<Config['http']>; alerts?: Partial<Config['alerts']> };

export function testConfig(patch: ConfigPatch = {}, db = ':memory:'): Config {
  const base = defaultConfig();
  return {
    ...base,
    port: 0,
    httpPort: null,
    db,
    logLevel: 'silent',
    shutdownGraceMs: 2000,
    handlePrefix: 'H:test:',
    ...patch,
    limits: { ...base.limits, ...patch.limits },
    http: { ...base.http, ...patch.http },
    alerts: { ...base.alerts, ...patch.alerts },
  };
}

export async function startTestServer(patch: ConfigPatch = {}, opts: { clock?: Clock; dbPath?: string; random?: () => number } = {}): Promise<TestServer> {
  const fresh = opts.dbPath === undefined ? await freshSqlite() : null;
  const dbPath = opts.dbPath ?? fresh!.path;
  const config = testConfig(patch, dbPath);
  const logger = pino({ level: process.env.LAZARET_TEST_LOG ?? 'silent' });
  const server = await startServer(config, { logger, clock: opts.clock, random: opts.random ?? (() => 0.5) });
  return Object.assign(server, {
    dbPath,
    dispose: async () => {
      await server.stop({ graceMs: 0 });
      await fresh?.cleanup();
    },
  });
}

// A real Lazaret node for tests: in-process, on port 0, with a fresh SQLite file (or, after
// storeUnderTest('postgres'), a fresh schema on the test PostgreSQL). Stopped by the test (use `await
// using`-style try/finally or t.after).

import type { TestContext } from 'node:test';
import pino from 'pino';
import { defaultConfig, type Config } from '../../src/config.js';
import type { Clock } from '../../src/core/clock.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { RawPeer } from './gearman-client.js';
import { freshPostgres, TEST_POSTGRES_URL } from './postgres.js';
import { freshSqlite } from './store.js';

export interface TestServer extends RunningServer {
  dbPath: string;
  /** Stops the server (if running) and removes its files. */
  dispose(): Promise<void>;
}

export type ConfigPatch = Partial<Omit<Config, 'limits' | 'http' | 'alerts'>> & {
  limits?: Partial<Config['limits']>;
  http?: Partial<Config['http']>;
  alerts?: Partial<Config['alerts']>;
};

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

let storeKind: 'sqlite' | 'postgres' = 'sqlite';

/**
 * Which store the servers of this test file run on: a file that calls storeUnderTest('postgres') and
 * then imports another test file runs that file's tests on PostgreSQL, each server on a fresh schema.
 */
export function storeUnderTest(kind: 'sqlite' | 'postgres'): void {
  storeKind = kind;
}

export async function startTestServer(patch: ConfigPatch = {}, opts: { clock?: Clock; dbPath?: string; random?: () => number } = {}): Promise<TestServer> {
  const store = await testStore(opts.dbPath);
  const config = testConfig({ ...store.patch, ...patch }, store.dbPath);
  const logger = pino({ level: process.env.LAZARET_TEST_LOG ?? 'silent' });
  const server = await startServer(config, { logger, clock: opts.clock, random: opts.random ?? (() => 0.5) });
  return Object.assign(server, {
    dbPath: store.dbPath,
    dispose: async () => {
      await server.stop({ graceMs: 0 });
      await store.cleanup();
    },
  });
}

/** The store of a new test server: the file given, a fresh SQLite file, or a fresh PostgreSQL schema (dbPath then ''). */
async function testStore(dbPath: string | undefined): Promise<{ dbPath: string; patch: ConfigPatch; cleanup: () => Promise<void> }> {
  if (dbPath !== undefined) return { dbPath, patch: {}, cleanup: async () => {} };
  if (storeKind === 'postgres') {
    const pgFresh = freshPostgres();
    return { dbPath: '', patch: { store: TEST_POSTGRES_URL, storeSchema: pgFresh.schema }, cleanup: () => pgFresh.cleanup() };
  }
  const fresh = await freshSqlite();
  return { dbPath: fresh.path, patch: {}, cleanup: () => fresh.cleanup() };
}

/** A test server stopped (and its files removed) when the test ends. */
export async function serverFor(t: TestContext, patch: ConfigPatch = {}, opts: { clock?: Clock; dbPath?: string } = {}): Promise<TestServer> {
  const server = await startTestServer(patch, opts);
  t.after(() => server.dispose());
  return server;
}

/** A raw Gearman connection to a server (or a port), closed when the test ends. */
export async function peerFor(t: TestContext, server: { gearmanPort: number } | number, host?: string): Promise<RawPeer> {
  const peer = await RawPeer.connect(typeof server === 'number' ? server : server.gearmanPort, host);
  // Real client libraries set TCP_NODELAY; without it a reply-less packet (WORK_COMPLETE) followed by
  // another waits for a delayed ACK.
  peer.socket.setNoDelay(true);
  t.after(() => peer.close());
  return peer;
}

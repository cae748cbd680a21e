// Real `lazaret serve` processes (the built dist/cli/main.js) on one PostgreSQL schema, for the cluster tests: each a node of its own
// name, with a short lease from a config file, its Gearman and HTTP ports read from its JSON log.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../../src/core/clock.js';
import type { NodeListAnswer } from '../../src/http/schemas.js';
import { type RawPeer, rawWorker } from '../helpers/gearman-client.js';
import { type FreshPostgres, freshPostgres, TEST_POSTGRES_URL } from '../helpers/postgres.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface NodeProcess {
  name: string;
  child: ChildProcess;
  port: number;
  httpUrl: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
}

/** A config file for the nodes of one test: the lease, and retries soon after a crash. */
export async function clusterConfig(t: TestContext, config: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lazaret-cluster-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'lazaret.json');
  await writeFile(file, JSON.stringify(config));
  return file;
}

/**
 * Starts `lazaret serve` as node `name` on `schema` and waits until it listens and has renewed its
 * lease twice since. A start on a machine so busy that the node stalls past its (short, test) lease is
 * fenced by its peers and exits with 75: it is started again, as its supervisor would in production.
 */
export async function startNode(t: TestContext, schema: string, name: string, configFile: string, db: FreshPostgres): Promise<NodeProcess> {
  for (let tries = 1; ; tries++) {
    const node = await spawnNode(t, schema, name, configFile);
    try {
      for (let renewals = 0; renewals < 2; renewals++) {
        const [before] = await db.sql<{ renewed_at: string }>('SELECT renewed_at FROM nodes WHERE name = $1', [name]);
        await eventually(async () => {
          if (node.child.exitCode !== null) throw new Error(`node ${name} exited with ${node.child.exitCode}`);
          const [now] = await db.sql<{ renewed_at: string }>('SELECT renewed_at FROM nodes WHERE name = $1', [name]);
          return now !== undefined && now.renewed_at !== before?.renewed_at;
        }, `a renewal of node ${name}'s lease`);
      }
      return node;
    } catch (err) {
      const exit = await Promise.race([node.exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), 100))]);
      if (exit?.code !== 75 || tries === 3) throw new Error(`node ${name} did not settle:\n${node.output()}`, { cause: err });
    }
  }
}

async function spawnNode(t: TestContext, schema: string, name: string, configFile: string): Promise<NodeProcess> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('LAZARET_')) env[k] = v;
  const args = ['serve', '-c', configFile, '--store', TEST_POSTGRES_URL, '--store-schema', schema, '--node', name, '--port', '0', '--http-port', '0'];
  // The built CLI (npm run build): tsx would compile every module at each start, seconds of CPU on a
  // busy machine, during which a 2 s lease could run out.
  const child = spawn(process.execPath, ['dist/cli/main.js', ...args, '--log-level', 'info'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (process.env.LAZARET_TEST_LOG !== undefined) console.error(`---- node ${name}\n${out}`);
    if (child.exitCode !== null || child.signalCode !== null) return;
    // A stopped process ignores SIGKILL's effects until continued.
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const [port, httpUrl] = await eventually(
    () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`node ${name} exited before listening:\n${out}`);
      const m = /"gearman":"[^"]*:(\d+)".*"http":"(http:\/\/[^"]+)"/.exec(out);
      return m === null ? undefined : ([Number(m[1]), m[2]!] as const);
    },
    `node ${name} to listen`,
    60_000,
  );
  return { name, child, port, httpUrl, exited, output: () => out };
}

/** Submits a background job and resolves with its handle once the node acknowledged it (JOB_CREATED). */
export async function submitBackground(peer: RawPeer, fn: string, payload: string): Promise<string> {
  const r = await peer.request('SUBMIT_JOB_BG', [fn, '', payload], 'JOB_CREATED');
  return r.text[0]!;
}

export interface Delivery {
  handle: string;
  payload: string;
  node: string;
  at: number;
}

/**
 * A worker of `fn` on one node: takes jobs one at a time, calls `run` (which may wait), and completes
 * each with the result it returns (null: the job is kept, never answered). Ends when its node goes.
 */
export function worker(node: NodeProcess, fn: string, run: (job: Delivery, peer: RawPeer) => Promise<string | null>): Promise<RawPeer> {
  return rawWorker(node.port, fn, async (payload, peer, handle) => {
    const result = await run({ handle, payload: payload.toString(), node: node.name, at: Date.now() }, peer);
    return result === null ? null : Buffer.from(result);
  });
}

export interface ThreeNodes {
  db: FreshPostgres;
  /** In-process nodes `a` and `b`, with their HTTP base URLs. */
  a: TestServer & { url: string };
  b: TestServer & { url: string };
  /** `c`, a real process, frozen (SIGSTOP) past its lease: expired, and listed until a peer rescues it. */
  c: NodeProcess;
}

/**
 * Three nodes on one store, as GET /api/nodes and what reads it show them: `a` and `b` in-process with
 * manual clocks that never advance, so they never rescue `c`, whose lease (1 s) has expired once this
 * resolves. `a` and `b` renew every 2 s, publishing their workers then.
 */
export async function threeNodes(t: TestContext): Promise<ThreeNodes> {
  const db = freshPostgres();
  const servers: TestServer[] = [];
  // The schema is dropped last, once no node uses it (c is killed by its own hook).
  t.after(async () => {
    for (const s of servers) await s.dispose();
    await db.cleanup();
  });
  const start = async (node: string): Promise<TestServer & { url: string }> => {
    const clock = new ManualClock(Date.now());
    const server = await startTestServer({ httpPort: 0, store: TEST_POSTGRES_URL, storeSchema: db.schema, cluster: { node, leaseMs: 6000 } }, { clock });
    servers.push(server);
    return Object.assign(server, { url: `http://127.0.0.1:${server.httpPort}` });
  };
  const a = await start('a');
  const b = await start('b');
  const c = await startNode(t, db.schema, 'c', await clusterConfig(t, { cluster: { leaseMs: 1000 } }), db);
  c.child.kill('SIGSTOP');
  await eventually(async () => {
    const list = (await (await fetch(`${a.url}/api/nodes`)).json()) as NodeListAnswer;
    return list.nodes.find((n) => n.name === 'c')?.expired;
  }, "node c's lease to expire");
  return { db, a, b, c };
}

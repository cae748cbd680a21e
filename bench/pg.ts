// Workload `pg` (`npm run bench -- --only pg`): Lazaret on PostgreSQL, against Lazaret on SQLite and
// against two job queues built on PostgreSQL, graphile-worker and pg-boss, on the same PostgreSQL in the
// same run; then 1, 2 and 3 Lazaret nodes sharing one store, the 16 workers split across them, and 2
// and 3 nodes with 16 workers each. Every case gets a schema of its own, dropped
// after it. The systems take turns, round after round, and the table shows medians.
//
// The peers are not dependencies of Lazaret: they are installed on first use into bench/.peers (npm install
// --prefix, versions pinned below, both run on Node 20) and run inside this process, as an application
// embeds them. Their CPU is therefore this process's (their client and worker sides together); Lazaret's
// is its nodes'. PostgreSQL's is measured for every system alike: the backends serving it (told apart by
// application_name), over the processing phase.
//
//   submit, one per call   Lazaret: SUBMIT_JOB_BG over 16 connections x 64 in flight (each answered after
//                          its group commit); peers: addJob / send from 16 concurrent callers
//   submit, batched        peers only, 100 jobs per call from 4 callers: graphile-worker's add_jobs(),
//                          pg-boss insert() (a Gearman submission carries one job)
//   process                N jobs queued, then until all N ran: Lazaret, 16 Gearman workers one job at a
//                          time (and once more with 64 and with 256, as pg-boss has up to 4,000 jobs in hand);
//                          graphile-worker, run() with concurrency 16; pg-boss, 8 work() loops fetching
//                          batches of 500 (a loop waits out its polling interval, 0.5 s at least, after
//                          every fetch, full or not: its rate is bounded by loops x batch / 0.5 s)

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { cpuSecondsOf } from './lib/meter.js';
import { closeAll, latch, type Peer } from './lib/peer.js';
import { fmt } from './lib/report.js';
import { startServer, type LaunchSettings, type ServerHandle } from './lib/servers.js';
import { connectWorkers } from './lib/workers.js';
import { preload, submitBackground } from './submit.js';

/** Pinned: the newest releases that run on Node 20 (pg-boss 11 and graphile-worker 0.18 need Node 22). */
const PEERS = { 'pg-boss': '10.4.2', 'graphile-worker': '0.16.6' } as const;

export interface PgBenchOptions {
  root: string;
  /** Where each case's folder goes. */
  tmpRoot: string;
  settings: Omit<LaunchSettings, 'dir' | 'profileName' | 'postgres'>;
  url: string;
  quick: boolean;
  rounds: number;
  out: (line?: string) => void;
}

const PAYLOAD = 'a'.repeat(16);

interface Figures {
  submit: number;
  submitBatched?: number;
  process: number;
  /** CPU per processed job, µs: the system's own process(es), and PostgreSQL. */
  cpuUs: number;
  pgCpuUs: number;
}

export async function pgBench(o: PgBenchOptions): Promise<void> {
  const { out } = o;
  const T = {
    warmupMs: o.quick ? 300 : 500,
    durationMs: o.quick ? 1000 : 3000,
    jobs: o.quick ? 5000 : 20_000,
    rounds: o.rounds,
  };
  const admin = new pg.Client({ connectionString: o.url });
  admin.on('error', () => {});
  try {
    await admin.connect();
  } catch (err) {
    out(`pg: PostgreSQL at ${o.url} cannot be reached (${(err as Error).message}); set LAZARET_BENCH_POSTGRES. Skipped.`);
    return;
  }
  const version = (await admin.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v ?? '?';
  const peers = loadPeers(o.root, out);
  const peerUrl = new URL(o.url);
  peerUrl.searchParams.set('application_name', PEER_APP);
  out(
    `pg. PostgreSQL ${version} at ${o.url}; ${T.rounds} round(s), systems taking turns; submit: ${T.warmupMs} ms warm-up + ${T.durationMs} ms window; process: ${fmt(T.jobs)} jobs queued, then 16 workers until all ran`,
  );
  if (peers !== null) out(`   peers: graphile-worker ${PEERS['graphile-worker']}, pg-boss ${PEERS['pg-boss']} (in this process, from bench/.peers)`);

  let caseNo = 0;
  const freshSchema = (prefix: string): string => `${prefix}_${randomBytes(5).toString('hex')}`;
  const drop = async (schema: string): Promise<void> => {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  };

  /** k Lazaret nodes on one fresh schema (or one node on SQLite), for the time of `body`. */
  async function withNodes<T>(kind: 'postgres' | 'sqlite', k: number, body: (nodes: ServerHandle[]) => Promise<T>): Promise<T> {
    const schema = freshSchema('lzb');
    const id = `pg-${String(++caseNo).padStart(2, '0')}-${kind}-${k}`;
    const nodes: ServerHandle[] = [];
    try {
      for (let i = 0; i < k; i++) {
        const settings: LaunchSettings = {
          ...o.settings,
          dir: join(o.tmpRoot, `${id}-${i}`),
          profileName: `${id}-${i}`,
          ...(kind === 'postgres' ? { postgres: { url: o.url, schema, node: `bench-${i + 1}` } } : {}),
        };
        mkdirSync(settings.dir, { recursive: true });
        nodes.push(await startServer('lazaret', settings));
      }
      return await body(nodes);
    } finally {
      for (const n of nodes) await n.stop();
      if (kind === 'postgres') await drop(schema);
    }
  }

  async function lazaretCase(kind: 'postgres' | 'sqlite', k: number, workers = 16): Promise<Figures> {
    return withNodes(kind, k, async (nodes) => {
      const pids = nodes.map((n) => n.pid);
      const submits = await Promise.all(
        nodes.map((n) =>
          submitBackground(n.port, {
            conns: Math.max(1, Math.round(16 / k)),
            window: 64,
            warmupMs: T.warmupMs,
            durationMs: T.durationMs,
            maxJobs: 1_000_000,
            fn: 'bench_pg_submit',
            payload: Buffer.from(PAYLOAD),
          }),
        ),
      );
      const errors = submits.reduce((s, r) => s + r.errors, 0);
      if (errors > 0) out(`   ${errors} ERROR answers to submissions (last: ${submits.find((r) => r.lastError)?.lastError})`);
      const drained = await drainAcross(
        nodes.map((n) => n.port),
        pids,
        T.jobs,
        workers,
        () => backendsCpu(admin, LAZARET_APP),
      );
      return { submit: submits.reduce((s, r) => s + r.perSec, 0), ...drained };
    });
  }

  const results = new Map<string, Figures[]>();
  const keep = (name: string, f: Figures): void => {
    results.set(name, [...(results.get(name) ?? []), f]);
    out(
      `   ${name.padEnd(22)} submit ${fmt(f.submit).padStart(7)}/s${f.submitBatched === undefined ? '' : `, batched ${fmt(f.submitBatched)}/s`}; process ${fmt(f.process).padStart(7)}/s; CPU per job ${f.cpuUs.toFixed(0)} µs + PostgreSQL ${f.pgCpuUs.toFixed(0)} µs`,
    );
  };
  const attempt = async (name: string, run: () => Promise<Figures>): Promise<void> => {
    try {
      keep(name, await run());
    } catch (err) {
      out(`   ${name.padEnd(22)} ERROR: ${(err as Error).message}`);
    }
  };

  for (let round = 1; round <= T.rounds; round++) {
    out(`   round ${round}`);
    await attempt('Lazaret PostgreSQL', () => lazaretCase('postgres', 1));
    await attempt('Lazaret SQLite', () => lazaretCase('sqlite', 1));
    // pg-boss has up to 8 x 500 jobs in hand at once, a Gearman worker one: more workers, more per commit.
    await attempt('Lazaret PG, 64 workers', () => lazaretCase('postgres', 1, 64));
    // Where more workers stop helping: the commits are full and the two CPUs are the limit.
    await attempt('Lazaret PG, 256 workers', () => lazaretCase('postgres', 1, 256));
    if (peers !== null) {
      const peerCpu = (): Promise<Map<number, number>> => backendsCpu(admin, PEER_APP);
      await attempt('graphile-worker', () => graphileCase(peers, peerUrl, freshSchema('gwb'), T, drop, peerCpu));
      await attempt('pg-boss', () => pgBossCase(peers, peerUrl, freshSchema('pbb'), T, drop, peerCpu));
    }
  }
  out('   nodes sharing one PostgreSQL store (submitters and 16 workers split evenly across the nodes; then 16 workers on each node)');
  for (let round = 1; round <= T.rounds; round++) {
    for (const k of [1, 2, 3]) await attempt(`${k} node${k > 1 ? 's' : ''}`, () => lazaretCase('postgres', k));
    // As many workers on each node as one node had: each node's group commits as full as that one's.
    for (const k of [2, 3]) await attempt(`${k} nodes x 16 workers`, () => lazaretCase('postgres', k, 16 * k));
  }
  await admin.end();

  const med = (name: string, pick: (f: Figures) => number | undefined): number => {
    const v = (results.get(name) ?? [])
      .map(pick)
      .filter((x): x is number => x !== undefined)
      .sort((a, b) => a - b);
    return v.length === 0 ? Number.NaN : v[Math.floor((v.length - 1) / 2)]!;
  };
  out();
  out(`pg, medians of ${T.rounds} round(s)      submit/s   batched/s   process/s   CPU µs/job   PostgreSQL CPU µs/job`);
  const names = [
    'Lazaret PostgreSQL',
    'Lazaret SQLite',
    'Lazaret PG, 64 workers',
    'Lazaret PG, 256 workers',
    'graphile-worker',
    'pg-boss',
    '1 node',
    '2 nodes',
    '3 nodes',
    '2 nodes x 16 workers',
    '3 nodes x 16 workers',
  ];
  for (const name of names) {
    if (!results.has(name)) continue;
    out(
      `  ${name.padEnd(30)} ${fmt(med(name, (f) => f.submit)).padStart(9)} ${fmt(med(name, (f) => f.submitBatched)).padStart(11)} ${fmt(med(name, (f) => f.process)).padStart(11)} ${fmt(med(name, (f) => f.cpuUs)).padStart(12)} ${fmt(med(name, (f) => f.pgCpuUs)).padStart(23)}`,
    );
  }
  const lz = (pick: (f: Figures) => number | undefined): number => med('Lazaret PostgreSQL', pick);
  const ratio = (a: number, b: number): string => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}x` : 'n/a');
  out();
  out(
    `  Lazaret PostgreSQL / Lazaret SQLite: submit ${ratio(
      lz((f) => f.submit),
      med('Lazaret SQLite', (f) => f.submit),
    )}, process ${ratio(
      lz((f) => f.process),
      med('Lazaret SQLite', (f) => f.process),
    )} (target >= 0.5x)`,
  );
  for (const peer of ['graphile-worker', 'pg-boss']) {
    if (!results.has(peer)) continue;
    const processed = (name: string): string =>
      ratio(
        med(name, (f) => f.process),
        med(peer, (f) => f.process),
      );
    out(
      `  Lazaret PostgreSQL / ${peer}: submit ${ratio(
        lz((f) => f.submit),
        med(peer, (f) => f.submit),
      )} (one per call), ${ratio(
        lz((f) => f.submit),
        med(peer, (f) => f.submitBatched),
      )} (vs its batched), process ${processed('Lazaret PostgreSQL')} (target >= 3x), ${processed('Lazaret PG, 64 workers')} with 64 workers, ${processed(
        'Lazaret PG, 256 workers',
      )} with 256`,
    );
  }
}

/**
 * Queues `jobs` jobs through the nodes (split evenly), then `workers` Gearman workers split across the nodes run
 * them one at a time; workers sleep on NO_JOB (another node may still hold jobs) until every job ran.
 */
async function drainAcross(
  ports: number[],
  pids: number[],
  jobs: number,
  workers: number,
  pgCpu: () => Promise<Map<number, number>>,
): Promise<Omit<Figures, 'submit'>> {
  const fn = 'bench_pg_drain';
  const k = ports.length;
  const loaded = await Promise.all(
    ports.map((port, i) =>
      preload(port, {
        conns: 4,
        window: 64,
        count: Math.floor(jobs / k) + (i < jobs % k ? 1 : 0),
        budgetMs: 120_000,
        fn,
        payload: Buffer.from(PAYLOAD),
      }),
    ),
  );
  const total = loaded.reduce((s, l) => s + l.loaded, 0);
  const end = latch(180_000, 'drain across nodes');
  let ran = 0;
  const sets: { peers: Peer[]; go: () => void }[] = [];
  for (const [i, port] of ports.entries()) {
    sets.push(
      await connectWorkers(port, Math.floor(workers / k) + (i < workers % k ? 1 : 0), {
        fn,
        onEmpty: 'sleep',
        echo: false,
        onJob: () => {
          if (++ran === total) end.done();
          return true;
        },
        onClose: (why) => end.fail(why),
      }),
    );
  }
  const cpu0 = cpuOf(pids);
  const pg0 = await pgCpu();
  const t0 = performance.now();
  for (const s of sets) s.go();
  try {
    await end.promise;
  } finally {
    for (const s of sets) closeAll(s.peers);
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuOf(pids) - cpu0;
  return { process: total / seconds, cpuUs: (cpu * 1e6) / total, pgCpuUs: (cpuSince(pg0, await pgCpu()) * 1e6) / total };
}

function cpuOf(pids: number[]): number {
  return pids.reduce((s, pid) => s + (cpuSecondsOf(pid) ?? 0), 0);
}

const ownCpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** Who is who among the PostgreSQL backends (application_name): Lazaret's nodes, and the peers' pools. */
const LAZARET_APP = 'lazaret bench-%';
const PEER_APP = 'lazaret-bench-peer';

/**
 * CPU seconds so far of each PostgreSQL backend whose application_name is LIKE `app`, by pid: the
 * PostgreSQL work of the system under test only, whatever else runs on that server.
 */
async function backendsCpu(admin: pg.Client, app: string): Promise<Map<number, number>> {
  const { rows } = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name LIKE $1', [app]);
  return new Map(rows.map((r) => [r.pid, cpuSecondsOf(r.pid) ?? 0]));
}

/** CPU used between two readings by the backends alive at the second (one that ended meanwhile is missed). */
function cpuSince(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, cpu] of after) sum += cpu - (before.get(pid) ?? 0);
  return sum;
}

// ------------------------------------------------------------------ the peers

// What the bench uses of each peer (their own types live in bench/.peers, outside the compilation).
interface WorkerUtils {
  migrate(): Promise<void>;
  addJob(task: string, payload: object): Promise<unknown>;
  withPgClient<R>(fn: (client: pg.PoolClient) => Promise<R>): Promise<R>;
  release(): Promise<void>;
}
interface GraphileWorker {
  Logger: new (factory: () => () => void) => object;
  makeWorkerUtils(o: { connectionString: string; schema: string; logger: object }): Promise<WorkerUtils>;
  run(o: {
    connectionString: string;
    schema: string;
    logger: object;
    concurrency: number;
    noHandleSignals: boolean;
    pollInterval: number;
    taskList: Record<string, () => Promise<void>>;
  }): Promise<{ stop(): Promise<void> }>;
}
interface PgBoss {
  on(event: 'error', listener: (err: unknown) => void): void;
  start(): Promise<unknown>;
  createQueue(name: string): Promise<void>;
  send(name: string, data: object): Promise<unknown>;
  insert(jobs: { name: string; data: object }[]): Promise<void>;
  work(name: string, o: { batchSize: number; pollingIntervalSeconds: number }, handler: (jobs: { id: string }[]) => Promise<void>): Promise<string>;
  complete(name: string, ids: string[]): Promise<void>;
  offWork(name: string): Promise<void>;
  stop(o: { graceful: boolean; wait: boolean }): Promise<void>;
}
interface Peers {
  graphile: GraphileWorker;
  PgBoss: new (o: { connectionString: string; schema: string; supervise: boolean; schedule: boolean }) => PgBoss;
}

/** The peers from bench/.peers, installed there first when missing; null (and why) when that fails. */
function loadPeers(root: string, out: (line?: string) => void): Peers | null {
  const dir = join(root, 'bench/.peers');
  const installed = (name: string, version: string): boolean => {
    const file = join(dir, 'node_modules', name, 'package.json');
    return existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version === version;
  };
  if (!Object.entries(PEERS).every(([name, version]) => installed(name, version))) {
    out(
      `   installing ${Object.entries(PEERS)
        .map(([n, v]) => `${n}@${v}`)
        .join(' ')} into bench/.peers (npm install --prefix) ...`,
    );
    mkdirSync(dir, { recursive: true });
    // A package.json of its own: without one npm would look for the project's and install there.
    if (!existsSync(join(dir, 'package.json'))) writeFileSync(join(dir, 'package.json'), '{ "private": true }\n');
    const npm = spawnSync(
      'npm',
      ['install', '--prefix', dir, '--no-audit', '--no-fund', '--loglevel=error', ...Object.entries(PEERS).map(([n, v]) => `${n}@${v}`)],
      {
        encoding: 'utf8',
      },
    );
    if (npm.status !== 0) {
      out(`   could not install the peers (${`${npm.stderr ?? ''}`.trim().split('\n')[0]}): Lazaret figures only`);
      return null;
    }
  }
  const require = createRequire(join(dir, 'package.json'));
  return { graphile: require('graphile-worker') as Peers['graphile'], PgBoss: require('pg-boss') as Peers['PgBoss'] };
}

interface PeerTiming {
  warmupMs: number;
  durationMs: number;
  jobs: number;
}

/** Calls `once` from `callers` concurrent loops for warm-up + window; the jobs of the calls that ended inside the window, per second. */
async function callRate(callers: number, perCall: number, t: PeerTiming, once: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  const from = start + t.warmupMs;
  const to = from + t.durationMs;
  let counted = 0;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < to) {
        await once();
        const now = performance.now();
        if (now >= from && now <= to) counted += perCall;
      }
    }),
  );
  return counted / (t.durationMs / 1000);
}

/** Queues `jobs` in calls of `batch`, from 4 callers. */
async function queueAll(jobs: number, batch: number, add: (n: number) => Promise<unknown>): Promise<void> {
  let left = jobs;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (left > 0) {
        const n = Math.min(batch, left);
        left -= n;
        await add(n);
      }
    }),
  );
}

/** Times `start` (which begins running the queued jobs and resolves with a stop function) until `jobs` ran. */
async function processRate(
  jobs: number,
  pgCpu: () => Promise<Map<number, number>>,
  start: (ran: () => void) => Promise<() => Promise<void>>,
): Promise<Omit<Figures, 'submit'>> {
  const end = latch(180_000, 'peer processing');
  let ran = 0;
  const cpu0 = ownCpu();
  const pg0 = await pgCpu();
  const t0 = performance.now();
  const stop = await start(() => {
    if (++ran === jobs) end.done();
  });
  let seconds = 0;
  let pgUsed = 0;
  try {
    await end.promise;
    seconds = (performance.now() - t0) / 1000;
    // Before stop(): the workers' backends go with their pools.
    pgUsed = cpuSince(pg0, await pgCpu());
  } finally {
    await stop();
  }
  return { process: jobs / seconds, cpuUs: ((ownCpu() - cpu0) * 1e6) / jobs, pgCpuUs: (pgUsed * 1e6) / jobs };
}

async function graphileCase(
  peers: Peers,
  url: URL,
  schema: string,
  t: PeerTiming,
  drop: (schema: string) => Promise<void>,
  pgCpu: () => Promise<Map<number, number>>,
): Promise<Figures> {
  const { graphile } = peers;
  const logger = new graphile.Logger(() => () => {});
  const utils = await graphile.makeWorkerUtils({ connectionString: url.toString(), schema, logger });
  try {
    await utils.migrate();
    const payload = { p: PAYLOAD };
    const addMany = (n: number): Promise<unknown> =>
      utils.withPgClient((c) =>
        c.query(
          `SELECT "${schema}".add_jobs(array(SELECT ROW('t', p, NULL, NULL, NULL, NULL, NULL, NULL)::"${schema}".job_spec FROM unnest($1::json[]) AS p))`,
          [Array.from({ length: n }, () => JSON.stringify(payload))],
        ),
      );
    const submit = await callRate(16, 1, t, () => utils.addJob('s', payload));
    const submitBatched = await callRate(4, 100, t, () => addMany(100));
    await utils.withPgClient((c) => c.query(`DELETE FROM "${schema}"._private_jobs`));
    await queueAll(t.jobs, 500, addMany);
    const processed = await processRate(t.jobs, pgCpu, async (ran) => {
      const runner = await graphile.run({
        connectionString: url.toString(),
        schema,
        logger,
        concurrency: 16,
        noHandleSignals: true,
        pollInterval: 1000,
        taskList: { t: async () => ran() },
      });
      return () => runner.stop();
    });
    return { submit, submitBatched, ...processed };
  } finally {
    await utils.release();
    await drop(schema);
  }
}

async function pgBossCase(
  peers: Peers,
  url: URL,
  schema: string,
  t: PeerTiming,
  drop: (schema: string) => Promise<void>,
  pgCpu: () => Promise<Map<number, number>>,
): Promise<Figures> {
  const boss = new peers.PgBoss({ connectionString: url.toString(), schema, supervise: false, schedule: false });
  boss.on('error', () => {});
  await boss.start();
  try {
    await boss.createQueue('s');
    await boss.createQueue('t');
    const payload = { p: PAYLOAD };
    const submit = await callRate(16, 1, t, () => boss.send('s', payload));
    const submitBatched = await callRate(4, 100, t, () => boss.insert(Array.from({ length: 100 }, () => ({ name: 's', data: payload }))));
    await queueAll(t.jobs, 500, (n) => boss.insert(Array.from({ length: n }, () => ({ name: 't', data: payload }))));
    const processed = await processRate(t.jobs, pgCpu, async (ran) => {
      for (let i = 0; i < 8; i++) {
        await boss.work('t', { batchSize: 500, pollingIntervalSeconds: 0.5 }, async (jobs) => {
          // Completed here, so that a batch counts once it is done (pg-boss's own completion after the
          // handler then finds nothing left to do).
          await boss.complete(
            't',
            jobs.map((j) => j.id),
          );
          for (const _ of jobs) ran();
        });
      }
      return () => boss.offWork('t');
    });
    return { submit, submitBatched, ...processed };
  } finally {
    await boss.stop({ graceful: false, wait: true });
    await drop(schema);
  }
}

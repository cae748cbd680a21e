// `npm run bench`: Lazaret against gearmand (in memory, and with libsqlite3) on the same workloads, in
// the same run, each case on a freshly started server with a fresh store. Prints figures and ratios
// against the targets; it never fails on a figure.
//
//   npm run bench                      full run (about 2-3 minutes)
//   npm run bench -- --quick           short windows, for a smoke check
//   npm run bench -- --only submit,rss  some workloads (submit, drain, pipeline, roundtrip, rss, poison, worker-lib, http)
//   npm run bench -- --no-gearmand     Lazaret alone
//   npm run bench -- --profile         also write a CPU profile of each Lazaret case and list its hot functions
//   npm run bench -- --lazaret src     run Lazaret from src/ through tsx (default: dist/ when it is fresh)
//   npm run bench -- --rounds 3        run each submit, drain and pipeline case 3 times, the systems taking
//                                      turns, and keep the median (the disk's fsync time is noisy)
//   npm run bench -- --synchronous full  Lazaret with the default synchronous: full only (default: full and
//                                      normal side by side, the "Lazaret/normal" column is full's ratio to normal)
//   npm run bench -- --lazaret-config F  start every Lazaret case with the settings of JSON file F, e.g.
//                                      {"results":{"retention":0}} to measure what keeping finished jobs costs
//
// Large backlogs (not in the default run; ask for them with --only, e.g. --only rss-1m,restart-1m,drain-1m):
//   rss-1m      server RSS with the backlog queued (Lazaret and gearmand in memory)
//   restart-1m  submit the backlog, SIGKILL the server, start it on the same store: spawn -> first JOB_ASSIGN
//               to a waiting worker (Lazaret; gearmand+libsqlite3 with its queue table seeded directly, since
//               submitting through it commits one job at a time: it replays the table exactly as after a crash)
//   drain-1m    drain rate with the backlog queued against a 20,000-job drain, and the server's CPU per job
//               (Lazaret and gearmand in memory); the drain rows also print the server's CPU per drained job
//   --backlog N            jobs queued for those rows (default 1000000)
//   --backlog-payload B    payload bytes of each of those jobs (default 1024)
//   --gearmand-backlog N   rows seeded for gearmand+libsqlite3 in restart-1m (default: --backlog)
// With 1,000,000 jobs the three take about 25-40 minutes on 2 CPUs: each Lazaret preload takes minutes,
// and gearmand's in-memory queue accepts jobs ever slower as it grows (about 9 minutes for 1M of 1 KiB).
//
// PostgreSQL (not in the default run; --only pg): Lazaret on PostgreSQL against Lazaret on SQLite,
// graphile-worker and pg-boss (installed on first use into bench/.peers), and 1, 2 and 3 nodes on one
// store; see bench/pg.ts. --rounds sets the rounds (default here 3); LAZARET_BENCH_POSTGRES the server
// (default postgres://postgres@127.0.0.1:5432/test).

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { drain, type DrainResult } from './drain.js';
import { inProcessCost, whileScraping } from './http-overhead.js';
import { seedGearmandQueue } from './lib/gearmand-seed.js';
import { measuredSpanUs, quantile, watchServer, type Rate } from './lib/meter.js';
import { fmt, Report, type Row } from './lib/report.js';
import {
  findOnPath,
  freePort,
  gearmandVersion,
  lazaretEntry,
  memoryOf,
  SERVER_LABEL,
  spawnServer,
  startServer,
  type LaunchSettings,
  type ServerHandle,
  type ServerKind,
} from './lib/servers.js';
import { pgBench } from './pg.js';
import { pipeline } from './pipeline.js';
import { roundTrip } from './roundtrip.js';
import { poisonStorm } from './poison.js';
import { queuedRss } from './rss.js';
import { preload, submitBackground } from './submit.js';
import { firstJobAfterStart } from './restart.js';
import { workerLib } from './worker-lib.js';

const DEFAULT_WORKLOADS = ['submit', 'drain', 'pipeline', 'roundtrip', 'rss', 'poison', 'worker-lib', 'http'] as const;
/** The large-backlog rows take minutes each: only when named in --only. */
const WORKLOADS = [...DEFAULT_WORKLOADS, 'rss-1m', 'restart-1m', 'drain-1m', 'pg'] as const;
type Workload = (typeof WORKLOADS)[number];

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    'no-gearmand': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    lazaret: { type: 'string' },
    synchronous: { type: 'string', default: 'both' },
    rounds: { type: 'string' },
    backlog: { type: 'string', default: '1000000' },
    'backlog-payload': { type: 'string', default: '1024' },
    'gearmand-backlog': { type: 'string' },
    'lazaret-config': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (flags.help) {
  const text = (await import('node:fs')).readFileSync(fileURLToPath(import.meta.url), 'utf8');
  process.stdout.write(
    `${text
      .split('\n')
      .slice(
        0,
        Math.max(
          0,
          text.split('\n').findIndex((l) => !l.startsWith('//')),
        ),
      )
      .map((l) => l.slice(3))
      .join('\n')}\n`,
  );
  process.exit(0);
}

const root = fileURLToPath(new URL('..', import.meta.url));
const quick = flags.quick;
const asked = flags.only === undefined ? [...DEFAULT_WORKLOADS] : flags.only.split(',').map((w) => w.trim());
const unknown = asked.filter((w) => !(WORKLOADS as readonly string[]).includes(w));
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown workload ${unknown.join(', ')}; known: ${WORKLOADS.join(', ')}\n`);
  process.exit(2);
}
const only = new Set(asked as Workload[]);
/** A whole number >= min from an option, or exit with a clear message. */
function countOption(name: string, text: string, min: number): number {
  const n = Number(text.replaceAll('_', ''));
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`bench: --${name} takes a whole number of at least ${min}; got ${text}\n`);
    process.exit(2);
  }
  return n;
}
const backlog = countOption('backlog', flags.backlog, 1);
const backlogPayload = countOption('backlog-payload', flags['backlog-payload'], 0);
const gearmandBacklog = flags['gearmand-backlog'] === undefined ? backlog : countOption('gearmand-backlog', flags['gearmand-backlog'], 1);
const gearmandBin = flags['no-gearmand'] ? null : findOnPath('gearmand');
const forced = flags.lazaret === 'src' || flags.lazaret === 'dist' ? flags.lazaret : undefined;
/** Settings every Lazaret case starts with (a workload's own settings win), e.g. {"results":{"retention":0}}. */
const baseConfig: object =
  flags['lazaret-config'] === undefined ? {} : (JSON.parse((await import('node:fs')).readFileSync(flags['lazaret-config'], 'utf8')) as object);
const lazaret = lazaretEntry(root, forced, () => process.stdout.write('building dist/ (tsc -p tsconfig.build.json): it is missing or older than src/ ...\n'));

/** Every workload's knobs; --quick shortens the windows and the preloads, not the shapes. */
const T = {
  warmupMs: quick ? 300 : 500,
  durationMs: quick ? 1000 : 3000,
  submit: { conns: 16, window: 64, maxJobs: { 16: quick ? 100_000 : 400_000, 1024: quick ? 60_000 : 200_000 } },
  drain: { workers: 16, jobs: quick ? 10_000 : 40_000, preloadBudgetMs: quick ? 2000 : 5000, preloadConns: 8, preloadWindow: 64, maxMs: quick ? 3000 : 8000 },
  pipeline: { submitters: 8, window: 16, workers: 8, backlog: 1000 },
  roundtrip: { clients: 8, workers: 8 },
  rss: { jobs: 100_000, conns: 8, window: 64, budgetMs: 60_000, settleMs: 1000 },
  poison: { submitters: 4, window: 16, workers: 8, backlog: 500, every: 100, settleMs: 3000 },
  // One child per CPU: more only queue for the same cores.
  workerLib: { poolSize: availableParallelism() },
  http: { rounds: quick ? 2 : 5 },
  /** The large-backlog rows: the preload may take minutes; the drain is measured over a window, not to empty. */
  big: {
    conns: 8,
    window: 64,
    budgetMs: 30 * 60_000,
    settleMs: 1000,
    /** The restarted server's time to its first job, at most. */
    restartTimeoutMs: 10 * 60_000,
    smallDrainJobs: 20_000,
    drainWorkers: 16,
    drainMaxMs: quick ? 3000 : 8000,
  },
  /** How many times each submit, drain and pipeline case runs; the median is kept. */
  rounds: Math.max(1, Math.floor(Number(flags.rounds ?? 1)) || 1),
};

/** The poison scenario's lazaret.json: a short fixed backoff so a poison job is quarantined quickly. */
const POISON_CONFIG = {
  policies: [{ match: '*', backoff: { base: 10, cap: 10, jitter: false } }],
  quarantineFunction: 'bench_quarantine',
};

type Size = 16 | 1024;
const SIZES: Size[] = [16, 1024];
const sizeLabel = (size: Size): string => (size === 16 ? '16 B' : '1 KiB');
const payloadOf = (size: Size): Buffer => Buffer.alloc(size, 0x61);

if (!['both', 'full', 'normal'].includes(flags.synchronous)) {
  process.stderr.write(`bench: --synchronous takes both, full or normal; got ${flags.synchronous}\n`);
  process.exit(2);
}
/** The Lazaret columns: the default (full) and, unless asked otherwise, the same server with synchronous: normal. */
const lazaretKinds: ServerKind[] =
  flags.synchronous === 'both' ? ['lazaret', 'lazaret-normal'] : flags.synchronous === 'normal' ? ['lazaret-normal'] : ['lazaret'];
const servers: ServerKind[] = gearmandBin ? [...lazaretKinds, 'gearmand', 'gearmand-sqlite'] : lazaretKinds;
const inMemoryOnly: ServerKind[] = servers.filter((s) => s !== 'gearmand-sqlite');
/** Memory does not depend on the fsync mode: one Lazaret column is enough. */
const oneLazaret: ServerKind[] = servers.filter((s) => s !== 'gearmand-sqlite' && s !== 'lazaret-normal');
/** Throughput with synchronous: full should stay within 10% of normal. */
const FULL_VS_NORMAL = { 'lazaret-normal': 0.9 };

const out = (line = ''): void => void process.stdout.write(`${line}\n`);
const report = new Report(servers, out);
const row = report.row.bind(report);

// ------------------------------------------------------------------ cases

const tmpRoot = mkdtempSync(join(tmpdir(), 'lazaret-bench-'));
// Also on Ctrl-C (lib/servers.ts kills the servers and exits): the stores go with the run.
process.on('exit', () => rmSync(tmpRoot, { recursive: true, force: true }));
const profileDir = flags.profile ? mkdtempSync(join(tmpdir(), 'lazaret-bench-profiles-')) : null;
const profiles: { name: string; file: string; span: [number, number] | null }[] = [];
let caseNo = 0;

async function runCase<T>(
  kind: ServerKind,
  name: string,
  body: (port: number, pid: number, httpPort: number | null) => Promise<T>,
  opts: { prepare?: (dir: string) => void; config?: object; http?: boolean } = {},
): Promise<T | null> {
  const id = `${String(++caseNo).padStart(2, '0')}-${name.replaceAll(' ', '')}-${kind}`;
  const settings: LaunchSettings = {
    root,
    dir: join(tmpRoot, id),
    lazaret,
    gearmand: gearmandBin,
    profileDir,
    profileName: id,
    lazaretConfig: { ...baseConfig, ...opts.config },
    http: opts.http,
  };
  let server;
  try {
    mkdirSync(settings.dir, { recursive: true });
    opts.prepare?.(settings.dir);
    server = await startServer(kind, settings);
  } catch (err) {
    out(`  ${name.padEnd(18)} ${SERVER_LABEL[kind].padEnd(16)} ERROR: ${(err as Error).message}`);
    return null;
  }
  let span: [number, number] | null = null;
  try {
    watchServer(server.pid);
    const result = await body(server.port, server.pid, server.httpPort);
    span = measuredSpanUs();
    return result;
  } catch (err) {
    out(`  ${name.padEnd(18)} ${SERVER_LABEL[kind].padEnd(16)} ERROR: ${(err as Error).message}`);
    const tail = server.logTail();
    if (tail) out(`    server log: ${tail.split('\n').slice(-5).join('\n    ')}`);
    return null;
  } finally {
    watchServer(null);
    await server.stop();
    if ((kind === 'lazaret' || kind === 'lazaret-normal') && profileDir) profiles.push({ name: id, file: join(profileDir, `${id}.cpuprofile`), span });
    rmSync(settings.dir, { recursive: true, force: true });
  }
}

function progress(name: string, kind: ServerKind, figure: string, detail: string): void {
  out(`  ${name.padEnd(18)} ${SERVER_LABEL[kind].padEnd(16)} ${figure.padStart(16)}  ${detail}`);
}

const fnName = (w: string, size: Size): string => `bench_${w}_${size}`;

/** Every kind, T.rounds times over, taking turns: a noisy minute on the shared disk hits them all. */
function* inTurns(kinds: readonly ServerKind[]): Generator<ServerKind> {
  for (let i = 0; i < T.rounds; i++) yield* kinds;
}

const samples = new Map<Row, Map<ServerKind, number[]>>();
/** Keeps every round's figure and shows the median (the lower middle of an even count). */
function record(r: Row, kind: ServerKind, value: number): void {
  const byKind = samples.get(r) ?? new Map<ServerKind, number[]>();
  samples.set(r, byKind);
  const list = byKind.get(kind) ?? [];
  byKind.set(kind, list);
  list.push(value);
  const sorted = [...list].sort((a, b) => a - b);
  r.values[kind] = sorted[Math.floor((sorted.length - 1) / 2)]!;
}

async function benchSubmit(): Promise<void> {
  out(`1. durable background submissions (SUBMIT_JOB_BG, ${T.submit.conns} connections x ${T.submit.window} in flight)`);
  for (const size of SIZES) {
    for (const kind of inTurns(servers)) {
      const name = `submit ${sizeLabel(size)}`;
      const r = await runCase(kind, name, (port) =>
        submitBackground(port, {
          ...T.submit,
          maxJobs: T.submit.maxJobs[size],
          warmupMs: T.warmupMs,
          durationMs: T.durationMs,
          fn: fnName('submit', size),
          payload: payloadOf(size),
        }),
      );
      if (!r) continue;
      record(row('durable submit', sizeLabel(size), 'jobs/s', 'higher', { gearmand: 0.5, 'gearmand-sqlite': 25, ...FULL_VS_NORMAL }), kind, r.perSec);
      progress(
        name,
        kind,
        `${fmt(r.perSec)} jobs/s`,
        `${fmt(r.count)} acknowledged in ${r.seconds.toFixed(1)} s${cpuText(r.cpu)}${errorText(r.errors, r.lastError)}`,
      );
    }
  }
}

async function benchDrain(): Promise<void> {
  out(`2. drain: preload ${fmt(T.drain.jobs)} jobs, then ${T.drain.workers} workers GRAB_JOB / WORK_COMPLETE one job at a time until NO_JOB`);
  out('   (gearmand+libsqlite3 is preloaded by filling its queue table before it starts: it replays it as after a restart)');
  for (const size of SIZES) {
    for (const kind of inTurns(servers)) {
      const name = `drain ${sizeLabel(size)}`;
      const fn = fnName('drain', size);
      const seeded = kind === 'gearmand-sqlite';
      const r = await runCase(
        kind,
        name,
        (port, pid) => drain(port, { ...T.drain, warmupMs: Math.min(T.warmupMs, 250), fn, payload: payloadOf(size), seeded, pid }),
        seeded ? { prepare: (dir) => seedGearmandQueue(join(dir, 'gearmand.db'), fn, payloadOf(size), T.drain.jobs) } : {},
      );
      if (!r) continue;
      const rr = row(`drain, ${T.drain.workers} workers`, sizeLabel(size), 'jobs/s', 'higher', { gearmand: 0.7, 'gearmand-sqlite': 20, ...FULL_VS_NORMAL });
      record(rr, kind, r.perSec);
      const perJob = cpuPerJobUs(r);
      if (perJob !== null) record(row('server CPU per drained job', sizeLabel(size), 'µs', 'lower', {}, 1), kind, perJob);
      const partial = r.preload.loaded < T.drain.jobs ? `only ${fmt(r.preload.loaded)} preloaded in ${r.preload.seconds.toFixed(1)} s; ` : '';
      if (partial) rr.notes[kind] = `${fmt(r.preload.loaded)} jobs`;
      progress(
        name,
        kind,
        `${fmt(r.perSec)} jobs/s`,
        `${partial}${fmt(r.drained)} drained${r.emptied ? '' : ' (window closed before the queue was empty)'}, measured ${fmt(r.count)} in ${r.seconds.toFixed(2)} s${cpuText(r.cpu)}${perJobText(perJob)}${errorText(r.errors + r.preload.errors, r.preload.lastError)}`,
      );
    }
  }
}

/** The server's CPU time over a whole drain divided by the jobs drained in it, in microseconds. */
function cpuPerJobUs(r: DrainResult): number | null {
  return r.serverCpuSec === null || r.drained === 0 ? null : (r.serverCpuSec * 1e6) / r.drained;
}

function perJobText(us: number | null): string {
  return us === null ? '' : `; server CPU ${us.toFixed(1)} µs per drained job`;
}

async function benchPipeline(): Promise<void> {
  const p = T.pipeline;
  out(`3. submit-and-work pipeline: ${p.submitters} submitters x ${p.window} in flight (backlog capped at ${p.backlog}), ${p.workers} workers with PRE_SLEEP`);
  for (const size of SIZES) {
    for (const kind of inTurns(servers)) {
      const name = `pipeline ${sizeLabel(size)}`;
      const r = await runCase(kind, name, (port) =>
        // gearmand+libsqlite3 takes seconds to hand out its first jobs (every insert is synced): warm it longer.
        pipeline(port, {
          ...p,
          warmupMs: kind === 'gearmand-sqlite' ? 2000 : T.warmupMs,
          durationMs: T.durationMs,
          fn: fnName('pipeline', size),
          payload: payloadOf(size),
        }),
      );
      if (!r) continue;
      const rr = row('submit+work pipeline', sizeLabel(size), 'jobs/s', 'higher', { gearmand: 0.7, 'gearmand-sqlite': 20, ...FULL_VS_NORMAL });
      record(rr, kind, r.perSec);
      if (r.count === 0) rr.notes[kind] = 'none completed';
      progress(name, kind, `${fmt(r.perSec)} jobs/s`, `completed; ${fmt(r.submittedPerSec)} submitted/s${cpuText(r.cpu)}${errorText(r.errors, '')}`);
    }
  }
}

async function benchRoundTrip(): Promise<void> {
  const p = T.roundtrip;
  out(
    `4. foreground round trips: ${p.clients} clients each SUBMIT_JOB and wait for WORK_COMPLETE, ${p.workers} echo workers (gearmand+libsqlite3 skipped: foreground jobs are not stored)`,
  );
  for (const size of SIZES) {
    for (const kind of inMemoryOnly) {
      const name = `round trip ${sizeLabel(size)}`;
      const r = await runCase(kind, name, (port) =>
        roundTrip(port, { ...p, warmupMs: T.warmupMs, durationMs: T.durationMs, fn: fnName('rt', size), payload: payloadOf(size) }),
      );
      if (!r) continue;
      row('round trips', sizeLabel(size), 'jobs/s', 'higher', { gearmand: 1, ...FULL_VS_NORMAL }).values[kind] = r.perSec;
      row('round trip p50', sizeLabel(size), 'ms', 'lower', {}, 3).values[kind] = r.p50Ms;
      row('round trip p99', sizeLabel(size), 'ms', 'lower', { gearmand: 1 }, 3).values[kind] = r.p99Ms;
      progress(
        name,
        kind,
        `${fmt(r.perSec)} jobs/s`,
        `p50 ${r.p50Ms.toFixed(3)} ms, p99 ${r.p99Ms.toFixed(3)} ms, max ${r.maxMs.toFixed(1)} ms${cpuText(r.cpu)}${errorText(r.errors, '')}`,
      );
    }
  }
}

async function benchRss(): Promise<void> {
  const p = T.rss;
  out(`5. server RSS with ${fmt(p.jobs)} queued 16-byte background jobs (VmRSS; gearmand+libsqlite3 skipped: same in-memory queue)`);
  for (const kind of oneLazaret) {
    const name = 'RSS 100k queued';
    const r = await runCase(kind, name, (port, pid) => queuedRss(port, pid, { ...p, fn: 'bench_rss', payload: payloadOf(16) }));
    if (!r?.loaded || !r.idle) continue;
    const mib = r.loaded.rssKiB / 1024;
    const rr = row(`RSS, ${fmt(p.jobs / 1000)}k queued`, '16 B', 'MiB', 'lower', { gearmand: 1 }, 1);
    rr.values[kind] = mib;
    if (r.preload.loaded < p.jobs) rr.notes[kind] = `${fmt(r.preload.loaded)} jobs`;
    row('RSS, idle (no job)', '-', 'MiB', 'lower', {}, 1).values[kind] = r.idle.rssKiB / 1024;
    row('RSS growth per queued job', '16 B', 'bytes', 'lower', {}).values[kind] = ((r.loaded.rssKiB - r.idle.rssKiB) * 1024) / Math.max(1, r.preload.loaded);
    progress(
      name,
      kind,
      `${mib.toFixed(1)} MiB`,
      `idle ${(r.idle.rssKiB / 1024).toFixed(1)} MiB, peak ${(r.loaded.hwmKiB / 1024).toFixed(1)} MiB, ${fmt(r.preload.loaded)} jobs loaded in ${r.preload.seconds.toFixed(1)} s${errorText(r.preload.errors, r.preload.lastError)}`,
    );
  }
}

async function benchPoison(): Promise<void> {
  const p = T.poison;
  out(`6. poison storm (Lazaret only): ${p.submitters} submitters, ${p.workers} workers; 1 job in ${p.every} kills the worker that takes it`);
  out(`   (the worker's connection drops and a new one starts at once); policy ${JSON.stringify(POISON_CONFIG.policies[0])}, default maxCrashes`);
  const results: { every: number; perSec: number }[] = [];
  for (const every of [0, p.every]) {
    const name = every === 0 ? 'healthy only' : `1 poison in ${every}`;
    const r = await runCase(
      'lazaret',
      name,
      (port) =>
        poisonStorm(port, {
          ...p,
          every,
          fn: 'bench_poison',
          payload: payloadOf(16),
          quarantineFn: POISON_CONFIG.quarantineFunction,
          warmupMs: T.warmupMs,
          durationMs: T.durationMs,
        }),
      { config: POISON_CONFIG },
    );
    if (!r) continue;
    results.push({ every, perSec: r.perSec });
    const q = r.toQuarantineMs;
    const poisonText =
      every === 0
        ? ''
        : `; ${fmt(r.poisonDelivered)} poison jobs delivered, ${fmt(r.crashes)} worker crashes (${(r.crashes / Math.max(1, r.poisonDelivered)).toFixed(2)} per poison job), ${fmt(r.quarantined)} quarantined; first delivery -> quarantine p50 ${quantile(q, 0.5).toFixed(1)} ms, p99 ${quantile(q, 0.99).toFixed(1)} ms, max ${(q.at(-1) ?? Number.NaN).toFixed(1)} ms`;
    progress(name, 'lazaret', `${fmt(r.perSec)} jobs/s`, `healthy completed${poisonText}${cpuText(r.cpu)}${errorText(r.errors, '')}`);
    if (every !== 0) {
      row('poison storm: to quarantine p50', '16 B', 'ms', 'lower', {}, 1).values.lazaret = quantile(q, 0.5);
      row('poison storm: to quarantine max', '16 B', 'ms', 'lower', {}, 1).values.lazaret = q.at(-1) ?? Number.NaN;
    }
  }
  const clean = results.find((x) => x.every === 0);
  const storm = results.find((x) => x.every !== 0);
  if (clean) row('healthy jobs/s, no poison', '16 B', 'jobs/s', 'higher', {}).values.lazaret = clean.perSec;
  if (storm) row(`healthy jobs/s, 1 poison in ${p.every}`, '16 B', 'jobs/s', 'higher', {}).values.lazaret = storm.perSec;
  if (clean && storm && clean.perSec > 0) {
    out(`   healthy throughput under the storm: ${(storm.perSec / clean.perSec).toFixed(2)}x of the poison-free run`);
  }
}

async function benchWorkerLib(): Promise<void> {
  const d = T.drain;
  out(`7. the client library's Worker (Lazaret only): drain ${fmt(d.jobs)} preloaded no-op jobs, one server, three ways in turn:`);
  out(
    `   raw protocol (${d.workers} connections, as workload 2); Worker in-process (concurrency ${d.workers}); Worker sandboxed (${T.workerLib.poolSize} child processes)`,
  );
  const r = await runCase('lazaret', 'worker library', (port) =>
    workerLib(port, { ...d, warmupMs: Math.min(T.warmupMs, 250), payload: payloadOf(16), poolSize: T.workerLib.poolSize }),
  );
  if (!r) return;
  const modes = [
    ['raw protocol drain', r.raw, null],
    ['Worker in-process', r.inProcess, 0.8],
    ['Worker sandboxed', r.sandboxed, 0.5],
  ] as const;
  for (const [label, m, target] of modes) {
    const ratio = r.raw.perSec > 0 ? m.perSec / r.raw.perSec : Number.NaN;
    row(label, '16 B', 'jobs/s', 'higher', {}).values.lazaret = m.perSec;
    const verdict = target === null ? '' : `, ${ratio.toFixed(2)}x of raw (target >= ${target}x: ${ratio >= target ? 'met' : 'MISSED'})`;
    progress(label, 'lazaret', `${fmt(m.perSec)} jobs/s`, `${fmt(m.drained)} drained of ${fmt(m.preload.loaded)}${verdict}${cpuText(m.cpu)}`);
  }
}

async function benchHttpOverhead(): Promise<void> {
  out(`8. HTTP side cost (Lazaret only): drain and pipeline (16 B, as in 2 and 3) with --http-port off, then on with /metrics and`);
  out(`   /health fetched every second by this process; ${T.http.rounds} rounds of an off and an on case (order swapped each round),`);
  out('   compared by the best figure of each side and by the median of the ratios within a round');
  const workloads: Record<string, (port: number) => Promise<Rate>> = {
    drain: (port: number) => drain(port, { ...T.drain, warmupMs: Math.min(T.warmupMs, 250), fn: 'bench_http_drain', payload: payloadOf(16) }),
    pipeline: (port: number) =>
      pipeline(port, { ...T.pipeline, warmupMs: T.warmupMs, durationMs: T.durationMs, fn: 'bench_http_pipeline', payload: payloadOf(16) }),
  };
  for (const [workload, run] of Object.entries(workloads)) {
    const best = { off: 0, on: 0 };
    const ratios: number[] = [];
    for (let round = 1; round <= T.http.rounds; round++) {
      const got = { off: 0, on: 0 };
      for (const mode of round % 2 === 1 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
        const name = `${workload} http ${mode}`;
        const r = await runCase('lazaret', name, (port, _pid, httpPort) => whileScraping(httpPort, () => run(port)), { http: mode === 'on' });
        if (!r) continue;
        got[mode] = r.result.perSec;
        best[mode] = Math.max(best[mode], r.result.perSec);
        const scraped = r.scrapes
          ? `; ${r.scrapes.scrapes} scrapes, ${r.scrapes.meanMs.toFixed(1)} ms mean, ${r.scrapes.maxMs.toFixed(1)} ms max, ${fmt(r.scrapes.metricsBytes)} B of metrics${r.scrapes.errors ? `, ${r.scrapes.errors} errors` : ''}`
          : '';
        progress(`${name} #${round}`, 'lazaret', `${fmt(r.result.perSec)} jobs/s`, `${cpuText(r.result.cpu).slice(2)}${scraped}`);
      }
      if (got.off > 0 && got.on > 0) ratios.push(got.on / got.off);
    }
    row(`${workload}, HTTP off`, '16 B', 'jobs/s', 'higher', {}).values.lazaret = best.off;
    row(`${workload}, HTTP on + scrapes`, '16 B', 'jobs/s', 'higher', {}).values.lazaret = best.on;
    if (best.off > 0 && best.on > 0) {
      const median = quantile(
        [...ratios].sort((a, b) => a - b),
        0.5,
      );
      row(`${workload}, on/off (median of rounds)`, '16 B', 'ratio', 'higher', {}, 3).values.lazaret = median;
      out(
        `   ${workload}: best on ${fmt(best.on)} / off ${fmt(best.off)} jobs/s = ${(best.on / best.off).toFixed(3)}x; per round ${ratios.map((x) => x.toFixed(2)).join(', ')}, median ${median.toFixed(3)}x (target: at least 0.95x)`,
      );
    }
  }
  const c = await inProcessCost();
  out(
    `   in this process: the metrics and latency listeners add ${c.perJobNs.toFixed(0)} ns per job; one /metrics + /health with ${c.functions} functions takes ${c.scrapeMs.toFixed(2)} ms`,
  );
  out(`   (a scrape a second is ${(c.scrapeMs / 10).toFixed(2)}% of one core)`);
  row('metrics + latency listeners, per job', '-', 'ns', 'lower', {}).values.lazaret = c.perJobNs;
  row(`/metrics + /health, ${c.functions} functions`, '-', 'ms', 'lower', {}, 2).values.lazaret = c.scrapeMs;
}

// ------------------------------------------------------------------ large backlogs (--only rss-1m,restart-1m,drain-1m)

/** 1000000 -> "1M", 20000 -> "20k", else the number. */
const short = (n: number): string => (n >= 1e6 && n % 1e6 === 0 ? `${n / 1e6}M` : n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : fmt(n));
const bigPayload = Buffer.alloc(backlogPayload, 0x61);
const bigPayloadLabel = backlogPayload === 1024 ? '1 KiB' : `${backlogPayload} B`;

async function benchRssBig(): Promise<void> {
  const b = T.big;
  const kinds = servers.filter((s) => s !== 'gearmand-sqlite');
  out(
    `9. server RSS with ${fmt(backlog)} queued ${bigPayloadLabel} background jobs (VmRSS ${b.settleMs} ms after the last JOB_CREATED; gearmand+libsqlite3 skipped: same in-memory queue)`,
  );
  for (const kind of inTurns(kinds)) {
    const name = `RSS ${short(backlog)} queued`;
    const r = await runCase(kind, name, (port, pid) =>
      queuedRss(port, pid, {
        jobs: backlog,
        conns: b.conns,
        window: b.window,
        budgetMs: b.budgetMs,
        settleMs: b.settleMs,
        fn: 'bench_rss_big',
        payload: bigPayload,
      }),
    );
    if (!r?.loaded || !r.idle) continue;
    const mib = r.loaded.rssKiB / 1024;
    const rr = row(`RSS, ${short(backlog)} queued`, bigPayloadLabel, 'MiB', 'lower', { gearmand: 1 }, 1);
    record(rr, kind, mib);
    if (r.preload.loaded < backlog) rr.notes[kind] = `${fmt(r.preload.loaded)} jobs`;
    record(
      row(`RSS growth per queued job, ${short(backlog)}`, bigPayloadLabel, 'bytes', 'lower', {}),
      kind,
      ((r.loaded.rssKiB - r.idle.rssKiB) * 1024) / Math.max(1, r.preload.loaded),
    );
    progress(
      name,
      kind,
      `${mib.toFixed(1)} MiB`,
      `idle ${(r.idle.rssKiB / 1024).toFixed(1)} MiB, peak ${(r.loaded.hwmKiB / 1024).toFixed(1)} MiB, ${fmt(r.preload.loaded)} jobs loaded in ${r.preload.seconds.toFixed(1)} s (${fmt(r.preload.loaded / Math.max(0.001, r.preload.seconds))}/s)${errorText(r.preload.errors, r.preload.lastError)}`,
    );
  }
}

async function benchRestart(): Promise<void> {
  const kinds = servers.filter((s) => s !== 'gearmand');
  out(`10. restart to first job: ${fmt(backlog)} queued ${bigPayloadLabel} background jobs, SIGKILL, the server started again on the same store and port;`);
  out('    time from the spawn to the first JOB_ASSIGN received by a worker that connects as soon as the port accepts (polling every 5 ms)');
  if (kinds.includes('gearmand-sqlite')) {
    out(
      `    gearmand+libsqlite3: BACKLOG ${fmt(gearmandBacklog)} rows seeded into its queue table (submitting commits one job at a time, a few hundred/s); its start replays them as after a crash`,
    );
  }
  for (const kind of inTurns(kinds)) {
    const name = `restart ${short(kind === 'gearmand-sqlite' ? gearmandBacklog : backlog)}`;
    const r = await restartCase(kind, name);
    if (!r) continue;
    // A smaller gearmand backlog gets rows of its own: a ratio between different backlogs would mislead.
    const jobs = kind === 'gearmand-sqlite' ? gearmandBacklog : backlog;
    const rr = row(`restart -> first job, ${short(jobs)} queued`, bigPayloadLabel, 'ms', 'lower', {}, 0);
    record(rr, kind, r.firstJobMs);
    if (r.loaded !== jobs) rr.notes[kind] = `${short(r.loaded)} queued`;
    record(row(`restart -> listening, ${short(jobs)} queued`, bigPayloadLabel, 'ms', 'lower', {}, 0), kind, r.listenMs);
    if (r.rss) record(row(`RSS at the first job after restart, ${short(jobs)}`, bigPayloadLabel, 'MiB', 'lower', {}, 1), kind, r.rss.rssKiB / 1024);
    progress(
      name,
      kind,
      `${fmt(r.firstJobMs)} ms`,
      `listening after ${fmt(r.listenMs)} ms, ${r.noJobs} NO_JOB before the first job; RSS then ${r.rss ? (r.rss.rssKiB / 1024).toFixed(1) : '?'} MiB; ${fmt(r.loaded)} of ${fmt(jobs)} jobs ${kind === 'gearmand-sqlite' ? 'seeded' : 'submitted'} in ${r.preloadSec.toFixed(1)} s${errorText(r.errors, r.lastError)}`,
    );
  }
}

/** One restart case on its own fresh store: fill it, SIGKILL (Lazaret), start again and time the first job. */
async function restartCase(kind: ServerKind, name: string) {
  const b = T.big;
  const id = `${String(++caseNo).padStart(2, '0')}-${name.replaceAll(' ', '')}-${kind}`;
  const settings: LaunchSettings = { root, dir: join(tmpRoot, id), lazaret, gearmand: gearmandBin, profileDir: null, profileName: id };
  const fn = 'bench_restart';
  let server: ServerHandle | null = null;
  try {
    mkdirSync(settings.dir, { recursive: true });
    let port: number;
    let filled: { loaded: number; seconds: number; errors: number; lastError: string };
    if (kind === 'gearmand-sqlite') {
      const t = performance.now();
      seedGearmandQueue(join(settings.dir, 'gearmand.db'), fn, bigPayload, gearmandBacklog);
      filled = { loaded: gearmandBacklog, seconds: (performance.now() - t) / 1000, errors: 0, lastError: '' };
      port = await freePort();
    } else {
      server = await startServer(kind, settings);
      port = server.port;
      filled = await preload(port, { conns: b.conns, window: b.window, count: backlog, budgetMs: b.budgetMs, fn, payload: bigPayload });
      await server.kill();
    }
    const spawnedAt = performance.now();
    const { handle, child } = await spawnServer(kind, settings, port);
    server = handle;
    const first = await firstJobAfterStart(port, fn, spawnedAt, b.restartTimeoutMs, () => child.exitCode === null && child.signalCode === null);
    return { ...first, rss: memoryOf(handle.pid), loaded: filled.loaded, preloadSec: filled.seconds, errors: filled.errors, lastError: filled.lastError };
  } catch (err) {
    out(`  ${name.padEnd(18)} ${SERVER_LABEL[kind].padEnd(16)} ERROR: ${(err as Error).message}`);
    const tail = server?.logTail();
    if (tail) out(`    server log: ${tail.split('\n').slice(-5).join('\n    ')}`);
    return null;
  } finally {
    await server?.stop();
    rmSync(settings.dir, { recursive: true, force: true });
  }
}

async function benchDrainBig(): Promise<void> {
  const b = T.big;
  const kinds = inMemoryOnly;
  const sizes = [b.smallDrainJobs, backlog];
  out(
    `11. drain with a large backlog: ${fmt(backlog)} queued ${bigPayloadLabel} jobs against ${fmt(b.smallDrainJobs)}; ${b.drainWorkers} workers GRAB_JOB / WORK_COMPLETE one job at a time,`,
  );
  out(
    `    measured after a ${Math.min(T.warmupMs, 250)} ms warm-up until empty or for at most ${fmt(b.drainMaxMs)} ms; server CPU (utime + stime) over the whole drain per job drained`,
  );
  for (const kind of inTurns(kinds)) {
    for (const jobs of sizes) {
      const name = `drain ${short(jobs)} queued`;
      const r = await runCase(kind, name, (port, pid) =>
        drain(port, {
          workers: b.drainWorkers,
          fn: 'bench_drain_big',
          payload: bigPayload,
          jobs,
          preloadBudgetMs: b.budgetMs,
          preloadConns: b.conns,
          preloadWindow: b.window,
          warmupMs: Math.min(T.warmupMs, 250),
          maxMs: b.drainMaxMs,
          pid,
        }),
      );
      if (!r) continue;
      const rr = row(`drain, ${short(jobs)} queued`, bigPayloadLabel, 'jobs/s', 'higher', {});
      record(rr, kind, r.perSec);
      if (r.preload.loaded < jobs) rr.notes[kind] = `${fmt(r.preload.loaded)} jobs`;
      const perJob = cpuPerJobUs(r);
      if (perJob !== null) record(row(`server CPU per drained job, ${short(jobs)} queued`, bigPayloadLabel, 'µs', 'lower', {}, 1), kind, perJob);
      progress(
        name,
        kind,
        `${fmt(r.perSec)} jobs/s`,
        `${fmt(r.preload.loaded)} preloaded in ${r.preload.seconds.toFixed(1)} s; ${fmt(r.drained)} drained${r.emptied ? '' : ' (window closed first)'}, measured ${fmt(r.count)} in ${r.seconds.toFixed(2)} s${cpuText(r.cpu)}${perJobText(perJob)}${errorText(r.errors + r.preload.errors, r.preload.lastError)}`,
      );
    }
  }
  const small = row(`drain, ${short(b.smallDrainJobs)} queued`, bigPayloadLabel, 'jobs/s', 'higher', {});
  const big = row(`drain, ${short(backlog)} queued`, bigPayloadLabel, 'jobs/s', 'higher', {});
  const ratio = row(`drain ${short(backlog)} / ${short(b.smallDrainJobs)} queued`, bigPayloadLabel, 'ratio', 'higher', {}, 2);
  for (const kind of kinds) {
    const s = small.values[kind];
    const l = big.values[kind];
    if (s !== undefined && l !== undefined && s > 0) {
      ratio.values[kind] = l / s;
      out(`   ${SERVER_LABEL[kind]}: ${fmt(l)} / ${fmt(s)} jobs/s = ${(l / s).toFixed(2)}x of the ${short(b.smallDrainJobs)}-job drain rate`);
    }
  }
}

function cpuText(cpu: { server: number; loadgen: number } | null): string {
  return cpu ? `; CPU server ${(cpu.server * 100).toFixed(0)}%, load generator ${(cpu.loadgen * 100).toFixed(0)}%` : '';
}

function errorText(n: number, last: string): string {
  return n > 0 ? `, ${fmt(n)} ERROR packets${last ? ` (last: ${last})` : ''}` : '';
}

// ------------------------------------------------------------------ main

const started = Date.now();
const cpuModel = cpus()[0]?.model ?? 'unknown CPU';
out(`Lazaret bench${quick ? ' (--quick)' : ''}${flags.profile ? ' (--profile: Lazaret runs under the V8 profiler, figures are lower)' : ''}`);
const load = loadavg()[0]!;
out(`machine:   ${availableParallelism()} CPUs (${cpuModel}), node ${process.version}, load average ${load.toFixed(2)}`);
if (load > 0.5 * availableParallelism()) {
  out(`           WARNING: other processes are using the CPUs (load ${load.toFixed(2)}); figures will be low and noisy`);
}
out(
  `Lazaret:   ${lazaret.describe} serve --http-port off --log-level warn, SQLite store (WAL); "Lazaret" = the default synchronous: full, "Lazaret normal" = synchronous: normal`,
);
out(
  `gearmand:  ${gearmandBin ? `${gearmandVersion(gearmandBin).split(' - ')[0]} (${gearmandBin}), default threads; "gearmand mem" = builtin in-memory queue, "gearmand+sqlite" = -q libsqlite3` : 'not on PATH: Lazaret figures only'}`,
);
out(
  `load:      generated in this process (main thread, one event loop, the project's codec), the server in a child process; both share the ${availableParallelism()} CPUs`,
);
out('jobs:      background submissions carry a 36-byte unique key each, as libgearman sends them; foreground ones none');
out(
  `each case: a fresh server and store in ${tmpRoot}; warm-up ${T.warmupMs} ms, then a ${T.durationMs} ms window (drain: until empty, at most ${T.drain.maxMs} ms)${T.rounds > 1 ? `; submit, drain and pipeline ${T.rounds} rounds each, systems taking turns, medians in the table` : ''}`,
);
out();

try {
  if (only.has('submit')) await benchSubmit();
  if (only.has('drain')) await benchDrain();
  if (only.has('pipeline')) await benchPipeline();
  if (only.has('roundtrip')) await benchRoundTrip();
  if (only.has('rss')) await benchRss();
  if (only.has('poison')) await benchPoison();
  if (only.has('worker-lib')) await benchWorkerLib();
  if (only.has('http')) await benchHttpOverhead();
  if (only.has('rss-1m')) await benchRssBig();
  if (only.has('restart-1m')) await benchRestart();
  if (only.has('drain-1m')) await benchDrainBig();
  if (only.has('pg')) {
    await pgBench({
      root,
      tmpRoot,
      settings: { root, lazaret, gearmand: gearmandBin, profileDir: null, lazaretConfig: baseConfig },
      url: process.env.LAZARET_BENCH_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test',
      quick,
      rounds: flags.rounds === undefined ? 3 : T.rounds,
      out,
    });
  }
  out();
  report.printTable();
  if (profileDir) {
    out();
    report.printProfiles(profiles, profileDir, root);
  }
  out();
  out(`done in ${((Date.now() - started) / 1000).toFixed(0)} s; load average now ${loadavg()[0]!.toFixed(2)}`);
} finally {
  rmSync(tmpRoot, { recursive: true, force: true });
}

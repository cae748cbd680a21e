// The long fuzz run of the Gearman port: at least 1,000,000 seeded hostile frames (bad magic, huge and
// absurd lengths, truncated and stalled frames, unknown types, random arguments, names with control
// characters, CAN_DO sprays, admin lines) from many connections, while a healthy worker and client keep
// real jobs flowing. Prints frames/s, healthy jobs done and the server's RSS as it goes; exits non-zero
// only if the server died, stopped answering, or healthy jobs stopped completing (never on a figure).
//
//   node --import tsx bench/fuzz-gearman.ts                    1,000,000 frames, seed 0x5eed
//   node --import tsx bench/fuzz-gearman.ts --frames 200000 --seed 42 --connections 16
//   node --import tsx bench/fuzz-gearman.ts --lazaret src      run the server from src/ (default dist/ when fresh)

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Worker } from '../src/client/index.js';
import { fuzzPiece, survivablePiece, type FuzzLimits } from '../test/helpers/hostile-frames.js';
import { prng, randInt } from '../test/helpers/vectors.js';
import { lazaretEntry, memoryOf, startServer } from './lib/servers.js';

const { values: flags } = parseArgs({
  options: {
    frames: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: String(0x5eed) },
    connections: { type: 'string', default: '12' },
    lazaret: { type: 'string' },
  },
});

const TARGET = Number(flags.frames);
const SEED = Number(flags.seed);
const CONCURRENCY = Number(flags.connections);
const LIMITS: FuzzLimits & Record<string, number> = {
  maxFrameBytes: 64 * 1024,
  maxPayloadBytes: 32 * 1024,
  maxLineBytes: 1024,
  frameTimeoutMs: 1000,
  identifyTimeoutMs: 5000,
  maxBufferedBytes: 8 * 1024 * 1024,
  // Valid submissions among the noise are real jobs: a queue limit keeps what they leave behind bounded.
  maxQueue: 20,
};
const REAL_FN = 'real-work-7f3a9c';
/** Healthy jobs must keep completing: a stall this long fails the run. */
const STALL_MS = 30_000;

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'lazaret-fuzz-'));
const entry = lazaretEntry(root, flags.lazaret === 'src' ? 'src' : flags.lazaret === 'dist' ? 'dist' : undefined, () =>
  process.stdout.write('building dist/ first...\n'),
);
const server = await startServer('lazaret', {
  root,
  dir,
  lazaret: entry,
  gearmand: null,
  profileDir: null,
  profileName: 'fuzz',
  lazaretConfig: { limits: LIMITS },
});
const port = server.port;
process.stdout.write(
  `fuzzing Lazaret (${entry.describe}, pid ${server.pid}) on port ${port}: ${TARGET} hostile frames, seed ${SEED}, ${CONCURRENCY} connections at once\n`,
);

let frames = 0;
let connections = 0;
let healthyDone = 0;
let lastHealthyAt = performance.now();
let failure: string | null = null;

/** One hostile connection: a run of pieces the server survives, often a killing one at the end. */
async function fuzzConnection(seed: number): Promise<void> {
  const rand = prng(seed);
  const pieces: Buffer[] = [];
  const n = randInt(rand, 1, 120);
  for (let i = 0; i < n; i++) pieces.push(survivablePiece(rand));
  if (rand() < 0.7) pieces.push(fuzzPiece(rand, LIMITS));
  const data = Buffer.concat(pieces);
  await new Promise<void>((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const timer = setTimeout(() => socket.destroy(), 15_000);
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('connect', () => {
      // Random splits: frames cross write boundaries the way slow networks cut them.
      let at = 0;
      while (at < data.length && !socket.destroyed) {
        const len = randInt(rand, 1, Math.max(1, Math.min(data.length - at, 16 * 1024)));
        socket.write(data.subarray(at, at + len));
        at += len;
      }
      if (rand() < 0.1) socket.destroy();
      else socket.end();
    });
  });
  frames += pieces.length;
  connections++;
}

// The healthy side: a worker, and a client that keeps a few foreground jobs in flight.
const servers = [`127.0.0.1:${port}`];
const worker = new Worker({ servers, concurrency: 4, functions: { [REAL_FN]: (job) => Buffer.from(job.payload).reverse() } });
await worker.start();
const client = new Client({ servers, jobTimeoutMs: 60_000 });
let fuzzing = true;
const healthy = Array.from({ length: 4 }, async (_, lane) => {
  for (let i = 0; fuzzing; i++) {
    const payload = `lane${lane}-${i}`;
    try {
      const result = (await client.submit(REAL_FN, payload)).toString();
      if (result !== [...payload].reverse().join('')) failure ??= `healthy job ${payload} got a wrong result: ${result}`;
      healthyDone++;
      lastHealthyAt = performance.now();
    } catch (err) {
      failure ??= `healthy job ${payload} failed: ${(err as Error).message}`;
    }
  }
});

const started = performance.now();
let peakRssKiB = 0;
const sampler = setInterval(() => {
  const mem = memoryOf(server.pid);
  if (mem === null) failure ??= 'the server process is gone';
  else peakRssKiB = Math.max(peakRssKiB, mem.rssKiB);
  const s = (performance.now() - started) / 1000;
  if (performance.now() - lastHealthyAt > STALL_MS) failure ??= `no healthy job completed for ${STALL_MS / 1000} s`;
  process.stdout.write(
    `  ${s.toFixed(0).padStart(4)} s  ${frames.toLocaleString('en')} frames (${Math.round(frames / s).toLocaleString('en')}/s)  ${connections.toLocaleString('en')} connections  ${healthyDone.toLocaleString('en')} healthy jobs  RSS ${mem ? (mem.rssKiB / 1024).toFixed(0) : '?'} MiB\n`,
  );
}, 2000);

const fuzzers = Array.from({ length: CONCURRENCY }, async (_, f) => {
  for (let i = 0; frames < TARGET && failure === null; i++) await fuzzConnection((SEED + f * 1_000_003 + i) >>> 0);
});
await Promise.all(fuzzers);
fuzzing = false;
await Promise.all(healthy);

/** One admin command's reply (a listing through its `.` line, or one line). */
function admin(line: string): Promise<string> {
  return new Promise<string>((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let text = '';
    const timer = setTimeout(() => (socket.destroy(), resolve(`no answer: ${text}`)), 10_000);
    socket.on('error', (err) => resolve(`error: ${err.message}`));
    socket.on('data', (c: Buffer) => {
      text += c.toString();
      if (/^(OK|ERR)[^\n]*\n$/.test(text) || text === '.\n' || text.endsWith('\n.\n')) {
        clearTimeout(timer);
        socket.destroy();
        resolve(text);
      }
    });
    socket.write(`${line}\r\n`);
  });
}

// Still up: an admin round trip and one more healthy job.
const alive = (await admin('version')).trim();
const status = (await admin('status')).split('\n').filter((l) => l.includes('\t'));
const leftJobs = status.reduce((n, l) => n + Number(l.split('\t')[1] ?? 0), 0);
if (!alive.startsWith('OK ')) failure ??= `the server did not answer version: ${alive}`;
try {
  if ((await client.submit(REAL_FN, 'last')).toString() !== 'tsal') failure ??= 'the last healthy job got a wrong result';
} catch (err) {
  failure ??= `the last healthy job failed: ${(err as Error).message}`;
}

clearInterval(sampler);
const seconds = (performance.now() - started) / 1000;
const rss = memoryOf(server.pid);
client.close();
await worker.stop({ graceMs: 0 });
const _logTail = server.logTail();
await server.stop();
// Hostile input is answered with warnings; an error-level line means something inside went wrong.
const log = readFileSync(join(dir, 'lazaret.log'), 'utf8').split('\n');
const errors = log.filter((l) => /"level":(5|6)\d/.test(l));
const warnings = log.filter((l) => l.includes('"level":40')).length;
if (errors.length > 0) failure ??= `${errors.length} error lines in the server log, the first: ${errors[0]}`;
rmSync(dir, { recursive: true, force: true });

process.stdout.write(
  [
    '',
    `hostile frames:    ${frames.toLocaleString('en')} in ${seconds.toFixed(1)} s (${Math.round(frames / seconds).toLocaleString('en')} frames/s) over ${connections.toLocaleString('en')} connections`,
    `healthy jobs done: ${healthyDone.toLocaleString('en')} (${(healthyDone / seconds).toFixed(0)}/s)`,
    `server RSS:        ${rss ? (rss.rssKiB / 1024).toFixed(0) : '?'} MiB at the end, peak ${(Math.max(peakRssKiB, rss?.hwmKiB ?? 0) / 1024).toFixed(0)} MiB`,
    `left behind:       ${leftJobs.toLocaleString('en')} jobs the fuzz submitted (queued, as any client's), in ${status.length} functions`,
    `server log:        ${warnings.toLocaleString('en')} warnings (refused input), ${errors.length} errors`,
    `server:            ${failure === null ? `up (${alive})` : `FAILED: ${failure}`}`,
    '',
  ].join('\n'),
);
if (failure !== null) process.exitCode = 1;

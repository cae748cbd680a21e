// Seeded, time-boxed fuzzing of a running server over real sockets: many connections throw
// random and mutated frames (unknown and huge types, lengths far beyond the data, truncated frames, bad
// magic, absurd numbers, reports for unknown handles, long and random admin lines) while real background
// and foreground jobs flow on other connections to a healthy worker. The server must stay up, never
// answer with an internal error, and answer every real job.
// LAZARET_FUZZ_MS stretches the time budget, LAZARET_FUZZ_SEED replays a reported seed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { RawPeer, rawWorker } from '../helpers/gearman-client.js';
import { fuzzPiece, pick } from '../helpers/hostile-frames.js';
import { prng, randInt } from '../helpers/vectors.js';
import { peerFor, serverFor } from '../helpers/server.js';

const BUDGET_MS = Number(process.env.LAZARET_FUZZ_MS ?? 3000);
const BASE_SEED = Number(process.env.LAZARET_FUZZ_SEED ?? 0x5eed_0bad);
const FUZZERS = 8;
const MAX_CONNECTIONS_PER_FUZZER = 400;
/** Real work lives under a name no fuzz frame contains, so no fuzz bytes can steal or limit it. */
const REAL_FN = 'real-work-7f3a9c';
// Short deadlines, so stalled frames and silent connections are closed within the run.
const LIMITS = { maxFrameBytes: 64 * 1024, maxPayloadBytes: 32 * 1024, maxLineBytes: 1024, frameTimeoutMs: 500, identifyTimeoutMs: 2000 };

interface FuzzResult {
  seed: number;
  received: Buffer;
}

/** One connection: send hostile pieces in random splits, then half-close and wait for the server to close. */
async function fuzzConnection(port: number, seed: number): Promise<FuzzResult> {
  const rand = prng(seed);
  const socket = connect({ port, host: '127.0.0.1' });
  socket.on('error', () => undefined);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  // events.once would reject on the socket's 'error' (EPIPE once the server closed); only 'close' matters.
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await once(socket, 'connect');
  const pieces = randInt(rand, 1, 12);
  const data = Buffer.concat(Array.from({ length: pieces }, () => fuzzPiece(rand, LIMITS)));
  let at = 0;
  while (at < data.length && !socket.destroyed) {
    const n = randInt(rand, 1, Math.max(1, Math.min(data.length - at, 4096)));
    socket.write(data.subarray(at, at + n));
    at += n;
    if (rand() < 0.3) await new Promise((r) => setImmediate(r));
  }
  if (rand() < 0.2) socket.destroy();
  else socket.end();
  // The server closes its side when ours ends (or earlier, after a protocol error).
  const timer = setTimeout(() => socket.destroy(new Error(`fuzz connection ${seed} not closed by the server`)), 10_000);
  await closed;
  clearTimeout(timer);
  return { seed, received: Buffer.concat(chunks) };
}

test('the server survives seeded hostile traffic and answers every real job meanwhile', async (t) => {
  const server = await serverFor(t, { limits: LIMITS });
  const port = server.gearmanPort;
  const worker = await rawWorker(port, REAL_FN, (payload) => Buffer.from(payload).reverse());
  // Without it, Nagle holds each GRAB_JOB behind the unanswered WORK_COMPLETE for a delayed ACK (~40 ms).
  worker.socket.setNoDelay(true);
  t.after(() => worker.close());

  const completed = new Set<string>();
  let onCompleted: (() => void) | null = null;
  server.engine.on('job:completed', (job) => {
    if (job.fn.name !== REAL_FN) return;
    completed.add(job.handle);
    onCompleted?.();
  });

  const deadline = performance.now() + BUDGET_MS;
  let fuzzing = true;
  const internalErrors: number[] = [];
  let fuzzConnections = 0;

  const fuzzers = Array.from({ length: FUZZERS }, async (_, f) => {
    for (let i = 0; i < MAX_CONNECTIONS_PER_FUZZER && performance.now() < deadline; i++) {
      const seed = (BASE_SEED + f * 100_003 + i) >>> 0;
      const { received } = await fuzzConnection(port, seed);
      fuzzConnections++;
      if (received.includes('SERVER_ERROR') || received.includes('Internal error')) internalErrors.push(seed);
    }
  });

  // Real traffic on two clients: background and foreground jobs, in small pipelined batches.
  const bgClient = await peerFor(t, server);
  const fgClient = await peerFor(t, server);
  const bgHandles: string[] = [];
  const fgExpected = new Map<string, string>();
  // A foreground job of an earlier batch may complete before the next batch's JOB_CREATED arrives
  // (the background acknowledgements this loop waits for take a commit): its result is kept for later.
  const fgEarly: { handle: string; result: string }[] = [];
  const nextFgCreated = async (): Promise<string> => {
    for (;;) {
      const r = await fgClient.next(undefined, 10_000);
      if (r.name === 'JOB_CREATED') return r.text[0]!;
      assert.equal(r.name, 'WORK_COMPLETE', `unexpected ${r.name} ${JSON.stringify(r.text)}`);
      fgEarly.push({ handle: r.text[0]!, result: r.text[1]! });
    }
  };
  const producer = (async () => {
    let n = 0;
    while (fuzzing || n < 50) {
      const batch = 5;
      for (let i = 0; i < batch; i++) {
        bgClient.send(pick(prng(n + i), ['SUBMIT_JOB_BG', 'SUBMIT_JOB_HIGH_BG', 'SUBMIT_JOB_LOW_BG'] as const), REAL_FN, '', `bg-${n + i}`);
        fgClient.send('SUBMIT_JOB', REAL_FN, `fg-${n + i}`, `fg-${n + i}`);
      }
      for (let i = 0; i < batch; i++) {
        bgHandles.push((await bgClient.next('JOB_CREATED', 10_000)).text[0]!);
        fgExpected.set(
          await nextFgCreated(),
          Buffer.from(`fg-${n + i}`)
            .reverse()
            .toString(),
        );
      }
      n += batch;
    }
  })();

  await Promise.all(fuzzers);
  fuzzing = false;
  await producer;

  assert.deepEqual(internalErrors, [], 'seeds whose connection got an internal-error reply');
  assert.ok(fuzzConnections >= FUZZERS, `only ${fuzzConnections} fuzz connections ran`);

  // Every foreground job gets its own, correct result.
  const results = new Map<string, string>();
  for (const e of fgEarly) {
    assert.ok(!results.has(e.handle), `second result for ${e.handle}`);
    results.set(e.handle, e.result);
  }
  while (results.size < fgExpected.size) {
    const r = await fgClient.next('WORK_COMPLETE', 10_000);
    assert.ok(!results.has(r.text[0]!), `second result for ${r.text[0]}`);
    results.set(r.text[0]!, r.text[1]!);
  }
  assert.deepEqual(results, fgExpected);

  // Every background job acknowledged with JOB_CREATED is run to completion.
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${bgHandles.filter((h) => !completed.has(h)).length} background jobs never completed`)), 10_000);
    const check = (): void => {
      if (bgHandles.every((h) => completed.has(h))) {
        clearTimeout(timer);
        onCompleted = null;
        resolve();
      }
    };
    onCompleted = check;
    check();
  });

  // Still up and consistent: the real function is idle with its one worker.
  const admin = await RawPeer.connect(port);
  t.after(() => admin.close());
  const status = await admin.admin('status');
  assert.ok(status.includes(`${REAL_FN}\t0\t0\t1\n`), status);
  t.diagnostic(`${fuzzConnections} fuzz connections, ${bgHandles.length} background and ${fgExpected.size} foreground real jobs`);
});

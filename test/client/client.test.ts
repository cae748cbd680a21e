// The client against a real Lazaret node: foreground jobs with events, typed failures, background jobs
// with priorities, unique keys and run-at, GET_STATUS, and timeouts that fire with clear errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { Client, ClientErrorCode, isClientError, JobError, Worker } from '../../src/client/index.js';
import { startTestServer } from '../helpers/server.js';
import { jobsEnded } from './helpers.js';

test('a foreground job reports progress, data and warnings, then its result', async (t) => {
  const server = await startTestServer();
  t.after(() => server.dispose());
  const servers = [`127.0.0.1:${server.gearmanPort}`];
  const worker = new Worker({
    servers,
    functions: {
      resize: async (job) => {
        job.progress(1, 2);
        job.data('partial');
        job.warning('careful');
        job.progress(2, 2);
        return Buffer.concat([Buffer.from('resized:'), job.payload]);
      },
    },
  });
  t.after(() => worker.stop({ graceMs: 0 }));
  await worker.start();
  const client = new Client({ servers });
  t.after(() => client.close());

  const job = client.submit('resize', 'cat.png');
  const seen: string[] = [];
  job.on('created', (handle) => seen.push(`created ${handle.startsWith('H:test:')}`));
  job.on('progress', (n, d) => seen.push(`progress ${n}/${d}`));
  job.on('data', (d) => seen.push(`data ${d}`));
  job.on('warning', (d) => seen.push(`warning ${d}`));
  assert.equal((await job).toString(), 'resized:cat.png');
  assert.deepEqual(seen, ['created true', 'progress 1/2', 'data partial', 'warning careful', 'progress 2/2']);
});

test('WORK_EXCEPTION and WORK_FAIL become JobErrors with stable codes and evidence', async (t) => {
  const server = await startTestServer();
  t.after(() => server.dispose());
  const servers = [`127.0.0.1:${server.gearmanPort}`];
  const worker = new Worker({
    servers,
    functions: {
      broken: () => {
        throw new RangeError('width must be positive');
      },
    },
  });
  t.after(() => worker.stop({ graceMs: 0 }));
  await worker.start();
  const client = new Client({ servers });
  t.after(() => client.close());

  const err = await client.submit('broken', 'x').then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(err instanceof JobError);
  assert.equal(err.code, ClientErrorCode.JOB_EXCEPTION);
  assert.deepEqual(err.evidence, { errorClass: 'RangeError', message: 'width must be positive' });
  assert.match(err.message, /broken.*width must be positive/);
});

test('background jobs: priorities, unique keys coalesce, run-at, and GET_STATUS', async (t) => {
  const server = await startTestServer();
  t.after(() => server.dispose());
  const client = new Client({ servers: [`127.0.0.1:${server.gearmanPort}`] });
  t.after(() => client.close());

  const low = await client.submitBackground('report', 'l', { priority: 'low' });
  const high = await client.submitBackground('report', 'h', { priority: 'high', unique: 'u-1' });
  const again = await client.submitBackground('report', 'h2', { unique: 'u-1' });
  assert.equal(again.handle, high.handle, 'same unique key, same job');
  const later = await client.submitBackground('report', 'later', { runAt: Date.now() + 3_600_000 });
  assert.equal(later.server, `127.0.0.1:${server.gearmanPort}`);
  assert.deepEqual(await client.status(low), { known: true, running: false, numerator: 0, denominator: 0 });
  assert.equal((await client.status({ handle: 'H:test:nope', server: low.server })).known, false);

  const order: string[] = [];
  const worker = new Worker({ servers: [low.server], functions: { report: (job) => void order.push(job.payload.toString()) } });
  t.after(() => worker.stop({ graceMs: 0 }));
  const two = jobsEnded(worker, 2);
  await worker.start();
  await two;
  assert.deepEqual(order, ['h', 'l'], 'high before low; the run-at job waits');
  const fns = await client.functions();
  assert.deepEqual(
    fns.find((f) => f.function === 'report'),
    { function: 'report', queued: 1, running: 0, workers: 1 },
  );
});

test('every wait has a timeout with a clear error', async (t) => {
  const server = await startTestServer();
  t.after(() => server.dispose());
  const client = new Client({ servers: [`127.0.0.1:${server.gearmanPort}`] });
  t.after(() => client.close());
  // No worker: the job is accepted and never finishes. The connection is opened first, so the job's
  // timer covers the wait for its result, not a slow connect on a loaded machine.
  await client.submitBackground('warm', 'x');
  const job = client.submit('nobody', 'x', { timeoutMs: 1000 });
  const err = await job.then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(isClientError(err, ClientErrorCode.TIMEOUT));
  const where = job.handle === null ? '\\(not yet accepted\\) \\(nobody\\) on no server yet' : `${job.handle} \\(nobody\\) on 127\\.0\\.0\\.1:\\d+`;
  assert.match(err.message, new RegExp(`^job ${where}: no answer within 1000 ms`));

  // A server that accepts connections and never answers: the request times out, then no server is left.
  const mute = createServer(() => undefined);
  mute.listen(0, '127.0.0.1');
  await once(mute, 'listening');
  t.after(() => mute.close());
  const port = (mute.address() as { port: number }).port;
  const stuck = new Client({ servers: [`127.0.0.1:${port}`], requestTimeoutMs: 200 });
  t.after(() => stuck.close());
  const err2 = await stuck.submitBackground('f', 'x').then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(isClientError(err2, ClientErrorCode.NO_SERVER));
  assert.match(err2.message, /OPTION_REQ exceptions on 127\.0\.0\.1:\d+: no answer within 200 ms/);
});

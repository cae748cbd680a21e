// The library speaks standard Gearman only: the same client and worker against a real gearmand.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, ClientErrorCode, JobError, Worker } from '../../src/client/index.js';
import { haveGearmand, startGearmand } from './gearmand.js';
import { jobsEnded } from './helpers.js';

test('client and worker against gearmand: events, exceptions, background jobs, status', { skip: !haveGearmand && 'gearmand is not installed' }, async (t) => {
  const port = await startGearmand(t);
  const servers = [`127.0.0.1:${port}`];
  const done: string[] = [];
  const worker = new Worker({
    servers,
    concurrency: 2,
    functions: {
      upper: (job) => {
        job.progress(1, 2);
        job.data('half');
        return job.payload.toString().toUpperCase();
      },
      broken: () => {
        throw new TypeError('bad input');
      },
      later: (job) => void done.push(job.payload.toString()),
    },
  });
  t.after(() => worker.stop({ graceMs: 0 }));
  await worker.start();
  const client = new Client({ servers });
  t.after(() => client.close());

  const job = client.submit('upper', 'abc', { priority: 'high' });
  const events: string[] = [];
  job.on('progress', (n, d) => events.push(`${n}/${d}`));
  job.on('data', (d) => events.push(d.toString()));
  assert.equal((await job).toString(), 'ABC');
  assert.deepEqual(events, ['1/2', 'half']);

  const err = await client.submit('broken', 'x').then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(err instanceof JobError);
  assert.equal(err.code, ClientErrorCode.JOB_EXCEPTION);
  assert.deepEqual(err.evidence, { errorClass: 'TypeError', message: 'bad input' });

  const ended = jobsEnded(worker, 2);
  const bg = await client.submitBackground('later', 'one', { priority: 'low' });
  await client.submitBackground('later', 'two', { unique: 'k2' });
  await ended;
  assert.deepEqual(done.sort(), ['one', 'two']);
  assert.equal((await client.status(bg)).known, false, 'finished jobs are unknown to gearmand');
  const fns = await client.functions();
  assert.equal(fns.find((f) => f.function === 'later')?.workers, 2, 'one connection per job slot');
});

// The README and docs/client.md examples, type-checked by `tsc --noEmit` (never run): a signature change
// that breaks what users write breaks the build.

import { Client, ClientErrorCode, isClientError, JobError, runWorker, Worker, type JobContext, type StopResult } from '../../src/client/index.js';

export async function submitExample(): Promise<void> {
  const client = new Client({ servers: ['10.0.0.1:4730', '10.0.0.2:4730'] });
  const job = client.submit('resize', JSON.stringify({ id: 42 }), { priority: 'high', timeoutMs: 60_000 });
  job.on('progress', (n: number, d: number) => console.log(`${n}/${d}`));
  try {
    console.log((await job).toString());
  } catch (err) {
    if (err instanceof JobError) console.log(err.code, err.evidence?.signal);
    else if (isClientError(err, ClientErrorCode.TIMEOUT)) console.log(err.hint);
  }
  const bg = await client.submitBackground('report', 'q3', { unique: 'report-q3', runAt: Date.now() + 3_600_000 });
  const status: { known: boolean; running: boolean } = await client.status(bg);
  console.log(status);
  client.close();
}

export async function workerExample(): Promise<StopResult> {
  const worker = new Worker({
    servers: ['127.0.0.1:4730'],
    concurrency: 4,
    check: true,
    recycle: { maxJobs: 10_000, maxAgeMs: 3_600_000, maxRssBytes: 512 * 2 ** 20 },
    functions: {
      resize: async (job: JobContext) => {
        job.progress(1, 2);
        job.data('half');
        if (job.signal.aborted) return null;
        return Buffer.from(`resized ${job.payload}`);
      },
    },
  });
  await worker.start();
  return worker.stop({ graceMs: 5_000 });
}

export function sandboxExample(): Promise<never> {
  return runWorker({ servers: ['127.0.0.1:4730'], sandbox: { module: './handlers.js', poolSize: 4, maxJobsPerChild: 500 } });
}

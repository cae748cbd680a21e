// Waiting on the library's own events in tests (no sleeps).

import type { JobReport, Worker } from '../../src/client/index.js';

/** Resolves with the reports of the next n jobs the worker ends (listening from the call on). */
export function jobsEnded(worker: Worker, n: number, timeoutMs = 15_000): Promise<JobReport[]> {
  return new Promise((resolve, reject) => {
    const reports: JobReport[] = [];
    const timer = setTimeout(() => {
      worker.off('job', listener);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${n} jobs (saw ${reports.length})`));
    }, timeoutMs);
    const listener = (r: JobReport): void => {
      reports.push(r);
      if (reports.length < n) return;
      clearTimeout(timer);
      worker.off('job', listener);
      resolve(reports);
    };
    worker.on('job', listener);
  });
}

// Starts the store's thread from wherever this code runs. Built, it runs thread.js beside this file.
// From the sources under tsx (tests, the bench), thread.ts must be compiled on the fly too, and on
// Node 20 a worker does not get the parent's `--import tsx` hooks in time for its entry module: a small
// bootstrap registers tsx inside the worker first, then imports the entry.

import { Worker } from 'node:worker_threads';
import type { OwnerOptions } from './owner.js';

export function startThread(options: OwnerOptions): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./thread.js', here), { workerData: options });
  const entry = new URL('./thread.ts', here).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true, workerData: options });
}

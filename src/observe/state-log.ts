// One debug line per job state change, with handle, function and worker as fields. Listens only when the
// logger is at debug or finer, so the job path pays nothing otherwise. Quarantines and crashes are
// logged (warn) by the engine itself.

import type { Logger } from 'pino';
import type { AttemptRow } from '../storage/types.js';
import type { Engine } from '../core/engine.js';
import type { Job } from '../core/job.js';

export function logStateChanges(engine: Engine, log: Logger): () => void {
  if (!log.isLevelEnabled('debug')) return () => undefined;
  const fields = (job: Job): { handle: string; function: string } => ({ handle: job.handle, function: job.fn.name });
  const queued = (job: Job): void => log.debug({ ...fields(job), state: 'queued' }, 'job queued');
  const started = (job: Job, a: AttemptRow): void => log.debug({ ...fields(job), worker: a.worker, attempt: a.n, state: 'running' }, 'attempt started');
  const ended = (job: Job, a: AttemptRow): void =>
    log.debug({ ...fields(job), worker: a.worker, attempt: a.n, outcome: a.outcome }, `attempt ended: ${a.outcome}`);
  const retry = (job: Job, runAt: number): void => log.debug({ ...fields(job), state: 'scheduled', runAt }, 'job waits for its retry');
  const completed = (job: Job): void => log.debug({ ...fields(job), state: 'completed' }, 'job completed');
  engine.on('job:queued', queued);
  engine.on('attempt:started', started);
  engine.on('attempt:ended', ended);
  engine.on('job:retry', retry);
  engine.on('job:completed', completed);
  return () => {
    engine.off('job:queued', queued);
    engine.off('attempt:started', started);
    engine.off('attempt:ended', ended);
    engine.off('job:retry', retry);
    engine.off('job:completed', completed);
  };
}

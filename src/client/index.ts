// The public surface of `lazaret/client`: named exports only; test/client/public-api.test.ts
// pins the list.

export { Client } from './client.js';
export type { BackgroundJob, BackgroundOptions, ClientOptions, FunctionStatus, JobStatus, Priority, SubmitOptions } from './client.js';
export { ForegroundJob } from './job.js';
export type { ForegroundJobEvents } from './job.js';
export { Worker, runWorker, EXIT_RECYCLE } from './worker.js';
export type { JobReport, RecycleOptions, StopReason, StopResult, WorkerEvents, WorkerOptions } from './worker.js';
export type { SandboxOptions } from './sandbox.js';
export { CHECK_FUNCTION } from './context.js';
export type { Handler, HandlerResult, JobContext } from './context.js';
export { ClientError, ClientErrorCode, JobError, isClientError } from './errors.js';
export type { ClientErrorCodeValue } from './errors.js';
export { EVIDENCE_PREFIX, encodeEvidence, evidenceObject as parseEvidence } from '../protocol/evidence.js';
export type { Evidence } from '../protocol/evidence.js';
export type { BackoffOptions } from './pool.js';
export type { ServerSpec, TlsOptions } from './address.js';

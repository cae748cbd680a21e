// What a job handler receives, and what it may return.

export interface JobContext {
  /** The function name the job was submitted to. */
  fn: string;
  handle: string;
  unique: string;
  payload: Buffer;
  /** WORK_STATUS: e.g. progress(3, 10). */
  progress(numerator: number, denominator: number): void;
  /** WORK_DATA: a partial result streamed to a waiting client. */
  data(data: Buffer | string): void;
  /** WORK_WARNING: a warning for a waiting client. */
  warning(data: Buffer | string): void;
  /** Aborted when the worker's stop grace period ends while the job still runs. */
  signal: AbortSignal;
}

export type HandlerResult = Buffer | Uint8Array | string | null | undefined | void;

export type Handler = (job: JobContext) => HandlerResult | Promise<HandlerResult>;

export function resultBytes(value: HandlerResult): Buffer {
  if (value === undefined || value === null) return Buffer.alloc(0);
  if (typeof value === 'string') return Buffer.from(value);
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/** The post-deploy check's function (`lazaret check`): a Worker with `check: true` answers it with the payload. */
export const CHECK_FUNCTION = 'lazaret.check';

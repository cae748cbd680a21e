// SUBMIT_JOB and its variants: validate -> limits -> core.submit (resolves after commit)
// -> JOB_CREATED. A reply to a durable submission is sent only after its commit.

import type { SubmitRequest } from '../../core/engine.js';
import { ErrorCode, isLazaretError } from '../../errors.js';
import { errorPacket, response } from '../../protocol/encoder.js';
import { PacketType, type PacketTypeName } from '../../protocol/packets.js';
import type { Priority } from '../../domain.js';
import type { Connection } from '../connection.js';
import type { Handler } from './index.js';
import { nextScheduledTime } from './schedule.js';
import { functionError } from './abilities.js';

type SubmitType = Extract<PacketTypeName, `SUBMIT_${string}`>;

interface Shape {
  priority: Priority;
  background: boolean;
}

const SHAPES: Record<SubmitType, Shape> = {
  SUBMIT_JOB: { priority: 1, background: false },
  SUBMIT_JOB_BG: { priority: 1, background: true },
  SUBMIT_JOB_HIGH: { priority: 0, background: false },
  SUBMIT_JOB_HIGH_BG: { priority: 0, background: true },
  SUBMIT_JOB_LOW: { priority: 2, background: false },
  SUBMIT_JOB_LOW_BG: { priority: 2, background: true },
  SUBMIT_JOB_EPOCH: { priority: 1, background: true },
  SUBMIT_JOB_SCHED: { priority: 1, background: true },
  SUBMIT_REDUCE_JOB: { priority: 1, background: false },
  SUBMIT_REDUCE_JOB_BACKGROUND: { priority: 1, background: true },
};

/** Latest accepted epoch: 9999-12-31T23:59:59Z. */
const MAX_EPOCH_SECONDS = 253_402_300_799;

export function submitHandler(type: SubmitType): Handler {
  const shape = SHAPES[type];
  return (conn, args) => {
    const fn = args[0]!.toString();
    const unique = args[1]!.toString();
    const payload = args[args.length - 1]!;
    if (args[1]!.length > conn.ctx.config.limits.maxUniqueBytes) {
      conn.reply(errorPacket('ARGUMENT_TOO_LARGE', 'Unique value too large'));
      return;
    }
    const req: SubmitRequest = { fn, unique, payload, priority: shape.priority, background: shape.background };
    if (type === 'SUBMIT_JOB_EPOCH') {
      // strtoll semantics, as gearmand: garbage reads as 0, i.e. run now.
      const seconds = Number.parseInt(args[2]!.toString('latin1'), 10);
      if (Number.isFinite(seconds) && seconds > MAX_EPOCH_SECONDS) {
        conn.reply(errorPacket('INVALID_ARGUMENT', `Epoch ${seconds} is after the year 9999`));
        return;
      }
      req.runAt = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : null;
    } else if (type === 'SUBMIT_JOB_SCHED') {
      const fields = args.slice(2, 7).map((a) => a.toString('latin1'));
      const at = nextScheduledTime(fields, conn.ctx.engine.clock.now());
      if (typeof at === 'string') {
        conn.reply(errorPacket('INVALID_ARGUMENT', at));
        return;
      }
      req.runAt = at;
    }
    submit(conn, req);
  };
}

function submit(conn: Connection, req: SubmitRequest): void {
  if (!req.background) req.waiter = conn;
  let result;
  try {
    result = conn.ctx.engine.submit(req);
  } catch (err) {
    conn.reply(submitError(err));
    return;
  }
  const { job, ready } = result;
  if (!req.background) conn.attached.add(job);
  if (ready === null) {
    conn.reply(response(PacketType.JOB_CREATED, job.handle));
    return;
  }
  const answer = conn.defer();
  ready.then(
    // The handle of the job that took the submission: another one when it coalesced in the store.
    (told) => {
      // A foreground submission that joined a job only the store held waits on that job now.
      if (!req.background && told.job !== undefined && told.job !== job) {
        conn.attached.delete(job);
        conn.attached.add(told.job);
      }
      answer(response(PacketType.JOB_CREATED, told.handle));
    },
    (err: unknown) => {
      if (!req.background) conn.attached.delete(job);
      answer(submitError(err));
    },
  );
}

function submitError(err: unknown): Buffer {
  if (isLazaretError(err, ErrorCode.BAD_FUNCTION_NAME) || isLazaretError(err, ErrorCode.TOO_MANY_FUNCTIONS)) return functionError(err);
  if (isLazaretError(err, ErrorCode.QUEUE_FULL)) return errorPacket('QUEUE_ERROR', 'Job queue is full');
  if (isLazaretError(err, ErrorCode.PAYLOAD_TOO_LARGE)) return errorPacket('ARGUMENT_TOO_LARGE', err.message);
  if (isLazaretError(err)) return errorPacket('QUEUE_ERROR', err.message);
  throw err;
}

// WORK_STATUS, WORK_DATA, WORK_WARNING, WORK_COMPLETE, WORK_FAIL, WORK_EXCEPTION.
// A report for a handle this connection never held gets gearmand's JOB_NOT_FOUND ERROR; a late report
// for an attempt that already ended on this connection (timeout, cancel, a Perl worker's second
// report) is ignored and logged, so the worker lives on (README, Where Lazaret differs: B15).

import type { ReportResult } from '../../core/engine.js';
import { errorPacket } from '../../protocol/encoder.js';
import type { Connection } from '../connection.js';
import type { Handler } from './index.js';

const NOT_FOUND_RESULT = 'Job given in work result not found';

function answer(conn: Connection, result: ReportResult, text: string): void {
  if (result === 'not_found') conn.reply(errorPacket('JOB_NOT_FOUND', text));
}

export const handleWorkStatus: Handler = (conn, args) => {
  if (!conn.worker) return answer(conn, 'not_found', NOT_FOUND_RESULT);
  answer(conn, conn.ctx.engine.workStatus(conn.worker, args[0]!.toString(), args[1]!, args[2]!), NOT_FOUND_RESULT);
};

export function handleWorkData(warning: boolean): Handler {
  return (conn, args) => {
    const text = 'Job does not exist on server';
    if (!conn.worker) return answer(conn, 'not_found', text);
    answer(conn, conn.ctx.engine.workData(conn.worker, args[0]!.toString(), args[1]!, warning), text);
  };
}

export const handleWorkComplete: Handler = (conn, args) => {
  if (!conn.worker) return answer(conn, 'not_found', NOT_FOUND_RESULT);
  answer(conn, conn.ctx.engine.workComplete(conn.worker, args[0]!.toString(), args[1]!), NOT_FOUND_RESULT);
};

export function handleWorkFail(exception: boolean): Handler {
  return (conn, args) => {
    const text = exception ? 'An exception was received for a job that does not exist' : NOT_FOUND_RESULT;
    if (!conn.worker) return answer(conn, 'not_found', text);
    answer(conn, conn.ctx.engine.workFail(conn.worker, args[0]!.toString(), exception ? args[1]! : null), text);
  };
}

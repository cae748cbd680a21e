// Packet type -> handler. The table is typed over every packet type, so a new type breaks the build
// until it has a handler.

import { errorPacket } from '../../protocol/encoder.js';
import { PacketType, type Frame, type Packet, type PacketTypeNumber } from '../../protocol/packets.js';
import type { Connection } from '../connection.js';
import { handleAdminLine } from './admin.js';
import { handleEcho, handleOption, handleSetClientId } from './options.js';
import { handleGetStatus, handleGetStatusUnique } from './status.js';
import { submitHandler } from './submit.js';
import { handleGrab, handlePreSleep } from './grab.js';
import { handleAllYours, handleCanDo, handleCanDoTimeout, handleCantDo, handleResetAbilities } from './abilities.js';
import { handleWorkComplete, handleWorkData, handleWorkFail, handleWorkStatus } from './work-result.js';

export type Handler = (conn: Connection, args: Buffer[]) => void;

/** Responses sent to the server, and types gearmand never implemented. */
const notExpected: Handler = (conn) => conn.reply(errorPacket('INVALID_COMMAND', 'Command not expected'));

const HANDLERS: { readonly [T in PacketTypeNumber]: Handler } = {
  1: handleCanDo,
  2: handleCantDo,
  3: handleResetAbilities,
  4: handlePreSleep,
  5: notExpected,
  6: notExpected,
  7: submitHandler('SUBMIT_JOB'),
  8: notExpected,
  9: handleGrab('JOB_ASSIGN'),
  10: notExpected,
  11: notExpected,
  12: handleWorkStatus,
  13: handleWorkComplete,
  14: handleWorkFail(false),
  15: handleGetStatus,
  16: handleEcho,
  17: notExpected,
  18: submitHandler('SUBMIT_JOB_BG'),
  19: notExpected,
  20: notExpected,
  21: submitHandler('SUBMIT_JOB_HIGH'),
  22: handleSetClientId,
  23: handleCanDoTimeout,
  24: handleAllYours,
  25: handleWorkFail(true),
  26: handleOption,
  27: notExpected,
  28: handleWorkData(false),
  29: handleWorkData(true),
  30: handleGrab('JOB_ASSIGN_UNIQ'),
  31: notExpected,
  32: submitHandler('SUBMIT_JOB_HIGH_BG'),
  33: submitHandler('SUBMIT_JOB_LOW'),
  34: submitHandler('SUBMIT_JOB_LOW_BG'),
  35: submitHandler('SUBMIT_JOB_SCHED'),
  36: submitHandler('SUBMIT_JOB_EPOCH'),
  37: submitHandler('SUBMIT_REDUCE_JOB'),
  38: submitHandler('SUBMIT_REDUCE_JOB_BACKGROUND'),
  // libgearman workers grab with GRAB_JOB_ALL and need JOB_ASSIGN_UNIQ for ordinary jobs.
  39: handleGrab('JOB_ASSIGN_UNIQ'),
  40: notExpected,
  41: handleGetStatusUnique,
  42: notExpected,
};

export function dispatch(conn: Connection, frame: Frame): void {
  if (frame.magic === 'TEXT') {
    conn.identify();
    handleAdminLine(conn, frame.line);
    return;
  }
  if (frame.magic === 'RES') {
    conn.reply(errorPacket('INVALID_MAGIC', 'Request magic expected'));
    return;
  }
  const type = (frame as Packet).type;
  const handler = HANDLERS[type];
  // An echo or a packet no client sends does not make a connection a client or a worker.
  if (handler !== notExpected && type !== PacketType.ECHO_REQ) conn.identify();
  handler(conn, frame.args);
}

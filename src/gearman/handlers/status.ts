// GET_STATUS and GET_STATUS_UNIQUE.

import { errorPacket, response } from '../../protocol/encoder.js';
import { PacketType } from '../../protocol/packets.js';
import type { Handler } from './index.js';

const flag = (b: boolean): string => (b ? '1' : '0');

export const handleGetStatus: Handler = (conn, args) => {
  // A job beyond the windows is looked up in the store: the answer keeps its place among the replies.
  const answer = conn.defer();
  conn.ctx.engine.status(args[0]!.toString()).then(
    // The handle is echoed exactly as asked.
    (s) => answer(response(PacketType.STATUS_RES, args[0]!, flag(s.known), flag(s.running), String(s.numerator), String(s.denominator))),
    (err: unknown) => {
      conn.log.error({ err }, 'GET_STATUS could not read the store');
      answer(errorPacket('QUEUE_ERROR', 'The store could not be read'));
    },
  );
};

export const handleGetStatusUnique: Handler = (conn, args) => {
  // As GET_STATUS: a unique no job in memory has is looked up in the store, the answer in its place.
  const answer = conn.defer();
  conn.ctx.engine.statusUniqueAnywhere(args[0]!.toString()).then(
    (s) =>
      answer(response(PacketType.STATUS_RES_UNIQUE, args[0]!, flag(s.known), flag(s.running), String(s.numerator), String(s.denominator), String(s.waiters))),
    (err: unknown) => {
      conn.log.error({ err }, 'GET_STATUS_UNIQUE could not read the store');
      answer(errorPacket('QUEUE_ERROR', 'The store could not be read'));
    },
  );
};

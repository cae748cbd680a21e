// GET_STATUS and GET_STATUS_UNIQUE.

import { response } from '../../protocol/encoder.js';
import { PacketType } from '../../protocol/packets.js';
import type { Handler } from './index.js';

const flag = (b: boolean): string => (b ? '1' : '0');

export const handleGetStatus: Handler = (conn, args) => {
  const s = conn.ctx.engine.status(args[0]!.toString());
  // The handle is echoed exactly as asked.
  conn.reply(response(PacketType.STATUS_RES, args[0]!, flag(s.known), flag(s.running), String(s.numerator), String(s.denominator)));
};

export const handleGetStatusUnique: Handler = (conn, args) => {
  const s = conn.ctx.engine.statusUnique(args[0]!.toString());
  conn.reply(response(PacketType.STATUS_RES_UNIQUE, args[0]!, flag(s.known), flag(s.running), String(s.numerator), String(s.denominator), String(s.waiters)));
};

// ECHO_REQ, OPTION_REQ, SET_CLIENT_ID (§3).

import { errorPacket, response } from '../../protocol/encoder.js';
import { PacketType } from '../../protocol/packets.js';
import type { Handler } from './index.js';

export const handleEcho: Handler = (conn, args) => {
  conn.reply(response(PacketType.ECHO_RES, args[0]!));
};

/** Only `exceptions` exists (case-insensitive); OPTION_RES echoes the request bytes. */
export const handleOption: Handler = (conn, args) => {
  const option = args[0]!;
  if (option.length < 64 && option.toString('latin1').toLowerCase() === 'exceptions') {
    conn.exceptions = true;
    conn.reply(response(PacketType.OPTION_RES, option));
    return;
  }
  conn.reply(errorPacket('UNKNOWN_OPTION', 'Server does not recognize given option'));
};

/** Kept (cut to 127 bytes, as gearmand) for `workers` and as the worker id of attempts. */
export const handleSetClientId: Handler = (conn, args) => {
  const id = args[0]!.subarray(0, 127).toString();
  conn.clientId = id === '' ? '-' : id;
};

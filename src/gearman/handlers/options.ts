// ECHO_REQ, OPTION_REQ, SET_CLIENT_ID.

import { ErrorCode } from '../../errors.js';
import { escapeControls, hasControls } from '../../protocol/escape.js';
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

/**
 * Kept (cut to 127 bytes, as gearmand) for `workers` and as the worker id of attempts. An id with a
 * control character is refused: it would forge lines wherever it is shown.
 */
export const handleSetClientId: Handler = (conn, args) => {
  const id = args[0]!.subarray(0, 127).toString();
  if (hasControls(id)) {
    conn.log.debug({ code: ErrorCode.BAD_CLIENT_ID, id: escapeControls(id) }, 'SET_CLIENT_ID refused: control characters');
    conn.reply(errorPacket('INVALID_CLIENT_ID', 'Client id must not contain control characters; the previous id is kept'));
    return;
  }
  conn.clientId = id === '' ? '-' : id;
};

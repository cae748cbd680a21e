// Encoder: sizes a frame once and fills one buffer.

import { HEADER_BYTES } from './decoder.js';
import { PacketType, type Magic, type PacketTypeNumber } from './packets.js';

export type Arg = Buffer | string;

const MAGIC_BYTES: Record<Magic, number> = { REQ: 0x00524551, RES: 0x00524553 };

export function encodePacket(magic: Magic, type: PacketTypeNumber, args: readonly Arg[] = []): Buffer {
  let length = args.length > 0 ? args.length - 1 : 0;
  for (const arg of args) length += typeof arg === 'string' ? Buffer.byteLength(arg) : arg.length;
  const out = Buffer.allocUnsafe(HEADER_BYTES + length);
  out.writeUInt32BE(MAGIC_BYTES[magic], 0);
  out.writeUInt32BE(type, 4);
  out.writeUInt32BE(length, 8);
  let pos = HEADER_BYTES;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (typeof arg === 'string') pos += out.write(arg, pos);
    else pos += arg.copy(out, pos);
    if (i < args.length - 1) out[pos++] = 0;
  }
  return out;
}

export const response = (type: PacketTypeNumber, ...args: Arg[]): Buffer => encodePacket('RES', type, args);
export const request = (type: PacketTypeNumber, ...args: Arg[]): Buffer => encodePacket('REQ', type, args);

/** Frames that never change, encoded once. */
export const NOOP = response(PacketType.NOOP);
export const NO_JOB = response(PacketType.NO_JOB);

export function errorPacket(code: string, text: string): Buffer {
  return response(PacketType.ERROR, code, text);
}

// Hostile Gearman input, seeded: well-formed requests of every type with arguments from hostile pools,
// unknown and huge types, lengths far beyond the data, truncated and mutated frames, bad magic, admin
// lines long and random, reports for unknown handles, names with control characters or far too long,
// sprays of CAN_DO, frames that stall half way. Shared by the CI-sized fuzz test
// (test/gearman/fuzz.test.ts) and the long run (bench/fuzz-gearman.ts).

import { encodePacket, type Arg } from '../../src/protocol/encoder.js';
import { ARG_COUNT, PacketType, type PacketTypeNumber } from '../../src/protocol/packets.js';
import { randInt } from './vectors.js';

export const MAGIC_REQ = 0x00524551;
export const MAGIC_RES = 0x00524553;
const ALL_TYPES = Object.values(PacketType) as PacketTypeNumber[];

/** A frame with an arbitrary header, for bytes the real encoder refuses to build. */
export function rawHeader(magic: number, type: number, length: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt32BE(magic >>> 0, 0);
  head.writeUInt32BE(type >>> 0, 4);
  head.writeUInt32BE(length >>> 0, 8);
  return Buffer.concat([head, body]);
}

export interface FuzzLimits {
  maxFrameBytes: number;
  maxLineBytes: number;
}

export type Rand = () => number;
export const pick = <T>(rand: Rand, items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;

function randomBytes(rand: Rand, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

const ABSURD_NUMBERS = [
  '0',
  '-1',
  '1',
  '999',
  '4294967295',
  '4294967296',
  '18446744073709551616',
  '-9223372036854775808',
  '1e400',
  'NaN',
  '0x7fffffff',
  ' 12',
  '99999999999999999999999',
  '',
];

function randomArg(rand: Rand): Arg {
  switch (randInt(rand, 0, 7)) {
    case 0:
      return `fz-${randInt(rand, 0, 5)}`;
    case 1:
      return `H:test:${randInt(rand, 0, 3000)}`;
    case 2:
      return pick(rand, ABSURD_NUMBERS);
    case 3:
      return randomBytes(rand, randInt(rand, 0, 40));
    case 4:
      return '';
    case 5:
      return 'x'.repeat(randInt(rand, 60, 70));
    case 6:
      return pick(rand, ['exceptions', 'EXCEPTIONS', 'bogus-option', '-']);
    default:
      return Buffer.alloc(randInt(rand, 0, 3000), randInt(rand, 0, 255));
  }
}

/** A well-formed request of any type, with arguments drawn from hostile pools. */
function validFrame(rand: Rand, magic: 'REQ' | 'RES' = 'REQ'): Buffer {
  const type = pick(rand, ALL_TYPES);
  const args: Arg[] = [];
  for (let i = 0; i < ARG_COUNT[type]; i++) args.push(randomArg(rand));
  if (type === PacketType.SUBMIT_JOB_EPOCH || type === PacketType.CAN_DO_TIMEOUT) {
    args[type === PacketType.SUBMIT_JOB_EPOCH ? 2 : 1] = pick(rand, ABSURD_NUMBERS);
  }
  return encodePacket(magic, type, args);
}

const ADMIN_WORDS = [
  'status',
  'prioritystatus',
  'workers',
  'version',
  'verbose',
  'getpid',
  'show jobs',
  'show unique jobs',
  'show',
  'show nothing',
  'create function fz-1',
  'drop function fz-2',
  'drop function',
  'maxqueue fz-3 1',
  'maxqueue fz-4 2 1 0',
  'maxqueue',
  'cancel job H:other:1',
  'cancel job',
  'cancel x y',
  'auth nope',
  'auth',
  'STATUS',
  ' status',
  '',
  'bogus',
  'workers extra words',
  'verbose 1 2 3',
];

function adminLine(rand: Rand, limits: FuzzLimits): Buffer {
  switch (randInt(rand, 0, 3)) {
    case 0:
      return Buffer.from(`${pick(rand, ADMIN_WORDS)}\r\n`);
    case 1:
      return Buffer.from(`${pick(rand, ADMIN_WORDS)} ${'z'.repeat(randInt(rand, 0, 2 * limits.maxLineBytes))}\n`);
    case 2: {
      // Printable noise that does not start with NUL, so it is read as text.
      const noise = randomBytes(rand, randInt(rand, 1, 200)).map((b) => (b === 0 || b === 0x0a ? 0x41 : b));
      return Buffer.concat([noise, Buffer.from(rand() < 0.5 ? '\n' : '')]);
    }
    default:
      return Buffer.from(`${'q'.repeat(randInt(rand, limits.maxLineBytes, limits.maxLineBytes + 500))}`);
  }
}

function mutate(rand: Rand, frame: Buffer): Buffer {
  const out = Buffer.from(frame);
  const flips = randInt(rand, 1, 4);
  for (let i = 0; i < flips; i++) {
    const at = randInt(rand, 0, out.length - 1);
    switch (randInt(rand, 0, 2)) {
      case 0:
        out[at] = Math.floor(rand() * 256);
        break;
      case 1:
        if (out.length >= 12) out.writeUInt32BE(Math.floor(rand() * 0x1_0000_0000), 8);
        break;
      default:
        if (out.length >= 12) out.writeUInt32BE(pick(rand, [0, 43, 0x80000000, 0xffffffff, randInt(rand, 0, 100)]), 4);
    }
  }
  return out;
}

/** One hostile piece of input; some kinds end the useful life of the connection (which is fine). */
export function fuzzPiece(rand: Rand, limits: FuzzLimits): Buffer {
  switch (randInt(rand, 0, 14)) {
    case 0:
    case 1:
      return validFrame(rand);
    case 2:
      return rawHeader(MAGIC_REQ, pick(rand, [0, 43, 44, 255, 0x80000000, 0xfffffffe, 0xffffffff]), randInt(rand, 0, 3) === 0 ? 0xffffffff : 0);
    case 3: {
      // Declared length far beyond the data that follows (under and over the frame limit).
      const type = pick(rand, ALL_TYPES);
      const length = rand() < 0.5 ? randInt(rand, 100, limits.maxFrameBytes) : randInt(rand, limits.maxFrameBytes + 1, 0xffffffff);
      return rawHeader(MAGIC_REQ, type, length, randomBytes(rand, randInt(rand, 0, 20)));
    }
    case 4: {
      const frame = validFrame(rand);
      return frame.subarray(0, randInt(rand, 1, Math.max(1, frame.length - 1)));
    }
    case 5:
      return rawHeader(pick(rand, [0x00524553 ^ 0x100, 0x00000000, 0x00ffffff, 0x00524552]), pick(rand, ALL_TYPES), randInt(rand, 0, 8), randomBytes(rand, 8));
    case 6:
      return validFrame(rand, 'RES');
    case 7:
      return adminLine(rand, limits);
    case 8:
      return mutate(rand, validFrame(rand));
    case 9:
      return encodePacket(
        'REQ',
        pick(rand, [PacketType.WORK_COMPLETE, PacketType.WORK_FAIL, PacketType.WORK_EXCEPTION, PacketType.WORK_STATUS, PacketType.WORK_DATA]),
        [`H:test:${randInt(rand, 0, 100000)}`, ...(randInt(rand, 0, 1) ? ['1', '2'] : ['r'])].slice(0, 3),
      );
    case 10:
      return Buffer.concat([
        encodePacket('REQ', PacketType.CAN_DO_TIMEOUT, [`fz-${randInt(rand, 0, 5)}`, pick(rand, ABSURD_NUMBERS)]),
        encodePacket('REQ', PacketType.SUBMIT_JOB_EPOCH, [`fz-${randInt(rand, 0, 5)}`, '', pick(rand, ABSURD_NUMBERS), 'e']),
        encodePacket('REQ', pick(rand, [PacketType.GRAB_JOB, PacketType.PRE_SLEEP, PacketType.GRAB_JOB_ALL])),
      ]);
    case 11:
      return namePiece(rand);
    case 12:
      // A frame that stops half way: the rest never comes (the frame deadline closes it).
      return rawHeader(MAGIC_REQ, PacketType.SUBMIT_JOB_BG, randInt(rand, 100, limits.maxFrameBytes), Buffer.from('fz-stall\0\0'));
    case 13:
      return Buffer.concat(
        Array.from({ length: randInt(rand, 1, 40) }, (_, i) => encodePacket('REQ', PacketType.CAN_DO, [`fz-spray-${randInt(rand, 0, 1_000_000)}-${i}`])),
      );
    default:
      return randomBytes(rand, randInt(rand, 1, 64));
  }
}

const CONTROL_NAMES = ['a\tb', 'fake\t9\t9\t9\nrow', '.', '\n.\n', '\x1b[31mred', 'cr\r', 'del\x7f', 'c1\u009b', ''];

/** Names and ids that try to forge admin rows or drive a terminal, and names far over the length cap. */
function namePiece(rand: Rand): Buffer {
  const name = rand() < 0.2 ? 'n'.repeat(randInt(rand, 500, 4000)) : pick(rand, CONTROL_NAMES);
  switch (randInt(rand, 0, 3)) {
    case 0:
      return encodePacket('REQ', PacketType.CAN_DO, [name]);
    case 1:
      return encodePacket('REQ', PacketType.SUBMIT_JOB_BG, [name, pick(rand, ['', '.', 'u\n.']), 'x']);
    case 2:
      return encodePacket('REQ', PacketType.SET_CLIENT_ID, [name]);
    default:
      return Buffer.from(pick(rand, ['status\r\n', 'workers\r\n', 'show unique jobs\r\n', 'prioritystatus\r\n']));
  }
}

/** Pieces that a server answers and carries on after: many fit on one connection. */
export function survivablePiece(rand: Rand): Buffer {
  switch (randInt(rand, 0, 6)) {
    case 0:
    case 1:
      return validFrame(rand);
    case 2:
      return validFrame(rand, 'RES');
    case 3:
      return Buffer.from(`${pick(rand, ADMIN_WORDS)}\r\n`);
    case 4:
      return encodePacket(
        'REQ',
        pick(rand, [PacketType.WORK_COMPLETE, PacketType.WORK_FAIL, PacketType.WORK_STATUS]),
        [`H:x:${randInt(rand, 0, 100000)}`, ...(rand() < 0.5 ? ['1', '2'] : ['r'])].slice(0, 3),
      );
    case 5:
      return namePiece(rand);
    default:
      return Buffer.concat([
        encodePacket('REQ', PacketType.CAN_DO_TIMEOUT, [`fz-${randInt(rand, 0, 5)}`, pick(rand, ABSURD_NUMBERS)]),
        encodePacket('REQ', PacketType.SUBMIT_JOB_EPOCH, [`fz-${randInt(rand, 0, 5)}`, '', pick(rand, ABSURD_NUMBERS), 'e']),
      ]);
  }
}

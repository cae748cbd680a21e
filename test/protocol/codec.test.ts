// The pure codec against itself (every type round-trips) and against gearmand's own bytes
// (test/fixtures/gearmand-vectors/).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Decoder, HEADER_BYTES, type DecoderLimits } from '../../src/protocol/decoder.js';
import { encodePacket, errorPacket, NO_JOB, NOOP, request, response, type Arg } from '../../src/protocol/encoder.js';
import { ARG_COUNT, isPacketType, PacketType, packetName, type Frame, type Magic, type PacketTypeNumber } from '../../src/protocol/packets.js';
import { ErrorCode, isLazaretError, type ErrorCodeValue } from '../../src/errors.js';
import { argBytes, isBinary, isText, loadVectors, prng, randInt, streamsOf, textLines, type VectorPacket, type VectorStream } from '../helpers/vectors.js';

const LIMITS: DecoderLimits = { maxFrameBytes: 1 << 20, maxLineBytes: 8192 };
const SEEDS_PER_STREAM = 30;
const MAGICS: readonly Magic[] = ['REQ', 'RES'];
const ALL_TYPES = Object.values(PacketType) as PacketTypeNumber[];

/** A frame in a shape deepStrictEqual can diff readably: args as hex. */
type PlainFrame = { magic: Magic; type: number; args: string[] } | { magic: 'TEXT'; line: string };

function plain(frame: Frame): PlainFrame {
  if (frame.magic === 'TEXT') return { magic: 'TEXT', line: frame.line };
  return { magic: frame.magic, type: frame.type, args: frame.args.map((a) => a.toString('hex')) };
}

function vectorMagic(p: VectorPacket): Magic {
  const m = p.decoded.magic;
  if (m !== 'REQ' && m !== 'RES') throw new Error(`packet ${p.seq} is not binary (magic ${m})`);
  return m;
}

function vectorType(p: VectorPacket): PacketTypeNumber {
  const t = p.decoded.type;
  if (!isPacketType(t)) throw new Error(`packet ${p.seq} has type ${t}, outside 1..42`);
  return t;
}

/** What the Decoder must emit for one recorded packet (a listing reply is one frame per line). */
function expectedFrames(p: VectorPacket): PlainFrame[] {
  if (isText(p)) return textLines(p).map((line): PlainFrame => ({ magic: 'TEXT', line }));
  return [{ magic: vectorMagic(p), type: p.decoded.type, args: p.decoded.args.map((a) => argBytes(a).toString('hex')) }];
}

function decodeAll(bytes: Buffer, limits: DecoderLimits = LIMITS): Frame[] {
  const decoder = new Decoder(limits);
  const frames = decoder.push(bytes);
  assert.equal(decoder.pending, 0, 'every byte belongs to a complete frame');
  return frames;
}

/** Expects `fn` to throw a LazaretError with one of `codes`; returns the code. */
function expectLazaretError(fn: () => unknown, codes: readonly ErrorCodeValue[], context: string): ErrorCodeValue {
  try {
    fn();
  } catch (error) {
    assert.ok(isLazaretError(error), `${context}: threw something other than a LazaretError: ${String(error)}`);
    assert.ok(codes.includes(error.code), `${context}: code ${error.code}, expected one of ${codes.join(', ')}`);
    return error.code;
  }
  assert.fail(`${context}: accepted`);
}

function header(magic: number, type: number, length: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h.writeUInt32BE(magic, 0);
  h.writeUInt32BE(type >>> 0, 4);
  h.writeUInt32BE(length >>> 0, 8);
  return h;
}

/** Argument lists for a type: empties, plain text, multi-byte UTF-8, and NULs inside the last argument. */
function argSets(count: number): Arg[][] {
  if (count === 0) return [[]];
  const head = (make: (i: number) => Arg): Arg[] => Array.from({ length: count - 1 }, (_, i) => make(i));
  return [
    Array.from({ length: count }, () => ''),
    [...head((i) => `arg-${i}`), 'payload'],
    [...head((i) => Buffer.from(`buf-${i}`)), Buffer.from([0x00, 0x01, 0x00, 0x00, 0xff, 0x00])],
    [...head(() => ''), Buffer.alloc(5)],
    [...head(() => 'héllo ✓'), 'ünïcode \u0000 with a NUL'],
    [...head((i) => 'x'.repeat(i * 7)), Buffer.from(Array.from({ length: 300 }, (_, i) => i % 256))],
  ];
}

const asBuffer = (arg: Arg): Buffer => (typeof arg === 'string' ? Buffer.from(arg, 'utf8') : arg);

describe('codec: every packet type round-trips', () => {
  it('covers exactly the types 1..42', () => {
    assert.deepEqual(
      [...ALL_TYPES].sort((a, b) => a - b),
      Array.from({ length: 42 }, (_, i) => i + 1),
    );
    for (const t of ALL_TYPES) assert.equal(typeof ARG_COUNT[t], 'number', packetName(t));
    for (const t of [0, 43, 0x80000000, 0xffffffff, -1, 1.5]) assert.equal(isPacketType(t), false, String(t));
  });

  for (const type of ALL_TYPES) {
    it(`${packetName(type)} (${type}), ${ARG_COUNT[type]} args`, () => {
      for (const magic of MAGICS) {
        for (const args of argSets(ARG_COUNT[type])) {
          const bytes = encodePacket(magic, type, args);
          const body = args.reduce((n, a) => n + asBuffer(a).length, 0) + Math.max(0, args.length - 1);
          assert.equal(bytes.length, HEADER_BYTES + body);
          assert.equal(bytes.readUInt32BE(0), magic === 'REQ' ? 0x00524551 : 0x00524553);
          assert.equal(bytes.readUInt32BE(4), type);
          assert.equal(bytes.readUInt32BE(8), body);
          const frames = decodeAll(bytes);
          assert.deepEqual(frames.map(plain), [{ magic, type, args: args.map((a) => asBuffer(a).toString('hex')) }]);
        }
      }
    });
  }

  it('request/response helpers and the constant frames', () => {
    assert.deepEqual(request(PacketType.CAN_DO, 'fn'), encodePacket('REQ', PacketType.CAN_DO, ['fn']));
    assert.deepEqual(response(PacketType.JOB_CREATED, 'H:x:1'), encodePacket('RES', PacketType.JOB_CREATED, ['H:x:1']));
    assert.equal(NOOP.toString('hex'), '005245530000000600000000');
    assert.equal(NO_JOB.toString('hex'), '005245530000000a00000000');
    // ERROR JOB_NOT_FOUND as gearmand sends it [raw_errors].
    const fields = ['JOB_NOT_FOUND', 'Job given in work result not found'] as const;
    assert.deepEqual(decodeAll(errorPacket(...fields)).map(plain), [
      { magic: 'RES', type: PacketType.ERROR, args: fields.map((a) => Buffer.from(a).toString('hex')) },
    ]);
  });

  it('ignores a body on a zero-argument type and stays in step (gearmand reads and drops it)', () => {
    const grabWithBody = Buffer.concat([header(0x00524551, PacketType.GRAB_JOB, 3), Buffer.from('abc')]);
    const stream = Buffer.concat([grabWithBody, request(PacketType.PRE_SLEEP)]);
    assert.deepEqual(decodeAll(stream).map(plain), [
      { magic: 'REQ', type: PacketType.GRAB_JOB, args: [] },
      { magic: 'REQ', type: PacketType.PRE_SLEEP, args: [] },
    ]);
  });

  it('refuses a body with fewer NULs than the type needs, instead of reading into the next packet', () => {
    const short = Buffer.concat([header(0x00524551, PacketType.SUBMIT_JOB, 7), Buffer.from('fn\0data')]);
    expectLazaretError(() => new Decoder(LIMITS).push(short), [ErrorCode.MALFORMED_PACKET], 'SUBMIT_JOB with 2 fields');
  });
});

describe('codec: single packets from gearmand captures', () => {
  for (const vf of loadVectors()) {
    const binary = vf.packets.filter((p) => isBinary(p) && p.decoded.invalid === undefined);
    const text = vf.packets.filter((p) => isText(p) && p.dir === 'c2s');
    it(`${vf.file}: ${binary.length} binary packets, ${text.length} admin lines`, () => {
      for (const p of binary) {
        const at = `${vf.file} seq ${p.seq} ${p.decoded.name}`;
        const bytes = Buffer.from(p.hex, 'hex');
        assert.deepEqual(decodeAll(bytes).map(plain), expectedFrames(p), at);
        assert.equal(p.decoded.length, bytes.length - HEADER_BYTES, `${at}: declared length`);
        assert.equal(p.decoded.args.length, ARG_COUNT[vectorType(p)], `${at}: argument count`);
        const encoded = encodePacket(vectorMagic(p), vectorType(p), p.decoded.args.map(argBytes));
        assert.equal(encoded.toString('hex'), p.hex, `${at}: re-encoded bytes`);
      }
      for (const p of text) {
        const lines = textLines(p);
        assert.equal(lines.length, 1, `${vf.file} seq ${p.seq}: one request line`);
        assert.deepEqual(decodeAll(Buffer.from(p.hex, 'hex')).map(plain), expectedFrames(p), `${vf.file} seq ${p.seq}`);
      }
    });
  }
});

/** Chunk boundaries: 0..12 cuts, half of them near a packet start so headers get split too. */
function randomCuts(rand: () => number, total: number, starts: readonly number[]): number[] {
  const cuts = new Set<number>();
  const count = randInt(rand, 0, 12);
  for (let i = 0; i < count; i++) {
    const near = starts[randInt(rand, 0, starts.length - 1)];
    const at = near !== undefined && rand() < 0.5 ? near + randInt(rand, -2, HEADER_BYTES + 1) : randInt(rand, 1, total - 1);
    if (at > 0 && at < total) cuts.add(at);
  }
  return [...cuts].sort((a, b) => a - b);
}

/** Copies each piece so no chunk shares memory with another, like socket reads. */
function split(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let from = 0;
  for (const at of [...cuts, bytes.length]) {
    chunks.push(Buffer.from(bytes.subarray(from, at)));
    from = at;
  }
  return chunks;
}

function feed(chunks: readonly Buffer[]): { frames: PlainFrame[]; error: unknown; pending: number } {
  const decoder = new Decoder(LIMITS);
  const frames: PlainFrame[] = [];
  try {
    for (const chunk of chunks) {
      frames.push(...decoder.push(chunk).map(plain));
      // Good frames before broken bytes come out first; the break is then reported here.
      if (decoder.failure) return { frames, error: decoder.failure, pending: decoder.pending };
    }
  } catch (error) {
    return { frames, error, pending: decoder.pending };
  }
  return { frames, error: undefined, pending: decoder.pending };
}

interface PreparedStream {
  name: string;
  bytes: Buffer;
  starts: number[];
  expected: PlainFrame[];
}

function prepare(s: VectorStream, packets: readonly VectorPacket[], suffix = ''): PreparedStream {
  const starts: number[] = [];
  let offset = 0;
  for (const p of packets) {
    starts.push(offset);
    offset += p.hex.length / 2;
  }
  return {
    name: `${s.file} conn ${s.conn} ${s.dir}${suffix}`,
    bytes: Buffer.from(packets.map((p) => p.hex).join(''), 'hex'),
    starts,
    expected: packets.filter((p) => p.decoded.invalid === undefined).flatMap(expectedFrames),
  };
}

describe('codec: stream re-framing of captured connections', () => {
  for (const vf of loadVectors()) {
    it(`${vf.file}: every (conn, dir) cut at random offsets, ${SEEDS_PER_STREAM} seeds each`, () => {
      for (const s of streamsOf(vf)) {
        const firstInvalid = s.packets.findIndex((p) => p.decoded.invalid !== undefined);
        const valid = firstInvalid === -1 ? s.packets : s.packets.slice(0, firstInvalid);
        if (valid.length === 0) continue;
        const st = prepare(s, valid, firstInvalid === -1 ? '' : ' (before the broken packet)');
        const whole = feed([st.bytes]);
        assert.deepEqual(whole, { frames: st.expected, error: undefined, pending: 0 }, `${st.name}: one chunk`);
        const bytewise = feed(
          split(
            st.bytes,
            Array.from({ length: st.bytes.length - 1 }, (_, i) => i + 1),
          ),
        );
        assert.deepEqual(bytewise, { frames: st.expected, error: undefined, pending: 0 }, `${st.name}: byte by byte`);
        for (let seed = 1; seed <= SEEDS_PER_STREAM; seed++) {
          const cuts = randomCuts(prng(seed * 7919 + s.conn), st.bytes.length, st.starts);
          const got = feed(split(st.bytes, cuts));
          const at = `${st.name}: seed ${seed}, cuts ${cuts.join(',')}`;
          assert.deepEqual(got, { frames: st.expected, error: undefined, pending: 0 }, at);
        }
      }
    });
  }

  it('raw_errors.json: a stream ending in a broken packet yields its valid frames, then a LazaretError', () => {
    const vf = loadVectors().find((f) => f.file === 'raw_errors.json');
    assert.ok(vf, 'raw_errors.json is present');
    let checked = 0;
    for (const s of streamsOf(vf)) {
      const bad = s.packets.findIndex((p) => p.decoded.invalid !== undefined);
      if (bad === -1) continue;
      const st = prepare(s, s.packets.slice(0, bad + 1));
      const validFrames = s.packets.slice(0, bad).flatMap(expectedFrames);
      const codes: ErrorCodeValue[] = [ErrorCode.BAD_MAGIC, ErrorCode.UNKNOWN_PACKET];
      for (let seed = 1; seed <= SEEDS_PER_STREAM; seed++) {
        const cuts = randomCuts(prng(seed), st.bytes.length, st.starts);
        const got = feed(split(st.bytes, cuts));
        const at = `${st.name}: seed ${seed}, cuts ${cuts.join(',')}`;
        assert.ok(isLazaretError(got.error) && codes.includes(got.error.code), `${at}: ${String(got.error)}`);
        // Every valid frame comes out, even those in the same push() as the broken bytes.
        assert.deepEqual(got.frames, validFrames, `${at}: every valid frame`);
      }
      // Fed packet by packet, every valid frame comes out before the refusal.
      const perPacket = feed(s.packets.slice(0, bad + 1).map((p) => Buffer.from(p.hex, 'hex')));
      assert.deepEqual(perPacket.frames, validFrames, `${st.name}: packet by packet`);
      assert.ok(isLazaretError(perPacket.error), `${st.name}: refused`);
      checked++;
    }
    assert.equal(checked, 3, 'raw_errors has three connections that end in a broken packet');
  });
});

describe('codec: broken packets from gearmand captures are refused', () => {
  const invalid = loadVectors().flatMap((vf) => vf.packets.filter((p) => p.decoded.invalid !== undefined).map((p) => ({ file: vf.file, p })));

  it('there are broken packets to test (bad magic, type 0, type 43)', () => {
    assert.ok(invalid.length >= 3, `found ${invalid.length}`);
  });

  for (const { file, p } of invalid) {
    const expected = p.decoded.magic === 'REQ' || p.decoded.magic === 'RES' ? ErrorCode.UNKNOWN_PACKET : ErrorCode.BAD_MAGIC;
    it(`${file} seq ${p.seq}: ${p.decoded.invalid ?? ''} -> ${expected}`, () => {
      const bytes = Buffer.from(p.hex, 'hex');
      expectLazaretError(() => new Decoder(LIMITS).push(bytes), [expected], 'fresh decoder');
      // Also after good traffic, and with only the 12-byte header in hand.
      const decoder = new Decoder(LIMITS);
      assert.equal(decoder.push(request(PacketType.ECHO_REQ, 'ok')).length, 1);
      expectLazaretError(() => decoder.push(bytes.subarray(0, HEADER_BYTES)), [expected], 'after an ECHO_REQ');
    });
  }
});

describe('codec: limits', () => {
  const small: DecoderLimits = { maxFrameBytes: 64, maxLineBytes: 32 };

  it('accepts a body of exactly maxFrameBytes', () => {
    const frame = request(PacketType.ECHO_REQ, Buffer.alloc(64, 0x61));
    assert.equal(decodeAll(frame, small).length, 1);
  });

  it('refuses a declared length over maxFrameBytes from the header alone', () => {
    const decoder = new Decoder(small);
    const code = expectLazaretError(() => decoder.push(header(0x00524551, PacketType.ECHO_REQ, 65)), [ErrorCode.FRAME_TOO_LARGE], 'length 65 over 64');
    assert.equal(code, ErrorCode.FRAME_TOO_LARGE);
  });

  it('accepts an admin line of exactly maxLineBytes (CR counted, LF not)', () => {
    const line = (n: number, eol: string): PlainFrame[] => decodeAll(Buffer.from(`${'s'.repeat(n)}${eol}`), small).map(plain);
    assert.deepEqual(line(31, '\r\n'), [{ magic: 'TEXT', line: 's'.repeat(31) }]);
    assert.deepEqual(line(32, '\n'), [{ magic: 'TEXT', line: 's'.repeat(32) }]);
  });

  it('refuses a longer admin line, with or without its LF', () => {
    const long = Buffer.from(`${'s'.repeat(33)}\n`);
    expectLazaretError(() => new Decoder(small).push(long), [ErrorCode.LINE_TOO_LONG], 'with LF');
    const decoder = new Decoder(small);
    assert.deepEqual(decoder.push(Buffer.from('s'.repeat(32))), []);
    expectLazaretError(() => decoder.push(Buffer.from('s')), [ErrorCode.LINE_TOO_LONG], 'without LF');
  });

  it('keeps a text line and a binary packet apart in one chunk, both ways round', () => {
    const echo = request(PacketType.ECHO_REQ, 'x');
    const stream = Buffer.concat([Buffer.from('status\r\n'), echo, Buffer.from('version\n'), echo]);
    assert.deepEqual(decodeAll(stream).map(plain), [
      { magic: 'TEXT', line: 'status' },
      { magic: 'REQ', type: PacketType.ECHO_REQ, args: ['78'] },
      { magic: 'TEXT', line: 'version' },
      { magic: 'REQ', type: PacketType.ECHO_REQ, args: ['78'] },
    ]);
  });
});

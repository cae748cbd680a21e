// Seeded, time-boxed fuzzing of the Decoder. The property everywhere: push() returns frames
// or throws a LazaretError, nothing else, and finishes; a length over maxFrameBytes is refused from the
// header alone; a line over maxLineBytes is refused even if its LF never comes.
// LAZARET_FUZZ_MS stretches the time budget (CI), LAZARET_FUZZ_SEED replays a reported seed.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { Decoder, HEADER_BYTES, type DecoderLimits } from '../../src/protocol/decoder.js';
import { encodePacket } from '../../src/protocol/encoder.js';
import { ARG_COUNT, isPacketType, PacketType, type Frame, type PacketTypeNumber } from '../../src/protocol/packets.js';
import { ErrorCode, isLazaretError, type ErrorCodeValue } from '../../src/errors.js';
import { argBytes, isBinary, isText, loadVectors, prng, randInt, textLines, type VectorPacket } from '../helpers/vectors.js';

const LIMITS: DecoderLimits = { maxFrameBytes: 32 * 1024, maxLineBytes: 1024 };
const BUDGET_MS = Number(process.env.LAZARET_FUZZ_MS ?? 2000);
const BASE_SEED = Number(process.env.LAZARET_FUZZ_SEED ?? 0x1a2a3e7);
const MAGIC_REQ = 0x00524551;
const MAGIC_RES = 0x00524553;
const ALL_TYPES = Object.values(PacketType) as PacketTypeNumber[];

type Outcome = { frames: Frame[]; error: undefined } | { frames: Frame[]; error: ErrorCodeValue };

/**
 * Feeds chunks until the end or the first error, checking the property after every push:
 * only LazaretErrors escape, emitted frames are well-formed, and the buffer stays bounded.
 */
function run(chunks: readonly Buffer[], context: string, limits: DecoderLimits = LIMITS): Outcome {
  const decoder = new Decoder(limits);
  const frames: Frame[] = [];
  for (const chunk of chunks) {
    let out: Frame[];
    try {
      out = decoder.push(chunk);
    } catch (error) {
      if (!isLazaretError(error)) assert.fail(`${context}: push threw a non-LazaretError: ${String(error)}`);
      return { frames, error: error.code };
    }
    for (const f of out) checkFrame(f, context);
    frames.push(...out);
    if (decoder.failure) return { frames, error: decoder.failure.code };
    // Most a decoder may hold between pushes: a whole frame but one byte, or a full-length line.
    const bound = Math.max(HEADER_BYTES + limits.maxFrameBytes - 1, limits.maxLineBytes);
    assert.ok(decoder.pending <= bound, `${context}: ${decoder.pending} bytes held, over ${bound}`);
  }
  return { frames, error: undefined };
}

/** A frame must be something the rest of the server can trust without checking again. */
function checkFrame(f: Frame, context: string): void {
  if (f.magic === 'TEXT') {
    assert.ok(!f.line.includes('\n'), `${context}: text line contains LF`);
    return;
  }
  assert.ok(f.magic === 'REQ' || f.magic === 'RES', `${context}: magic ${String(f.magic)}`);
  assert.ok(isPacketType(f.type), `${context}: type ${f.type}`);
  assert.equal(f.args.length, ARG_COUNT[f.type], `${context}: argument count of type ${f.type}`);
  for (const a of f.args.slice(0, -1)) assert.equal(a.indexOf(0), -1, `${context}: NUL inside a non-last argument`);
  // Re-encoding and decoding again gives the same frame.
  const again = new Decoder(LIMITS).push(encodePacket(f.magic, f.type, f.args));
  assert.ok(again.length === 1 && sameFrame(again[0]!, f), `${context}: re-encoded frame differs`);
}

function sameFrame(a: Frame, b: Frame): boolean {
  if (a.magic === 'TEXT' || b.magic === 'TEXT') return a.magic === 'TEXT' && b.magic === 'TEXT' && a.line === b.line;
  return a.magic === b.magic && a.type === b.type && a.args.length === b.args.length && a.args.every((arg, i) => arg.equals(b.args[i]!));
}

function header(magic: number, type: number, length: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h.writeUInt32BE(magic >>> 0, 0);
  h.writeUInt32BE(type >>> 0, 4);
  h.writeUInt32BE(length >>> 0, 8);
  return h;
}

function randomBytes(rand: () => number, length: number, except?: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) {
    let v = randInt(rand, 0, 255);
    if (v === except) v = (v + 1) & 0xff;
    b[i] = v;
  }
  return b;
}

/** Splits at random offsets (0..12 cuts). Pieces are views: the decoder must not care. */
function randomChunks(rand: () => number, bytes: Buffer): Buffer[] {
  if (bytes.length < 2) return [bytes];
  const cuts = new Set<number>();
  const count = randInt(rand, 0, 12);
  for (let i = 0; i < count; i++) cuts.add(randInt(rand, 1, bytes.length - 1));
  const chunks: Buffer[] = [];
  let from = 0;
  for (const at of [...[...cuts].sort((a, b) => a - b), bytes.length]) {
    chunks.push(bytes.subarray(from, at));
    from = at;
  }
  return chunks;
}

/** What the Decoder must emit for a recorded packet (a listing reply is one frame per line). */
function expected(p: VectorPacket): Frame[] {
  if (isText(p)) return textLines(p).map((line): Frame => ({ magic: 'TEXT', line }));
  const { magic, type } = p.decoded;
  if ((magic !== 'REQ' && magic !== 'RES') || !isPacketType(type)) throw new Error(`seq ${p.seq} is not a valid packet`);
  return [{ magic, type, args: p.decoded.args.map(argBytes) }];
}

/** Every distinct well-formed recorded packet (binary and admin text, both directions). */
function vectorPackets(): VectorPacket[] {
  const seen = new Set<string>();
  const out: VectorPacket[] = [];
  for (const vf of loadVectors()) {
    for (const p of vf.packets) {
      if (p.decoded.invalid !== undefined || !(isBinary(p) || isText(p)) || seen.has(p.hex)) continue;
      seen.add(p.hex);
      out.push(p);
    }
  }
  return out;
}

/** Runs `body(rand, i)` with a fresh seeded PRNG per iteration until the budget or the count runs out. */
function fuzz(share: number, maxIterations: number, body: (rand: () => number, context: string) => void): number {
  const deadline = performance.now() + BUDGET_MS * share;
  let i = 0;
  for (; i < maxIterations && performance.now() < deadline; i++) {
    const seed = (BASE_SEED + i * 0x9e3779b1) >>> 0;
    body(prng(seed), `seed ${seed} (LAZARET_FUZZ_SEED=${BASE_SEED}, iteration ${i})`);
  }
  return i;
}

/** Outcomes of a fuzz run, so a generator that only ever hits one path fails loudly. */
class Stats {
  framesOut = 0;
  readonly codes = new Set<ErrorCodeValue>();

  add(outcome: Outcome): void {
    if (outcome.frames.length > 0) this.framesOut++;
    if (outcome.error !== undefined) this.codes.add(outcome.error);
  }

  assertVaried(iterations: number): void {
    assert.ok(iterations >= 100, `only ${iterations} iterations in the budget`);
    assert.ok(this.framesOut > 0, 'no input produced a frame');
    assert.ok(this.codes.size >= 3, `only these refusals were reached: ${[...this.codes].join(', ')}`);
  }
}

describe('decoder fuzz', () => {
  it('every recorded packet, split in two at every offset, decodes to the recorded fields', () => {
    let splits = 0;
    for (const p of vectorPackets()) {
      const bytes = Buffer.from(p.hex, 'hex');
      const want = expected(p);
      for (let at = 0; at <= bytes.length; at++) {
        const decoder = new Decoder(LIMITS);
        const got = [...decoder.push(bytes.subarray(0, at)), ...decoder.push(bytes.subarray(at))];
        const same = got.length === want.length && got.every((f, i) => sameFrame(f, want[i]!));
        assert.ok(same && decoder.pending === 0, `${p.decoded.name} seq ${p.seq} split at ${at}`);
        splits++;
      }
    }
    assert.ok(splits > 90_000, `only ${splits} splits`);
  });

  it('bad type in a header (0, 43, >= 0x80000000, 0xFFFFFFFF) is refused from the 12 header bytes', () => {
    const fixed = [0, 43, 44, 0x7fffffff, 0x80000000, 0x80000001, 0x8000002a, 0xfffffffe, 0xffffffff];
    const check = (type: number, magic: number, length: number, context: string): void => {
      const got = run([header(magic, type, length)], context);
      assert.deepEqual(got, { frames: [], error: ErrorCode.UNKNOWN_PACKET }, context);
    };
    for (const type of fixed) for (const magic of [MAGIC_REQ, MAGIC_RES]) check(type, magic, 0, `type ${type}`);
    const n = fuzz(0.03, 5000, (rand, context) => {
      const type = rand() < 0.5 ? randInt(rand, 43, 0xffffffff) : (0x80000000 | randInt(rand, 0, 42)) >>> 0;
      check(type, rand() < 0.5 ? MAGIC_REQ : MAGIC_RES, randInt(rand, 0, 0xffffffff), `${context} type ${type}`);
    });
    assert.ok(n > 0);
  });

  it('bad magic is refused once the header is in, whatever follows', () => {
    const n = fuzz(0.03, 5000, (rand, context) => {
      let magic = (randInt(rand, 0, 0xffffff) & 0x00ffffff) >>> 0;
      if (magic === MAGIC_REQ || magic === MAGIC_RES) magic ^= 1;
      const head = header(magic, randInt(rand, 0, 0xffffffff), randInt(rand, 0, 64));
      const bytes = Buffer.concat([head, randomBytes(rand, randInt(rand, 0, 64))]);
      const got = run(randomChunks(rand, bytes), context);
      assert.equal(got.error, ErrorCode.BAD_MAGIC, context);
      assert.deepEqual(got.frames, [], context);
    });
    assert.ok(n > 0);
  });

  it('a declared length over maxFrameBytes is refused by the push that completes the header, before any body', () => {
    const lengths = [LIMITS.maxFrameBytes + 1, 0x7fffffff, 0x80000000, 0xffffffff];
    let i = 0;
    const check = (type: PacketTypeNumber, length: number, rand: () => number, context: string): void => {
      const h = header(rand() < 0.5 ? MAGIC_REQ : MAGIC_RES, type, length);
      const decoder = new Decoder(LIMITS);
      const cut = randInt(rand, 0, HEADER_BYTES - 1);
      assert.deepEqual(decoder.push(h.subarray(0, cut)), [], `${context}: partial header`);
      assert.throws(
        () => decoder.push(h.subarray(cut)),
        (e: unknown) => isLazaretError(e, ErrorCode.FRAME_TOO_LARGE),
        `${context}: length ${length}`,
      );
    };
    for (const type of ALL_TYPES) for (const length of lengths) check(type, length, prng(i++), `type ${type}`);
    const n = fuzz(0.03, 5000, (rand, context) => {
      const type = ALL_TYPES[randInt(rand, 0, ALL_TYPES.length - 1)]!;
      check(type, randInt(rand, LIMITS.maxFrameBytes + 1, 0xffffffff), rand, context);
    });
    assert.ok(n > 0);
  });

  it('a truncated frame waits for the rest: no frame, no error, every byte held', () => {
    for (const p of vectorPackets().filter(isBinary)) {
      const bytes = Buffer.from(p.hex, 'hex');
      for (const keep of new Set([1, 4, 11, 12, 13, bytes.length - 1])) {
        if (keep <= 0 || keep >= bytes.length) continue;
        const decoder = new Decoder(LIMITS);
        assert.deepEqual(decoder.push(bytes.subarray(0, keep)), [], `seq ${p.seq} first ${keep} bytes`);
        assert.equal(decoder.pending, keep);
      }
    }
  });

  it('a body with fewer NULs than its type needs is refused, not read into the next packet', () => {
    const multi = ALL_TYPES.filter((t) => ARG_COUNT[t] >= 2);
    const n = fuzz(0.05, 5000, (rand, context) => {
      const type = multi[randInt(rand, 0, multi.length - 1)]!;
      const nuls = randInt(rand, 0, ARG_COUNT[type] - 2);
      const parts = Array.from({ length: nuls + 1 }, () => randomBytes(rand, randInt(rand, 0, 20), 0x00));
      const body = Buffer.concat(parts.flatMap((part, i) => (i === 0 ? [part] : [Buffer.alloc(1), part])));
      // A well-formed packet follows, whose NULs must not complete this one.
      const next = encodePacket('REQ', PacketType.SUBMIT_JOB, ['fn', 'uniq', 'data']);
      const bytes = Buffer.concat([header(MAGIC_REQ, type, body.length), body, next]);
      const got = run(randomChunks(rand, bytes), `${context} type ${type} with ${nuls} NULs`);
      assert.equal(got.error, ErrorCode.MALFORMED_PACKET, `${context} type ${type} with ${nuls} NULs`);
    });
    assert.ok(n > 0);
  });

  it('a line over maxLineBytes is refused even when no LF ever comes', () => {
    const n = fuzz(0.05, 2000, (rand, context) => {
      const limits: DecoderLimits = { maxFrameBytes: 1024, maxLineBytes: randInt(rand, 1, 4096) };
      const decoder = new Decoder(limits);
      let fed = 0;
      for (;;) {
        // Any bytes but LF; the first must not be NUL or it would be a binary header.
        const chunk = randomBytes(rand, randInt(rand, 1, 700), 0x0a);
        if (fed === 0 && chunk[0] === 0) chunk[0] = 0x61;
        fed += chunk.length;
        let threw: unknown;
        try {
          assert.deepEqual(decoder.push(chunk), []);
        } catch (e) {
          threw = e;
        }
        if (fed <= limits.maxLineBytes) {
          assert.equal(threw, undefined, `${context}: refused at ${fed} bytes, limit ${limits.maxLineBytes}`);
          continue;
        }
        const why = `${context}: ${fed} bytes past ${limits.maxLineBytes}: ${String(threw)}`;
        assert.ok(isLazaretError(threw, ErrorCode.LINE_TOO_LONG), why);
        break;
      }
    });
    assert.ok(n > 0);
  });

  it('random noise: frames or a LazaretError, nothing else', () => {
    const seen = new Stats();
    const n = fuzz(0.15, 20_000, (rand, context) => {
      const length = randInt(rand, 0, rand() < 0.9 ? 256 : 8192);
      const bytes = randomBytes(rand, length);
      // Often start like a header so the binary paths get exercised, not only text lines.
      if (length >= 4 && rand() < 0.5) bytes.writeUInt32BE(rand() < 0.5 ? MAGIC_REQ : MAGIC_RES, 0);
      if (length >= 8 && rand() < 0.5) bytes.writeUInt32BE(randInt(rand, 0, 44), 4);
      if (length >= 12 && rand() < 0.5) bytes.writeUInt32BE(randInt(rand, 0, length), 8);
      seen.add(run(randomChunks(rand, bytes), context));
    });
    seen.assertVaried(n);
  });

  it('mutated recorded streams (flipped, dropped, inserted bytes): frames or a LazaretError', () => {
    const packets = vectorPackets().filter((p) => p.hex.length < 2000);
    const seen = new Stats();
    const n = fuzz(0.15, 20_000, (rand, context) => {
      const picked = Array.from({ length: randInt(rand, 1, 8) }, () => packets[randInt(rand, 0, packets.length - 1)]!);
      const bytes = [...Buffer.from(picked.map((p) => p.hex).join(''), 'hex')];
      for (let m = randInt(rand, 1, 4); m > 0; m--) {
        const at = randInt(rand, 0, bytes.length);
        const op = randInt(rand, 0, 2);
        if (op === 0 && at < bytes.length) bytes[at] = randInt(rand, 0, 255);
        else if (op === 1) bytes.splice(at, randInt(rand, 1, 4));
        else bytes.splice(at, 0, ...randomBytes(rand, randInt(rand, 1, 4)));
      }
      seen.add(run(randomChunks(rand, Buffer.from(bytes)), context));
    });
    seen.assertVaried(n);
  });

  it('a body of exactly maxFrameBytes is still accepted, in any chunking', () => {
    const n = fuzz(0.03, 200, (rand, context) => {
      const body = randomBytes(rand, LIMITS.maxFrameBytes);
      const bytes = encodePacket('REQ', PacketType.ECHO_REQ, [body]);
      const got = run(randomChunks(rand, bytes), context);
      assert.equal(got.error, undefined, context);
      assert.equal(got.frames.length, 1, context);
    });
    assert.ok(n > 0);
  });
});

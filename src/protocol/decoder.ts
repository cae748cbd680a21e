// Incremental decoder: bytes in, frames out. It knows nothing of sockets.
// Checks the 12-byte header (magic, type read unsigned, declared length against the limit) before it
// waits for the body, so a hostile length never makes us buffer it.

import { ProtocolErrorCode as ErrorCode, ProtocolError } from './errors.js';
import { ARG_COUNT, isPacketType, packetName, type Frame, type Magic } from './packets.js';

export const HEADER_BYTES = 12;
const MAGIC_REQ = 0x00524551; // "\0REQ"
const MAGIC_RES = 0x00524553; // "\0RES"
const LF = 0x0a;
const CR = 0x0d;

export interface DecoderLimits {
  /** Largest accepted body, in bytes. */
  maxFrameBytes: number;
  /** Longest accepted admin text line, in bytes. */
  maxLineBytes: number;
}

export class Decoder {
  readonly #limits: DecoderLimits;
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** Bytes needed before parsing can make progress; avoids re-concatenating for large bodies. */
  #needed = 1;
  #failure: ProtocolError | null = null;

  constructor(limits: DecoderLimits) {
    this.#limits = limits;
  }

  /** Bytes received but not yet part of a complete frame. */
  get pending(): number {
    return this.#buffered;
  }

  /**
   * Bytes the unfinished packet needs in all (its header included, as declared once the header is in);
   * 0 when nothing unfinished is buffered. Callers reserve memory for it before the body arrives.
   */
  get unfinished(): number {
    return this.#buffered > 0 ? Math.max(this.#needed, this.#buffered) : 0;
  }

  /**
   * Why the stream broke after the frames the last push() returned (gearmand, too, handles the good
   * packets that precede a bad one before it closes); null while the stream is sound.
   */
  get failure(): ProtocolError | null {
    return this.#failure;
  }

  /**
   * Feeds bytes and returns every frame they complete. Argument buffers are views into the input:
   * copy what you keep. A malformed stream throws a ProtocolError, unless good frames came before it
   * in this push: then those are returned and `failure` tells the rest. Either way the decoder is then
   * unusable: every later push() throws.
   */
  push(chunk: Buffer): Frame[] {
    if (this.#failure) throw this.#failure;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    if (this.#buffered < this.#needed) return [];
    const buf = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#buffered);
    const frames: Frame[] = [];
    let offset = 0;
    try {
      for (;;) {
        const consumed = this.#next(buf, offset, frames);
        if (consumed === 0) break;
        offset += consumed;
      }
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.#failure = err;
      this.#chunks = [];
      this.#buffered = 0;
      if (frames.length === 0) throw err;
      return frames;
    }
    const rest = buf.length - offset;
    this.#chunks = rest === 0 ? [] : [buf.subarray(offset)];
    this.#buffered = rest;
    return frames;
  }

  /** Parses one frame at offset; returns bytes consumed, or 0 when more input is needed. */
  #next(buf: Buffer, offset: number, out: Frame[]): number {
    const available = buf.length - offset;
    if (available === 0) {
      this.#needed = 1;
      return 0;
    }
    if (buf[offset] !== 0) return this.#nextLine(buf, offset, out);
    if (available < HEADER_BYTES) {
      this.#needed = HEADER_BYTES;
      return 0;
    }
    const magicWord = buf.readUInt32BE(offset);
    let magic: Magic;
    if (magicWord === MAGIC_REQ) magic = 'REQ';
    else if (magicWord === MAGIC_RES) magic = 'RES';
    else {
      throw new ProtocolError(ErrorCode.BAD_MAGIC, `Bad packet magic 0x${magicWord.toString(16).padStart(8, '0')}: expected \\0REQ or \\0RES`);
    }
    const type = buf.readUInt32BE(offset + 4);
    const length = buf.readUInt32BE(offset + 8);
    if (!isPacketType(type)) {
      throw new ProtocolError(ErrorCode.UNKNOWN_PACKET, `Unknown packet type ${type} (valid types are 1 to 42)`);
    }
    if (length > this.#limits.maxFrameBytes) {
      throw new ProtocolError(ErrorCode.FRAME_TOO_LARGE, `${packetName(type)} declares ${length} body bytes, over the limit of ${this.#limits.maxFrameBytes}`, {
        hint: 'raise limits.maxFrameBytes if such payloads are expected',
      });
    }
    const total = HEADER_BYTES + length;
    if (available < total) {
      this.#needed = total;
      return 0;
    }
    const body = buf.subarray(offset + HEADER_BYTES, offset + total);
    out.push({ magic, type, args: splitArgs(body, ARG_COUNT[type], type) });
    return total;
  }

  #nextLine(buf: Buffer, offset: number, out: Frame[]): number {
    const end = buf.indexOf(LF, offset);
    const limit = this.#limits.maxLineBytes;
    if (end === -1) {
      if (buf.length - offset > limit) throw lineTooLong(limit);
      this.#needed = buf.length - offset + 1;
      return 0;
    }
    if (end - offset > limit) throw lineTooLong(limit);
    let lineEnd = end;
    if (lineEnd > offset && buf[lineEnd - 1] === CR) lineEnd--;
    out.push({ magic: 'TEXT', line: buf.toString('utf8', offset, lineEnd) });
    return end + 1 - offset;
  }
}

function lineTooLong(limit: number): ProtocolError {
  return new ProtocolError(ErrorCode.LINE_TOO_LONG, `Admin text line longer than ${limit} bytes`);
}

/** Splits a body into exactly `count` arguments; the last runs to the end and may contain NULs. */
export function splitArgs(body: Buffer, count: number, type: number): Buffer[] {
  if (count === 0) return [];
  const args: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < count - 1; i++) {
    const nul = body.indexOf(0, start);
    if (nul === -1) {
      throw new ProtocolError(ErrorCode.MALFORMED_PACKET, `${packetName(type)} needs ${count} arguments but its body has only ${i + 1}`);
    }
    args.push(body.subarray(start, nul));
    start = nul + 1;
  }
  args.push(body.subarray(start));
  return args;
}

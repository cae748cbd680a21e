// Loads the gearmand 1.1.20 wire captures in test/fixtures/gearmand-vectors/ (format described in its
// README.md).

import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const VECTORS_DIR = fileURLToPath(new URL('../fixtures/gearmand-vectors/', import.meta.url));

/** A field: printable UTF-8 as a JSON string, anything else as its hex. */
export type VectorArg = string | { hex: string };

export interface VectorDecoded {
  /** `REQ`, `RES`, `TEXT`, or the four magic bytes in hex for a broken packet. */
  magic: string;
  type: number;
  name: string;
  length: number | undefined;
  args: VectorArg[];
  /** Why the packet is broken on purpose; a decoder must refuse it. */
  invalid: string | undefined;
}

export interface VectorPacket {
  seq: number;
  dir: 'c2s' | 's2c';
  conn: number;
  hex: string;
  decoded: VectorDecoded;
}

export interface VectorFile {
  file: string;
  scenario: string;
  packets: VectorPacket[];
}

/** One direction of one connection, packets in wire order. */
export interface VectorStream {
  file: string;
  conn: number;
  dir: 'c2s' | 's2c';
  packets: VectorPacket[];
}

function fail(file: string, what: string): never {
  throw new Error(`${file}: ${what} (test/fixtures/gearmand-vectors/README.md describes the format)`);
}

function record(value: unknown, file: string, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(file, `${what} is not an object`);
  return value as Record<string, unknown>;
}

function parseArg(value: unknown, file: string): VectorArg {
  if (typeof value === 'string') return value;
  const hex = record(value, file, 'an argument').hex;
  if (typeof hex !== 'string') fail(file, 'an argument is neither a string nor {hex}');
  return { hex };
}

function parsePacket(value: unknown, file: string): VectorPacket {
  const p = record(value, file, 'a packet');
  const d = record(p.decoded, file, `packet ${String(p.seq)} decoded`);
  const { seq, dir, conn, hex } = p;
  if (typeof seq !== 'number' || typeof conn !== 'number') fail(file, 'packet without numeric seq/conn');
  if (dir !== 'c2s' && dir !== 's2c') fail(file, `packet ${seq} has dir ${String(dir)}`);
  if (typeof hex !== 'string' || !/^(?:[0-9a-f]{2})*$/.test(hex)) fail(file, `packet ${seq} has no hex`);
  if (typeof d.magic !== 'string' || typeof d.type !== 'number' || typeof d.name !== 'string') {
    fail(file, `packet ${seq} decoded lacks magic/type/name`);
  }
  if (!Array.isArray(d.args)) fail(file, `packet ${seq} decoded.args is not an array`);
  if (d.length !== undefined && typeof d.length !== 'number') fail(file, `packet ${seq} decoded.length`);
  if (d.invalid !== undefined && typeof d.invalid !== 'string') fail(file, `packet ${seq} decoded.invalid`);
  return {
    seq,
    dir,
    conn,
    hex,
    decoded: {
      magic: d.magic,
      type: d.type,
      name: d.name,
      length: d.length,
      args: d.args.map((a: unknown) => parseArg(a, file)),
      invalid: d.invalid,
    },
  };
}

let cache: VectorFile[] | undefined;

/** Every vectors/*.json file, sorted by name. */
export function loadVectors(): VectorFile[] {
  if (cache !== undefined) return cache;
  const names = readdirSync(VECTORS_DIR)
    .filter((n) => n.endsWith('.json'))
    .sort();
  if (names.length === 0) throw new Error(`no vector files in ${VECTORS_DIR}`);
  cache = names.map((file) => {
    const root = record(JSON.parse(readFileSync(join(VECTORS_DIR, file), 'utf8')) as unknown, file, 'the file');
    if (typeof root.scenario !== 'string' || !Array.isArray(root.packets)) fail(file, 'no scenario or packets');
    return { file, scenario: root.scenario, packets: root.packets.map((p: unknown) => parsePacket(p, file)) };
  });
  return cache;
}

/** Groups a file's packets by (conn, dir), each in seq order. */
export function streamsOf(vf: VectorFile): VectorStream[] {
  const byKey = new Map<string, VectorStream>();
  for (const p of vf.packets) {
    const key = `${p.conn}/${p.dir}`;
    let s = byKey.get(key);
    if (s === undefined) {
      s = { file: vf.file, conn: p.conn, dir: p.dir, packets: [] };
      byKey.set(key, s);
    }
    s.packets.push(p);
  }
  const streams = [...byKey.values()];
  for (const s of streams) s.packets.sort((a, b) => a.seq - b.seq);
  return streams;
}

export function argBytes(arg: VectorArg): Buffer {
  return typeof arg === 'string' ? Buffer.from(arg, 'utf8') : Buffer.from(arg.hex, 'hex');
}

export const isBinary = (p: VectorPacket): boolean => p.decoded.magic === 'REQ' || p.decoded.magic === 'RES';
export const isText = (p: VectorPacket): boolean => p.decoded.magic === 'TEXT';

/**
 * The lines of an admin text packet as the Decoder reports them: split at LF, one CR before the LF
 * dropped. A c2s request is one line; an s2c reply may be a whole listing.
 */
export function textLines(p: VectorPacket): string[] {
  const bytes = Buffer.from(p.hex, 'hex');
  const lines: string[] = [];
  let start = 0;
  for (;;) {
    const lf = bytes.indexOf(0x0a, start);
    if (lf === -1) break;
    const end = lf > start && bytes[lf - 1] === 0x0d ? lf - 1 : lf;
    lines.push(bytes.toString('utf8', start, end));
    start = lf + 1;
  }
  if (start !== bytes.length) throw new Error(`packet ${p.seq} text does not end in LF`);
  return lines;
}

/** mulberry32: a small seeded PRNG so every failure names a seed that reproduces it. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [min, max] inclusive. */
export function randInt(rand: () => number, min: number, max: number): number {
  return min + Math.floor(rand() * (max - min + 1));
}

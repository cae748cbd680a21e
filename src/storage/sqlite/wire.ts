// What crosses between the event loop and the store's thread. Requests and replies are plain trees
// (objects, arrays, numbers, strings, null) with Buffers in them: payloads, results.
//
// A Buffer is often a view into a larger block (Node's 8 KiB pool, a socket read holding many frames),
// and structured clone copies a view's whole block; it also detaches nothing, so a caller's Buffer
// stays usable. pack() copies every Buffer of a tree once, into one fresh ArrayBuffer that is then
// transferred rather than copied again; unpack() turns the views back into Buffers without copying.

import { ErrorCode, LazaretError, type ErrorCodeValue } from '../../errors.js';

export interface Packed {
  value: unknown;
  transfer: ArrayBuffer[];
}

interface Patch {
  holder: Record<string | number, unknown>;
  key: string | number;
  bytes: Uint8Array;
}

function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * A copy of the tree whose Buffers all view one new ArrayBuffer, listed for transfer. `owned`: the tree
 * is the sender's alone (rows the thread just read), so it is patched in place instead of copied.
 */
export function pack(value: unknown, owned = false): Packed {
  const patches: Patch[] = [];
  let total = 0;
  const copy = (v: unknown, holder: Record<string | number, unknown> | null, key: string | number): unknown => {
    if (typeof v !== 'object' || v === null) return v;
    if (v instanceof Uint8Array) {
      if (holder === null) return v;
      patches.push({ holder, key, bytes: v });
      total += v.byteLength;
      return v;
    }
    if (Array.isArray(v)) {
      const out: unknown[] = owned ? v : new Array(v.length);
      for (let i = 0; i < v.length; i++) out[i] = copy(v[i], out as unknown as Record<number, unknown>, i);
      return out;
    }
    if (!isPlain(v)) return v;
    const out: Record<string, unknown> = owned ? (v as Record<string, unknown>) : {};
    for (const k of Object.keys(v)) out[k] = copy((v as Record<string, unknown>)[k], out, k);
    return out;
  };
  // A Buffer at the root is wrapped so that it too can be patched.
  const root = { v: value };
  const tree = copy(root, null, 'v') as { v: unknown };
  if (patches.length === 0) return { value: tree.v, transfer: [] };
  const block = new ArrayBuffer(total);
  let at = 0;
  for (const p of patches) {
    const view = new Uint8Array(block, at, p.bytes.byteLength);
    view.set(p.bytes);
    p.holder[p.key] = view;
    at += p.bytes.byteLength;
  }
  return { value: tree.v, transfer: [block] };
}

/** Turns the Uint8Arrays of a received tree into Buffers over the same memory, in place. */
export function unpack(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Uint8Array) return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = unpack(value[i]);
    return value;
  }
  if (!isPlain(value)) return value;
  const obj = value as Record<string, unknown>;
  for (const k of Object.keys(obj)) obj[k] = unpack(obj[k]);
  return obj;
}

/** A LazaretError as it crosses the thread: its code, message and hint survive. */
export interface WireError {
  code: ErrorCodeValue;
  message: string;
  hint?: string;
}

export function errorToWire(err: LazaretError): WireError {
  return err.hint === undefined ? { code: err.code, message: err.message } : { code: err.code, message: err.message, hint: err.hint };
}

export function errorFromWire(wire: WireError): LazaretError {
  const known = (Object.values(ErrorCode) as string[]).includes(wire.code);
  return new LazaretError(known ? wire.code : ErrorCode.STORE_FAILED, wire.message, wire.hint === undefined ? {} : { hint: wire.hint });
}

export type Request = { id: number; op: string; args: unknown[] };
export type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: WireError };

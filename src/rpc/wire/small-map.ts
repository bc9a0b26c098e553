/**
 * A fast path for envelope headers: small msgpack maps whose keys are strings and whose
 * values are strings, booleans, nil or numbers. Every message carries one header, and a
 * general msgpack codec spends more on setup than on these few bytes. Anything outside this
 * shape is left to the general codec (`writeSmallMap` throws, `readSmallMap` returns undefined).
 */

import { copySmall } from "../../util/small-bytes.ts";

/** Values the fast path handles. */
export type SmallValue = string | number | boolean | null;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();
// Headers are at most a few hundred bytes (strings are MLM-sized: 255 bytes).
const scratch = new Uint8Array(4096);
const view = new DataView(scratch.buffer);

function writeString(value: string, pos: number): number {
  let ascii = value.length <= 255;
  for (let i = 0; ascii && i < value.length; i++) if (value.charCodeAt(i) > 0x7f) ascii = false;
  if (ascii) {
    const n = value.length;
    if (n < 32) scratch[pos++] = 0xa0 | n;
    else {
      scratch[pos++] = 0xd9;
      scratch[pos++] = n;
    }
    for (let i = 0; i < n; i++) scratch[pos++] = value.charCodeAt(i);
    return pos;
  }
  const bytes = utf8Encoder.encode(value);
  if (bytes.length > 0xffff) throw new RangeError("header string too long");
  if (bytes.length < 32) scratch[pos++] = 0xa0 | bytes.length;
  else if (bytes.length < 256) {
    scratch[pos++] = 0xd9;
    scratch[pos++] = bytes.length;
  } else {
    scratch[pos++] = 0xda;
    view.setUint16(pos, bytes.length);
    pos += 2;
  }
  scratch.set(bytes, pos);
  return pos + bytes.length;
}

function writeNumber(value: number, pos: number): number {
  if (Number.isInteger(value) && value >= 0 && value <= Number.MAX_SAFE_INTEGER) {
    if (value < 0x80) scratch[pos++] = value;
    else if (value < 0x100) {
      scratch[pos++] = 0xcc;
      scratch[pos++] = value;
    } else if (value < 0x10000) {
      scratch[pos++] = 0xcd;
      view.setUint16(pos, value);
      pos += 2;
    } else if (value < 0x100000000) {
      scratch[pos++] = 0xce;
      view.setUint32(pos, value);
      pos += 4;
    } else {
      scratch[pos++] = 0xcf;
      view.setUint32(pos, Math.floor(value / 0x100000000));
      view.setUint32(pos + 4, value >>> 0);
      pos += 8;
    }
    return pos;
  }
  scratch[pos++] = 0xcb;
  view.setFloat64(pos, value);
  return pos + 8;
}

/**
 * Encodes `entries` (at most 15, in order) as a msgpack fixmap. Integers use the smallest
 * unsigned form (uint64 above 2^32), other numbers float64.
 *
 * @example
 * ```ts
 * writeSmallMap([["version", 1], ["kind", "result"]]); // 82 a7 "version" 01 a4 "kind" a6 "result"
 * ```
 */
export function writeSmallMap(entries: ReadonlyArray<readonly [string, SmallValue]>): Uint8Array {
  if (entries.length > 15) throw new RangeError("too many header fields");
  let pos = 0;
  scratch[pos++] = 0x80 | entries.length;
  for (const [key, value] of entries) {
    pos = writeString(key, pos);
    if (typeof value === "string") pos = writeString(value, pos);
    else if (typeof value === "number") pos = writeNumber(value, pos);
    else if (value === null) scratch[pos++] = 0xc0;
    else scratch[pos++] = value ? 0xc3 : 0xc2;
  }
  return copySmall(scratch, pos);
}

/** Returned by {@link readValue} for anything the fast path does not handle. */
const FAIL = Symbol("fail");
// Position after the value last read; module state instead of a result object per value.
let next = 0;

/**
 * Decodes a msgpack map of simple values filling the whole frame (or, with `whole` false, at
 * its start). Returns undefined for anything else (nested values, binary, extensions,
 * truncated or trailing bytes), so that the caller can hand the frame to the general decoder.
 *
 * @example
 * ```ts
 * readSmallMap(writeSmallMap([["kind", "ack"]])); // { kind: "ack" }
 * ```
 */
export function readSmallMap(frame: Uint8Array, whole = true): Record<string, SmallValue> | undefined {
  const first = frame[0];
  if (first === undefined || (first & 0xf0) !== 0x80) return undefined;
  const count = first & 0x0f;
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const out: Record<string, SmallValue> = {};
  next = 1;
  for (let i = 0; i < count; i++) {
    const key = readValue(frame, dv, next);
    if (typeof key !== "string") return undefined;
    const value = readValue(frame, dv, next);
    if (value === FAIL) return undefined;
    // Own data properties only: a "__proto__" key must not change the prototype.
    if (key === "__proto__") Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    else out[key] = value;
  }
  return next === frame.length || !whole ? out : undefined;
}

/**
 * Where the map read by the last successful {@link readSmallMap} ended (with `whole` false,
 * more bytes may follow it).
 *
 * @example
 * ```ts
 * const header = readSmallMap(frame, false);
 * if (header) console.log(frame.subarray(smallMapEnd())); // what follows the map
 * ```
 */
export function smallMapEnd(): number {
  return next;
}

// Headers repeat the same few short strings ("version", "kind", "result"...): decoding them
// once and reusing the string saves an allocation per character.
const interned = new Map<number, string>();
const MAX_INTERNED = 512;

function readString(frame: Uint8Array, pos: number, n: number): string | typeof FAIL {
  if (pos + n > frame.length) return FAIL;
  next = pos + n;
  if (n > 32) return utf8Decoder.decode(frame.subarray(pos, pos + n));
  let hash = n;
  for (let i = 0; i < n; i++) {
    const c = frame[pos + i] as number;
    if (c > 0x7f) return utf8Decoder.decode(frame.subarray(pos, pos + n));
    hash = (Math.imul(hash, 31) + c) | 0;
  }
  const known = interned.get(hash);
  if (known !== undefined && known.length === n) {
    let same = true;
    for (let i = 0; same && i < n; i++) same = known.charCodeAt(i) === frame[pos + i];
    if (same) return known;
  }
  let out = "";
  for (let i = 0; i < n; i++) out += String.fromCharCode(frame[pos + i] as number);
  if (interned.size < MAX_INTERNED) interned.set(hash, out);
  return out;
}

/** Reads the value at `pos` and sets `next` after it. */
function readValue(frame: Uint8Array, dv: DataView, pos: number): SmallValue | typeof FAIL {
  const b = frame[pos];
  if (b === undefined) return FAIL;
  if (b < 0x80) {
    next = pos + 1;
    return b;
  }
  if (b >= 0xe0) {
    next = pos + 1;
    return b - 0x100;
  }
  if ((b & 0xe0) === 0xa0) return readString(frame, pos + 1, b & 0x1f);
  const left = frame.length - pos - 1;
  switch (b) {
    case 0xc0:
      next = pos + 1;
      return null;
    case 0xc2:
    case 0xc3:
      next = pos + 1;
      return b === 0xc3;
    case 0xcc:
      if (left < 1) return FAIL;
      next = pos + 2;
      return dv.getUint8(pos + 1);
    case 0xcd:
      if (left < 2) return FAIL;
      next = pos + 3;
      return dv.getUint16(pos + 1);
    case 0xce:
      if (left < 4) return FAIL;
      next = pos + 5;
      return dv.getUint32(pos + 1);
    case 0xcf:
      if (left < 8) return FAIL;
      next = pos + 9;
      return dv.getUint32(pos + 1) * 0x100000000 + dv.getUint32(pos + 5);
    case 0xd0:
      if (left < 1) return FAIL;
      next = pos + 2;
      return dv.getInt8(pos + 1);
    case 0xd1:
      if (left < 2) return FAIL;
      next = pos + 3;
      return dv.getInt16(pos + 1);
    case 0xd2:
      if (left < 4) return FAIL;
      next = pos + 5;
      return dv.getInt32(pos + 1);
    case 0xd3:
      if (left < 8) return FAIL;
      next = pos + 9;
      return dv.getInt32(pos + 1) * 0x100000000 + dv.getUint32(pos + 5);
    case 0xca:
      if (left < 4) return FAIL;
      next = pos + 5;
      return dv.getFloat32(pos + 1);
    case 0xcb:
      if (left < 8) return FAIL;
      next = pos + 9;
      return dv.getFloat64(pos + 1);
    case 0xd9:
      if (left < 1) return FAIL;
      return readString(frame, pos + 2, dv.getUint8(pos + 1));
    case 0xda:
      if (left < 2) return FAIL;
      return readString(frame, pos + 3, dv.getUint16(pos + 1));
    default:
      return FAIL;
  }
}

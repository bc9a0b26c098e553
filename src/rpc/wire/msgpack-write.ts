/**
 * A direct msgpack writer for the values calls carry almost always: plain objects, arrays,
 * strings, numbers, booleans, null/undefined and Uint8Array. A general codec spends more on
 * per-call setup than on a small payload. Output is byte for byte what the general codec
 * (msgpackr, configured in codec.ts) writes; anything else (class instances, Map, Date, bigint,
 * other typed arrays) makes these functions give up, and codec.ts hands the value to msgpackr.
 * The reader is msgpack-read.ts.
 */

import { copySmall } from "../../util/small-bytes.ts";
import { putBinHeader, putLength, putNumber, putString, putU32 } from "./msgpack-put.ts";
import { BINARY_FRAME_EXT, MAX_DEPTH } from "./msgpack-profile.ts";

/** Binary values at least this big are not copied into the scratch buffer but straight into the output. */
const BIG_BIN = 4096;
const INITIAL = 8192;
/** A scratch buffer that grew past this (a huge string) is dropped after use. */
const KEEP = 1024 * 1024;

let buf: Uint8Array = new Uint8Array(INITIAL);
let pos = 0;
let failed = false;
/** Large binary values and the scratch offsets they belong at. */
let bigs: Uint8Array[] = [];
let bigAt: number[] = [];
let bigBytes = 0;
/** Binary values at least this big become out-of-band frames; Infinity outside {@link fastEncodeFrames}. */
let oobThreshold = Infinity;
let oobFrames: Uint8Array[] = [];

function ensure(n: number): void {
  if (pos + n <= buf.length) return;
  let size = buf.length * 2;
  while (size < pos + n) size *= 2;
  const next = new Uint8Array(size);
  next.set(buf.subarray(0, pos));
  buf = next;
}

function writeString(s: string): void {
  ensure(5 + 3 * s.length);
  pos = putString(buf, pos, s);
}

function writeNumber(v: number): void {
  ensure(9);
  pos = putNumber(buf, pos, v);
}

function writeLength(n: number, fix: number, b16: number, b32: number): void {
  ensure(5);
  pos = putLength(buf, pos, n, fix, b16, b32);
}

function writeBin(v: Uint8Array): void {
  const n = v.byteLength;
  if (n >= oobThreshold) {
    // Sent by reference as a frame of its own: only the 6-byte reference is written.
    ensure(6);
    buf[pos++] = 0xd6;
    buf[pos++] = BINARY_FRAME_EXT;
    putU32(buf, pos, oobFrames.length);
    pos += 4;
    oobFrames.push(v);
    return;
  }
  ensure(5);
  pos = putBinHeader(buf, pos, n);
  if (n >= BIG_BIN) {
    // Copied once, into the output frame, when the output is assembled.
    bigs.push(v);
    bigAt.push(pos);
    bigBytes += n;
    return;
  }
  ensure(n);
  buf.set(v, pos);
  pos += n;
}

function write(v: unknown, depth: number): void {
  switch (typeof v) {
    case "string":
      writeString(v);
      return;
    case "number":
      writeNumber(v);
      return;
    case "boolean":
      ensure(1);
      buf[pos++] = v ? 0xc3 : 0xc2;
      return;
    case "undefined":
      ensure(1);
      buf[pos++] = 0xc0;
      return;
    case "object": {
      if (v === null) {
        ensure(1);
        buf[pos++] = 0xc0;
        return;
      }
      if (depth > MAX_DEPTH) break;
      const ctor = (v as object).constructor;
      if (ctor === Object || (ctor === undefined && Object.getPrototypeOf(v) === null)) {
        const o = v as Record<string, unknown>;
        const keys = Object.keys(o);
        let count = 0;
        for (let i = 0; i < keys.length; i++) if (o[keys[i] as string] !== undefined) count++;
        writeLength(count, 0x80, 0xde, 0xdf);
        for (let i = 0; i < keys.length; i++) {
          const key = keys[i] as string;
          const item = o[key];
          if (item === undefined) continue;
          writeString(key);
          write(item, depth + 1);
          if (failed) return;
        }
        return;
      }
      if (ctor === Array) {
        const a = v as unknown[];
        writeLength(a.length, 0x90, 0xdc, 0xdd);
        for (let i = 0; i < a.length; i++) {
          write(a[i], depth + 1);
          if (failed) return;
        }
        return;
      }
      if (v instanceof Uint8Array) {
        writeBin(v);
        return;
      }
      break;
    }
  }
  failed = true;
}

function reset(): void {
  pos = 0;
  failed = false;
  if (bigs.length > 0) {
    bigs = [];
    bigAt = [];
    bigBytes = 0;
  }
  if (buf.length > KEEP) buf = new Uint8Array(INITIAL);
}

/**
 * Encodes `value` as msgpack into a new, exactly sized Uint8Array, or returns undefined when
 * the value holds something only the general codec handles. `allocate(n)` makes the output
 * of values with large binary fields (so that Node can skip zero-filling it). `prefix` bytes
 * (an envelope header) are written first, in the same output.
 *
 * @example
 * ```ts
 * fastEncode({ a: 1 }); // Uint8Array [0x81, 0xa1, 0x61, 0x01]
 * ```
 */
export function fastEncode(
  value: unknown,
  allocate: (n: number) => Uint8Array = (n) => new Uint8Array(n),
  prefix?: Uint8Array,
): Uint8Array | undefined {
  pos = 0;
  failed = false;
  if (prefix !== undefined) {
    ensure(prefix.length);
    buf.set(prefix, 0);
    pos = prefix.length;
  }
  try {
    write(value, 0);
  } catch {
    // e.g. a getter that throws: let the general codec report it.
    failed = true;
  }
  if (failed) {
    reset();
    return undefined;
  }
  let out: Uint8Array;
  if (bigs.length === 0) out = copySmall(buf, pos);
  else {
    out = allocate(pos + bigBytes);
    let from = 0;
    let to = 0;
    for (let i = 0; i < bigs.length; i++) {
      const at = bigAt[i] as number;
      const bin = bigs[i] as Uint8Array;
      out.set(buf.subarray(from, at), to);
      to += at - from;
      out.set(bin, to);
      to += bin.byteLength;
      from = at;
    }
    out.set(buf.subarray(from, pos), to);
  }
  reset();
  return out;
}

/**
 * {@link fastEncode} with out-of-band binary: every Uint8Array of at least `threshold` bytes
 * is left out of the payload (which carries a {@link BINARY_FRAME_EXT} reference instead) and
 * returned, by reference, as an extra frame after it. Returns `[prefix + payload, ...binaryFrames]`,
 * or undefined when the value needs the general codec.
 *
 * @example
 * ```ts
 * const [payload, image] = fastEncodeFrames({ image: new Uint8Array(1 << 20) }, 65536)!;
 * ```
 */
export function fastEncodeFrames(
  value: unknown,
  threshold: number,
  allocate?: (n: number) => Uint8Array,
  prefix?: Uint8Array,
): Uint8Array[] | undefined {
  oobThreshold = threshold;
  let out: Uint8Array | undefined;
  try {
    out = fastEncode(value, allocate, prefix);
  } finally {
    oobThreshold = Infinity;
  }
  const extra = oobFrames;
  if (extra.length > 0) oobFrames = [];
  if (out === undefined) return undefined;
  const frames = [out];
  for (let i = 0; i < extra.length; i++) frames.push(extra[i] as Uint8Array);
  return frames;
}

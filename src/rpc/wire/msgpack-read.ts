/**
 * A direct msgpack reader for the values calls carry almost always: plain objects, arrays,
 * strings, numbers, booleans, null/undefined and Uint8Array (and out-of-band binary references).
 * A general codec spends more on per-call setup than on a small payload. Values come out as
 * the general codec (msgpackr, configured in codec.ts) would decode them; anything else
 * (extension types, non-string keys, malformed input) makes these functions give up, and
 * codec.ts hands the frame to msgpackr instead. The writer is msgpack-write.ts.
 */

import { BINARY_FRAME_EXT, MAX_DEPTH } from "./msgpack-profile.ts";

const utf8Decoder = new TextDecoder();

let src: Uint8Array = new Uint8Array(0);
let at = 0;
let end = 0;
let bad = false;
let dv: DataView | undefined;
/** Frames that out-of-band references resolve to: `extFrames[extFirst + index]`. */
let extFrames: readonly Uint8Array[] = [];
let extFirst = 0;
let extCount = 0;
let extUsed: Uint8Array | undefined;
/** Why an out-of-band reference was invalid; such a frame is not handed to the general codec. */
let oobError: string | undefined;
/** What was outside the RPC payload profile (a map key not a string, an extension type but 1). */
let profileError: string | undefined;

// Keys repeat call after call: decode each short ASCII key once.
const keyCache = new Map<number, string>();
const MAX_KEYS = 4096;

function readString(n: number, key: boolean): string {
  if (n > end - at) {
    bad = true;
    return "";
  }
  const start = at;
  at += n;
  if (n <= 24) {
    let hash = n;
    for (let i = start; i < at; i++) {
      const c = src[i] as number;
      if (c >= 0x80) return utf8Decoder.decode(src.subarray(start, at));
      hash = (Math.imul(hash, 31) + c) | 0;
    }
    if (key) {
      const known = keyCache.get(hash);
      if (known !== undefined && known.length === n) {
        let same = true;
        for (let i = 0; same && i < n; i++) same = known.charCodeAt(i) === src[start + i];
        if (same) return known;
      }
    }
    let s = "";
    for (let i = start; i < at; i++) s += String.fromCharCode(src[i] as number);
    if (key && keyCache.size < MAX_KEYS) keyCache.set(hash, s);
    return s;
  }
  return utf8Decoder.decode(src.subarray(start, at));
}

function u16(): number {
  const v = ((src[at] as number) << 8) | (src[at + 1] as number);
  at += 2;
  return v;
}

function u32(): number {
  const v = ((src[at] as number) * 0x1000000) + (((src[at + 1] as number) << 16) | ((src[at + 2] as number) << 8) | (src[at + 3] as number));
  at += 4;
  return v;
}

function need(n: number): boolean {
  if (n > end - at) {
    bad = true;
    return false;
  }
  return true;
}

function view(): DataView {
  return (dv ??= new DataView(src.buffer, src.byteOffset, src.byteLength));
}

function readKey(): string {
  const b = src[at];
  if (b === undefined) {
    bad = true;
    return "";
  }
  let n: number;
  if ((b & 0xe0) === 0xa0) {
    at++;
    n = b & 0x1f;
  } else if (b === 0xd9 && need(2)) {
    n = src[at + 1] as number;
    at += 2;
  } else if (b === 0xda && need(3)) {
    at++;
    n = u16();
  } else if (b === 0xdb && need(5)) {
    at++;
    n = u32();
  } else {
    // Non-string keys: the general codec would turn them into strings, but a payload with
    // binary frames could not get there; refused alike everywhere (lastProfileError).
    profileError ??= `map key is not a string (msgpack type 0x${b.toString(16).padStart(2, "0")})`;
    bad = true;
    return "";
  }
  const key = readString(n, true);
  // As msgpackr does: a "__proto__" key must not change the object's prototype.
  return key === "__proto__" ? "__proto_" : key;
}

function readMap(n: number, depth: number): Record<string, unknown> | undefined {
  if (n * 2 > end - at || depth > MAX_DEPTH) {
    bad = true;
    return undefined;
  }
  const out: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const key = readKey();
    if (bad) return undefined;
    out[key] = read(depth + 1);
    if (bad) return undefined;
  }
  return out;
}

function readArray(n: number, depth: number): unknown[] | undefined {
  if (n > end - at || depth > MAX_DEPTH) {
    bad = true;
    return undefined;
  }
  const out = new Array<unknown>(n);
  for (let i = 0; i < n; i++) {
    out[i] = read(depth + 1);
    if (bad) return undefined;
  }
  return out;
}

function readBin(n: number): Uint8Array | undefined {
  if (!need(n)) return undefined;
  // A plain Uint8Array view of the frame (also when the frame is a Node Buffer): no copy.
  const out = new Uint8Array(src.buffer, src.byteOffset + at, n);
  at += n;
  return out;
}

function oobFail(message: string): undefined {
  bad = true;
  oobError ??= message;
  return undefined;
}

function readExt(n: number): unknown {
  if (!need(1 + n)) return undefined;
  if (src[at] !== BINARY_FRAME_EXT) {
    // Another extension type (the timestamp, -1, included): outside the payload profile.
    profileError ??= `extension type ${((src[at] as number) << 24) >> 24} is not part of the payload profile (only 1, a binary frame reference)`;
    bad = true;
    return undefined;
  }
  at++;
  if (n !== 4) return oobFail(`out-of-band binary reference has ${n} data bytes, expected 4`);
  const index = u32();
  if (index >= extCount) {
    return oobFail(`out-of-band binary reference to frame ${index}, but the message has ${extCount} binary frames`);
  }
  extUsed ??= new Uint8Array(extCount);
  if (extUsed[index] === 1) return oobFail(`binary frame ${index} is referenced twice`);
  extUsed[index] = 1;
  const frame = extFrames[extFirst + index] as Uint8Array;
  return frame.constructor === Uint8Array ? frame : new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength);
}

function read(depth: number): unknown {
  if (at >= end) {
    bad = true;
    return undefined;
  }
  const b = src[at++] as number;
  if (b < 0x80) return b;
  if (b < 0x90) return readMap(b & 0x0f, depth);
  if (b < 0xa0) return readArray(b & 0x0f, depth);
  if (b < 0xc0) return readString(b & 0x1f, false);
  if (b >= 0xe0) return b - 0x100;
  switch (b) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
      return need(1) ? readBin(src[at++] as number) : undefined;
    case 0xc5:
      return need(2) ? readBin(u16()) : undefined;
    case 0xc6:
      return need(4) ? readBin(u32()) : undefined;
    case 0xca: {
      if (!need(4)) return undefined;
      const v = view().getFloat32(at);
      at += 4;
      return v;
    }
    case 0xcb: {
      if (!need(8)) return undefined;
      const v = view().getFloat64(at);
      at += 8;
      return v;
    }
    case 0xcc:
      return need(1) ? (src[at++] as number) : undefined;
    case 0xcd:
      return need(2) ? u16() : undefined;
    case 0xce:
      return need(4) ? u32() : undefined;
    case 0xcf: {
      if (!need(8)) return undefined;
      const high = u32();
      return int64(high, u32());
    }
    case 0xd0:
      return need(1) ? ((src[at++] as number) << 24) >> 24 : undefined;
    case 0xd1:
      return need(2) ? (u16() << 16) >> 16 : undefined;
    case 0xd2:
      return need(4) ? u32() | 0 : undefined;
    case 0xd3: {
      if (!need(8)) return undefined;
      const high = u32() | 0;
      return int64(high, u32());
    }
    case 0xd9:
      return need(1) ? readString(src[at++] as number, false) : undefined;
    case 0xda:
      return need(2) ? readString(u16(), false) : undefined;
    case 0xdb:
      return need(4) ? readString(u32(), false) : undefined;
    case 0xdc:
      return need(2) ? readArray(u16(), depth) : undefined;
    case 0xdd:
      return need(4) ? readArray(u32(), depth) : undefined;
    case 0xde:
      return need(2) ? readMap(u16(), depth) : undefined;
    case 0xdf:
      return need(4) ? readMap(u32(), depth) : undefined;
    case 0xd4:
      return readExt(1);
    case 0xd5:
      return readExt(2);
    case 0xd6:
      return readExt(4);
    case 0xd7:
      return readExt(8);
    case 0xd8:
      return readExt(16);
    case 0xc7:
      return need(1) ? readExt(src[at++] as number) : undefined;
    case 0xc8:
      return need(2) ? readExt(u16()) : undefined;
    case 0xc9:
      return need(4) ? readExt(u32()) : undefined;
    default:
      // 0xc1: only the general codec knows what to do.
      bad = true;
      return undefined;
  }
}

/** Points the reader at `frame` from byte `start` to its end, with no error recorded. */
function begin(frame: Uint8Array, start: number): void {
  src = frame;
  at = start;
  end = frame.length;
  bad = false;
  dv = undefined;
  oobError = undefined;
  profileError = undefined;
}

/** Returned by {@link fastDecode} when the frame needs the general codec. */
export const NOT_DECODED: unique symbol = Symbol("not decoded");

/**
 * Decodes one msgpack value that fills `frame` exactly from byte `start` on, or returns
 * {@link NOT_DECODED} for anything unusual or malformed (the general codec then decodes it or
 * reports the error). `bin` values are views of `frame`. Out-of-band references resolve to
 * `frames[first + index]` (no copy); each of those frames must be referenced exactly once.
 *
 * @example
 * ```ts
 * fastDecode(new Uint8Array([0x81, 0xa1, 0x61, 0x01])); // { a: 1 }
 * ```
 */
export function fastDecode(frame: Uint8Array, frames?: readonly Uint8Array[], first = 0, start = 0): unknown {
  begin(frame, start);
  if (frames !== undefined) {
    extFrames = frames;
    extFirst = first;
    extCount = Math.max(0, frames.length - first);
  }
  const value = read(0);
  let ok = !bad && at === end;
  if (ok && extCount > 0) {
    for (let i = 0; i < extCount; i++) {
      if (extUsed?.[i] !== 1) {
        oobError = `binary frame ${i} is not referenced by the payload`;
        ok = false;
        break;
      }
    }
  }
  src = EMPTY;
  dv = undefined;
  if (frames !== undefined) {
    extFrames = NO_FRAMES;
    extCount = 0;
    extUsed = undefined;
  }
  return ok ? value : NOT_DECODED;
}

/**
 * Decodes the msgpack value at byte `start` of `frame`, which may be followed by more bytes (an
 * envelope header before its payload). Returns {@link NOT_DECODED} for anything outside the
 * plain profile (extension types, out-of-band references included) or malformed;
 * {@link decodedEnd} then tells where the value ended.
 *
 * @example
 * ```ts
 * fastDecodeFirst(new Uint8Array([0x01, 0x02])); // 1, and decodedEnd() === 1
 * ```
 */
export function fastDecodeFirst(frame: Uint8Array, start = 0): unknown {
  begin(frame, start);
  extCount = 0;
  const value = read(0);
  firstEnd = at;
  src = EMPTY;
  dv = undefined;
  return bad ? NOT_DECODED : value;
}

let firstEnd = 0;

/**
 * Where the value of the last {@link fastDecodeFirst} ended.
 *
 * @example
 * ```ts
 * if (fastDecodeFirst(frame) !== NOT_DECODED) console.log(decodedEnd());
 * ```
 */
export function decodedEnd(): number {
  return firstEnd;
}

/**
 * Why the last {@link fastDecode} failed, when an out-of-band reference (or an extra frame
 * nothing referred to) was the cause: such a payload is invalid, not a job for the general codec.
 *
 * @example
 * ```ts
 * if (fastDecode(frame, frames, 2) === NOT_DECODED) console.log(lastBinaryFrameError());
 * ```
 */
export function lastBinaryFrameError(): string | undefined {
  return oobError;
}

/**
 * Why the last {@link fastDecode} or {@link fastDecodeFirst} met a value outside the RPC payload
 * profile (docs/rpc-wire.md §2): a map key that is not a string, or an extension type other than
 * 1. RPC payloads with either are bad envelopes; other users may hand them to the general codec.
 *
 * @example
 * ```ts
 * if (fastDecode(new Uint8Array([0x81, 0x01, 0x02])) === NOT_DECODED) console.log(lastProfileError());
 * ```
 */
export function lastProfileError(): string | undefined {
  return profileError;
}

const EMPTY: Uint8Array = new Uint8Array(0);
const NO_FRAMES: readonly Uint8Array[] = [];

/**
 * A 64-bit integer from its halves (`high` signed for int64, unsigned for uint64): a number
 * when it is exact as one (|value| <= 2^53, like msgpackr's `int64AsType: "auto"`), else a
 * bigint, so that a value is never silently rounded (a number or integer schema then refuses it).
 */
function int64(high: number, low: number): number | bigint {
  if (high >= -0x200000 && high < 0x200000) return high * 0x100000000 + low;
  return BigInt(high) * BigInt(0x100000000) + BigInt(low);
}

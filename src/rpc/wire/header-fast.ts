/**
 * Byte-level fast paths for the headers of the hot path: every call has a call header, and
 * most replies are a result header with no fields. Frames are produced and recognised
 * exactly as the general codec would write them (same key order, smallest integer forms);
 * anything else returns undefined and goes through the general decoder.
 */

/**
 * Version of the RPC envelope carried in every header. Version 2 puts the header and the
 * payload in one content frame; version 1 (header and payload in frames of their own) is gone.
 *
 * @example
 * ```ts
 * decodeValue(encodeHeader({ kind: "result" })); // { version: ENVELOPE_VERSION, kind: "result" }
 * ```
 */
export const ENVELOPE_VERSION = 2;

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));
const fixstr = (s: string): number[] => [0xa0 | s.length, ...ascii(s)];

// 84 {"version": 2, "kind": "call", "timeout": <uint>, "deadline": <uint>}
const CALL_PREFIX = new Uint8Array([0x84, ...fixstr("version"), ENVELOPE_VERSION, ...fixstr("kind"), ...fixstr("call"), ...fixstr("timeout")]);
const DEADLINE_KEY = new Uint8Array(fixstr("deadline"));

/** Bytes of a header map with only version and kind, by kind. */
export function fieldlessHeader(kind: string): Uint8Array {
  return new Uint8Array([0x82, ...fixstr("version"), ENVELOPE_VERSION, ...fixstr("kind"), ...fixstr(kind)]);
}

const FIELDLESS = (["result", "progress", "error", "cancel"] as const).map((kind) => ({
  bytes: new Uint8Array(fixstr(kind)),
  header: Object.freeze({ kind }) as FastHeader,
}));
// What every recognised header has after its map byte: "version" 2 "kind", then the kind string.
const COMMON = new Uint8Array([...fixstr("version"), ENVELOPE_VERSION, ...fixstr("kind")]);
const KIND_AT = 1 + COMMON.length;

function writeUint(out: Uint8Array, pos: number, value: number): number {
  if (value < 0x80) {
    out[pos] = value;
    return pos + 1;
  }
  if (value < 0x100) {
    out[pos] = 0xcc;
    out[pos + 1] = value;
    return pos + 2;
  }
  if (value < 0x10000) {
    out[pos] = 0xcd;
    out[pos + 1] = value >>> 8;
    out[pos + 2] = value & 0xff;
    return pos + 3;
  }
  if (value < 0x100000000) {
    out[pos] = 0xce;
    out[pos + 1] = value >>> 24;
    out[pos + 2] = (value >>> 16) & 0xff;
    out[pos + 3] = (value >>> 8) & 0xff;
    out[pos + 4] = value & 0xff;
    return pos + 5;
  }
  const high = Math.floor(value / 0x100000000);
  out[pos] = 0xcf;
  out[pos + 1] = high >>> 24;
  out[pos + 2] = (high >>> 16) & 0xff;
  out[pos + 3] = (high >>> 8) & 0xff;
  out[pos + 4] = high & 0xff;
  const low = value >>> 0;
  out[pos + 5] = low >>> 24;
  out[pos + 6] = (low >>> 16) & 0xff;
  out[pos + 7] = (low >>> 8) & 0xff;
  out[pos + 8] = low & 0xff;
  return pos + 9;
}

// Position after the last number read.
let after = 0;

/** Reads an unsigned integer at `pos` (any msgpack uint form); -1 if there is none. */
function readUint(frame: Uint8Array, pos: number): number {
  const b = frame[pos];
  if (b === undefined) return -1;
  if (b < 0x80) {
    after = pos + 1;
    return b;
  }
  const size = b === 0xcc ? 1 : b === 0xcd ? 2 : b === 0xce ? 4 : b === 0xcf ? 8 : 0;
  if (size === 0 || pos + 1 + size > frame.length) return -1;
  let value = 0;
  for (let i = 1; i <= size; i++) value = value * 256 + (frame[pos + i] as number);
  after = pos + 1 + size;
  return Number.isSafeInteger(value) ? value : -1;
}

function startsWith(frame: Uint8Array, pos: number, bytes: Uint8Array): boolean {
  if (pos + bytes.length > frame.length) return false;
  for (let i = 0; i < bytes.length; i++) if (frame[pos + i] !== bytes[i]) return false;
  return true;
}

/**
 * The call header `{version, kind: "call", timeout, deadline}` (no meta).
 *
 * @example
 * ```ts
 * const frame = encodeCallHeader(30_000, Date.now() + 30_000);
 * ```
 */
export function encodeCallHeader(timeout: number, deadline: number): Uint8Array {
  return callScratch.slice(0, writeCallHeader(callScratch, timeout, deadline));
}

/** The most bytes a call header without meta takes. */
export const CALL_HEADER_MAX = CALL_PREFIX.length + 9 + DEADLINE_KEY.length + 9;
const callScratch = new Uint8Array(CALL_HEADER_MAX);

/**
 * {@link encodeCallHeader} into `out` (at least {@link CALL_HEADER_MAX} bytes, e.g. a buffer
 * reused for every call); returns the header's length.
 *
 * @example
 * ```ts
 * const scratch = new Uint8Array(CALL_HEADER_MAX);
 * const header = scratch.subarray(0, writeCallHeader(scratch, 30_000, Date.now() + 30_000));
 * ```
 */
export function writeCallHeader(out: Uint8Array, timeout: number, deadline: number): number {
  for (let i = 0; i < CALL_PREFIX.length; i++) out[i] = CALL_PREFIX[i] as number;
  let pos = writeUint(out, CALL_PREFIX.length, timeout);
  for (let i = 0; i < DEADLINE_KEY.length; i++) out[pos + i] = DEADLINE_KEY[i] as number;
  pos = writeUint(out, pos + DEADLINE_KEY.length, deadline);
  return pos;
}

/** A header recognised by the fast path. */
export type FastHeader =
  | { kind: "call"; timeout: number; deadline: number }
  | { kind: "progress" | "result" | "error" | "cancel" };

/**
 * Recognises the common headers byte for byte at the start of `frame` (the payload may follow
 * them); undefined for anything else. {@link fastHeaderEnd} then tells where the header ended.
 *
 * @example
 * ```ts
 * fastDecodeHeader(encodeCallHeader(10, 20)); // { kind: "call", timeout: 10, deadline: 20 }
 * ```
 */
export function fastDecodeHeader(frame: Uint8Array): FastHeader | undefined {
  const map = frame[0];
  if (map === 0x84) {
    // One comparison over the whole constant part, then the two numbers.
    if (!startsWith(frame, 0, CALL_PREFIX)) return undefined;
    const timeout = readUint(frame, CALL_PREFIX.length);
    if (timeout < 0 || !startsWith(frame, after, DEADLINE_KEY)) return undefined;
    const deadline = readUint(frame, after + DEADLINE_KEY.length);
    if (deadline < 0) return undefined;
    return { kind: "call", timeout, deadline };
  }
  if (map !== 0x82 || !startsWith(frame, 1, COMMON)) return undefined;
  for (let k = 0; k < FIELDLESS.length; k++) {
    const entry = FIELDLESS[k] as (typeof FIELDLESS)[number];
    if (startsWith(frame, KIND_AT, entry.bytes)) {
      after = KIND_AT + entry.bytes.length;
      return entry.header;
    }
  }
  return undefined;
}

/**
 * Where the header recognised by the last successful {@link fastDecodeHeader} ended.
 *
 * @example
 * ```ts
 * if (fastDecodeHeader(frame)) console.log(frame.subarray(fastHeaderEnd())); // the payload
 * ```
 */
export function fastHeaderEnd(): number {
  return after;
}

import { Buffer } from "node:buffer";
import { Packr } from "msgpackr";
import { RpcProtocolError } from "../errors.ts";
import type { SchemaCodec } from "./schema-codec.ts";
import { fastDecode, lastBinaryFrameError, lastProfileError, NOT_DECODED } from "./msgpack-read.ts";
import { fastEncode, fastEncodeFrames } from "./msgpack-write.ts";

// Plain, language-neutral msgpack: no records/structures extension, no msgpackr-only types,
// maps decoded as plain objects, binary decoded as views of the input (copyBuffers: false),
// and `undefined` (optional fields left unset) omitted from maps instead of msgpackr's fixext.
const packr = new Packr({
  useRecords: false,
  moreTypes: false,
  structuredClone: false,
  mapsAsObjects: true,
  variableMapSize: true,
  copyBuffers: false,
  encodeUndefinedAsNil: true,
  skipValues: [undefined],
  // int64/uint64 beyond 2^53 as bigint, never a rounded number (msgpack-read.ts does the same).
  int64AsType: "auto",
  bundleStrings: false,
} as unknown as ConstructorParameters<typeof Packr>[0]);

const NO_BYTES = new Uint8Array(0);

/** Values at least this big (estimated) are packed into a buffer of their own. */
const LARGE = 64 * 1024;
const MAX_DEPTH = 64;

/**
 * An upper bound of the msgpack size of `value`, or Infinity for anything unusual (class
 * instances, very deep nesting), which then takes msgpackr's ordinary path.
 */
function sizeBound(value: unknown, depth: number): number {
  switch (typeof value) {
    case "string":
      return 5 + 3 * value.length;
    case "number":
    case "bigint":
      return 9;
    case "boolean":
    case "undefined":
      return 1;
    case "object": {
      if (value === null) return 1;
      if (depth > MAX_DEPTH) return Infinity;
      if (value instanceof Uint8Array) return 5 + value.byteLength;
      let size = 5;
      if (Array.isArray(value)) {
        for (const item of value) size += sizeBound(item, depth + 1);
        return size;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return Infinity;
      for (const key in value) size += 5 + 3 * key.length + sizeBound((value as Record<string, unknown>)[key], depth + 1);
      return size;
    }
    default:
      return Infinity;
  }
}

/**
 * Encodes a value as msgpack. `Uint8Array` values become `bin` (copied once, into the frame).
 * `prefix` bytes (an envelope header) come first in the same buffer.
 * The result is a fresh view that later encodes never overwrite. Plain values (objects,
 * arrays, strings, numbers, booleans, null, bytes) take the direct writer of
 * msgpack-write.ts, which writes the same bytes as msgpackr at a fraction of its per-call
 * cost; anything else goes to msgpackr. Large values (images, audio) end up in an exactly
 * sized buffer either way: msgpackr's own growth policy would allocate up to four times the size.
 *
 * @example
 * ```ts
 * const frame = encodeValue({ prompt: "hi", image: new Uint8Array([1, 2]) });
 * ```
 */
export function encodeValue(value: unknown, prefix?: Uint8Array): Uint8Array {
  const fast = fastEncode(value, allocateUnzeroed, prefix);
  if (fast !== undefined) return fast;
  return prefixed(prefix, packGeneral(value));
}

/** `prefix` then `packed`, in one new buffer (only values the fast path gives up on come here). */
function prefixed(prefix: Uint8Array | undefined, packed: Uint8Array): Uint8Array {
  if (prefix === undefined || prefix.length === 0) return packed;
  const out = allocateUnzeroed(prefix.length + packed.length);
  out.set(prefix, 0);
  out.set(packed, prefix.length);
  return out;
}

/**
 * The default {@link encodePayload} threshold: Uint8Arrays of 64 KiB or more travel as frames of their own.
 *
 * @example
 * ```ts
 * await connect(endpoint, { qwen3vl }, { binaryFrameThreshold: DEFAULT_BINARY_FRAME_THRESHOLD * 4 });
 * ```
 */
export const DEFAULT_BINARY_FRAME_THRESHOLD = 64 * 1024;

/**
 * Normalises a `binaryFrameThreshold` option: undefined is the default, 0, negative, NaN or
 * Infinity mean "never" (Infinity).
 *
 * @example
 * ```ts
 * binaryFrameThreshold(0); // Infinity
 * ```
 */
export function binaryFrameThreshold(option: number | undefined): number {
  if (option === undefined) return DEFAULT_BINARY_FRAME_THRESHOLD;
  return option > 0 && Number.isFinite(option) ? option : Infinity;
}

/**
 * Encodes an RPC payload as the content frames of an envelope message:
 * `[header + payload, ...binaryFrames]` (docs/rpc-wire.md). `header` is the encoded envelope
 * header (see `encodeHeader`; none gives the bare payload). Every Uint8Array of at least
 * `threshold` bytes (in a plain value; see msgpack-write.ts) is not copied into the payload but
 * passed, by reference, as an extra frame that the payload refers to (docs/rpc-wire.md, 2.1).
 * With `threshold` Infinity the result is `[encodeValue(value, header)]`. `codec`, compiled from
 * the value's schema, is tried first; the bytes are the same either way.
 *
 * @example
 * ```ts
 * const [first, image] = encodePayload({ prompt: "hi", image: new Uint8Array(1 << 20) }, 65536, encodeHeader({ kind: "result" }));
 * ```
 */
export function encodePayload(value: unknown, threshold: number, header?: Uint8Array, codec?: SchemaCodec): Uint8Array[] {
  if (codec !== undefined) {
    const frame = codec.encode(value, header ?? NO_BYTES, threshold);
    if (frame !== undefined) return [frame];
  }
  if (threshold === Infinity) return [encodeValue(value, header)];
  return fastEncodeFrames(value, threshold, allocateUnzeroed, header) ?? [prefixed(header, packGeneral(value))];
}

/**
 * Decodes the payload of an envelope message: the msgpack value from byte `offset` of
 * `frames[0]` (where the header ended) to its end; the frames after the first are its
 * out-of-band binary frames, each of which must be referenced exactly once. Throws
 * {@link RpcProtocolError} on a missing payload, malformed msgpack, bad references, map keys
 * that are not strings and extension types other than 1 (the payload profile).
 * `codec`, compiled from the payload's schema, is tried first; the value is the same either way.
 *
 * @example
 * ```ts
 * const header = decodeFrames(delivery.content);
 * const input = decodePayload(delivery.content, payloadOffset(), "input");
 * ```
 */
export function decodePayload(frames: readonly Uint8Array[], offset: number, what = "payload", codec?: SchemaCodec): unknown {
  const frame = frames[0];
  if (frame === undefined || offset >= frame.byteLength) throw new RpcProtocolError(`no ${what} after the header`);
  if (codec !== undefined && frames.length === 1) {
    const compiled = codec.decode(frame, offset);
    if (compiled !== NOT_DECODED) return compiled;
  }
  const fast = fastDecode(frame, frames, 1, offset);
  if (fast !== NOT_DECODED) return fast;
  // The same rules with and without binary frames: the general codec below would read some of
  // these (integer keys as strings, the timestamp as a Date) but never in a payload with frames.
  const reason = lastBinaryFrameError() ?? lastProfileError();
  if (reason !== undefined) throw new RpcProtocolError(`${what}: ${reason}`);
  // The general codec knows nothing of out-of-band references: such payloads must be plain msgpack.
  if (frames.length > 1) throw new RpcProtocolError(`${what}: malformed or unsupported msgpack in a payload with binary frames`);
  return unpackGeneral(frame, offset, what);
}

/**
 * Payload bytes of an envelope message (what payload limits count): the first frame from
 * `offset` (after the header) plus every binary frame.
 *
 * @example
 * ```ts
 * const header = encodeHeader({ kind: "result" });
 * payloadBytes(encodePayload(output, 65536, header), header.length); // payload + binary frames
 * ```
 */
export function payloadBytes(frames: readonly Uint8Array[], offset = 0): number {
  let n = -offset;
  for (let i = 0; i < frames.length; i++) n += (frames[i] as Uint8Array).byteLength;
  return Math.max(0, n);
}

function packGeneral(value: unknown): Uint8Array {
  const bound = sizeBound(value, 0);
  let packed: Uint8Array;
  if (bound >= LARGE && bound !== Infinity) {
    // Buffers, not plain Uint8Arrays: where a global Buffer exists msgpackr writes strings with
    // `target.utf8Write`, which a plain Uint8Array lacks.
    packr.useBuffer(Buffer.allocUnsafeSlow(bound + 16));
    packed = packr.pack(value);
    // msgpackr keeps writing after its last output: hand it a small buffer of its own again,
    // so later small values neither land in this frame's memory nor copy its size.
    packr.useBuffer(Buffer.allocUnsafeSlow(8192));
  } else {
    packed = packr.pack(value);
  }
  // A plain Uint8Array view (Node hands back a Buffer) so every runtime sees the same type.
  return new Uint8Array(packed.buffer, packed.byteOffset, packed.byteLength);
}

/**
 * msgpackr alone, without the fast path: the reference the fast path must match byte for byte
 * (tests compare the two), and the encoder of values the fast path gives up on.
 *
 * @example
 * ```ts
 * generalEncode({ a: 1 }); // same bytes as encodeValue({ a: 1 })
 * ```
 */
export function generalEncode(value: unknown): Uint8Array {
  const packed = packr.pack(value);
  return new Uint8Array(packed.buffer, packed.byteOffset, packed.byteLength).slice();
}

/**
 * msgpackr's decoding of a frame, without the fast path (see {@link generalEncode}).
 *
 * @example
 * ```ts
 * generalDecode(new Uint8Array([0x81, 0xa1, 0x61, 0x01])); // { a: 1 }
 * ```
 */
export function generalDecode(frame: Uint8Array): unknown {
  return packr.unpack(frame.constructor === Uint8Array ? frame : new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength));
}

/** Output frames are overwritten entirely, so Node need not zero them first. */
function allocateUnzeroed(n: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(n);
  return new Uint8Array(b.buffer, b.byteOffset, n);
}

/**
 * Decodes one msgpack value filling the whole frame. `bin` values are views into `frame`
 * (no copy). Throws {@link RpcProtocolError} on malformed or trailing bytes.
 *
 * @example
 * ```ts
 * const value = decodeValue(encodeValue([1, "a"])); // [1, "a"]
 * ```
 */
export function decodeValue(frame: Uint8Array, what = "payload"): unknown {
  if (frame.byteLength === 0) throw new RpcProtocolError(`empty ${what} frame`);
  const fast = fastDecode(frame);
  if (fast !== NOT_DECODED) return fast;
  const reason = lastBinaryFrameError();
  if (reason !== undefined) throw new RpcProtocolError(`${what}: ${reason}`);
  return unpackGeneral(frame, 0, what);
}

/** msgpackr's decoding of `frame` from byte `start`, for values the fast path gave up on. */
function unpackGeneral(frame: Uint8Array, start: number, what: string): unknown {
  const view = new Uint8Array(frame.buffer, frame.byteOffset + start, frame.byteLength - start);
  try {
    // Throws on truncated data and on bytes left after the value.
    return packr.unpack(view) as unknown;
  } catch (cause) {
    throw new RpcProtocolError(`malformed msgpack in ${what}`, { cause });
  }
}

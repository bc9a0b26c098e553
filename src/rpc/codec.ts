import { Packr } from "msgpackr";
import { RpcProtocolError } from "./errors.ts";

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
  int64AsType: "number",
  bundleStrings: false,
} as ConstructorParameters<typeof Packr>[0]);

/**
 * Encodes a value as msgpack. `Uint8Array` values become `bin` (copied once, into the frame).
 * The result is a fresh view that later encodes never overwrite.
 *
 * @example
 * ```ts
 * const frame = encodeValue({ prompt: "hi", image: new Uint8Array([1, 2]) });
 * ```
 */
export function encodeValue(value: unknown): Uint8Array {
  const packed = packr.pack(value);
  // A plain Uint8Array view (Node hands back a Buffer) so every runtime sees the same type.
  return new Uint8Array(packed.buffer, packed.byteOffset, packed.byteLength);
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
  const view = frame.constructor === Uint8Array ? frame : new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength);
  if (view.byteLength === 0) throw new RpcProtocolError(`empty ${what} frame`);
  try {
    // Throws on truncated data and on bytes left after the value.
    return packr.unpack(view) as unknown;
  } catch (cause) {
    throw new RpcProtocolError(`malformed msgpack in ${what} frame`, { cause });
  }
}

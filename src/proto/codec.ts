import { DecodeErrorCode, EncodeErrorCode, MlmDecodeError, MlmEncodeError } from "./errors.ts";
import type { DecodeErrorCodeValue } from "./errors.ts";
import { SPECS_BY_ID, specOf } from "./schema.ts";
import type { MessageSpec } from "./schema.ts";
import type { MlmMessage } from "./types.ts";
import { LONE_SURROGATE, readUtf8, utf8Length, writeUtf8 } from "./utf8.ts";
import { smallBytes } from "../util/small-bytes.ts";

/**
 * Largest UTF-8 byte length of an MLM header string (1-byte length prefix).
 *
 * @example
 * ```ts
 * import { MAX_STRING_BYTES } from "./mod.ts";
 * const fits = new TextEncoder().encode(subject).length <= MAX_STRING_BYTES;
 * ```
 */
export const MAX_STRING_BYTES = 255;

const SIGNATURE_0 = 0xaa;
const SIGNATURE_1 = 0xa8;
const MAX_NUMBER2 = 0xffff;
const MAX_NUMBER4 = 0xffffffff;

/**
 * Outcome of {@link decode}: the message, or why the frames are not one.
 *
 * @example
 * ```ts
 * import { decode } from "./mod.ts";
 * import type { DecodeResult } from "./mod.ts";
 * const r: DecodeResult = decode(frames);
 * if (r.ok) handle(r.message); else malformed.add(r.error.code);
 * ```
 */
export type DecodeResult = { ok: true; message: MlmMessage } | { ok: false; error: MlmDecodeError };

/**
 * Options of {@link decode}.
 *
 * @example
 * ```ts
 * import { decode } from "./mod.ts";
 * decode([Uint8Array.of(0xaa, 0xa8, 0x02, 0xff)], { trailingBytes: "reject" }); // ok: false, MLM_TRAILING_BYTES
 * ```
 */
export interface DecodeOptions {
  /**
   * What to do with bytes after the last header field. `"ignore"` (default) accepts
   * them, as the C codec does; `"reject"` fails with `MLM_TRAILING_BYTES`.
   */
  trailingBytes?: "ignore" | "reject";
}

// Encode is not re-entrant, so one scratch array of per-field byte lengths saves an
// allocation per call. No message has more than 4 header fields.
const scratchLengths = new Int32Array(8);
// Same for decoded field values: `build` copies them into the message before returning.
const scratchValues: Array<string | number> = [0, 0, 0, 0, 0, 0, 0, 0];
// Handed to builders of content-less types, which ignore it.
const NO_CONTENT: Uint8Array[] = [];

/**
 * Encodes a message into its ZMQ frames: the header frame (`AA A8`, id, fields) followed
 * by the message's content frames, which are the caller's own `Uint8Array`s (not copied).
 *
 * Throws {@link MlmEncodeError} when a string needs more than 255 UTF-8 bytes or holds a
 * lone surrogate, a number is outside its wire range, content is not `Uint8Array[]`, or the
 * type is unknown. Nothing is ever truncated.
 *
 * @example
 * ```ts
 * import { encode } from "./mod.ts";
 * const frames = encode({
 *   type: "MAILBOX_SEND", address: "bob", subject: "hello", tracker: "", timeout: 0,
 *   content: [new TextEncoder().encode("hi bob")],
 * });
 * // frames[0] = aa a8 09 03 "bob" 05 "hello" 00 00000000; frames[1] is the content array itself
 * ```
 */
export function encode(message: MlmMessage): Uint8Array[] {
  const spec = specOf(message.type);
  if (spec === undefined) {
    throw new MlmEncodeError(EncodeErrorCode.UNKNOWN_TYPE, "type", `unknown MLM message type ${String(message.type)}`);
  }
  const record = message as unknown as Record<string, unknown>;
  const fields = spec.fields;

  let size = 3;
  for (let f = 0; f < fields.length; f++) {
    const field = fields[f]!;
    const value = record[field.name];
    if (field.kind === "string") {
      const len = stringLength(spec, field.name, value);
      scratchLengths[f] = len;
      size += 1 + len;
    } else {
      checkNumber(spec, field.name, value, field.kind === "number2" ? MAX_NUMBER2 : MAX_NUMBER4);
      size += field.kind === "number2" ? 2 : 4;
    }
  }
  const content = spec.content ? checkContent(spec, record.content) : undefined;

  const header = smallBytes(size);
  header[0] = SIGNATURE_0;
  header[1] = SIGNATURE_1;
  header[2] = spec.id;
  let pos = 3;
  for (let f = 0; f < fields.length; f++) {
    const field = fields[f]!;
    const value = record[field.name];
    if (field.kind === "string") {
      const len = scratchLengths[f]!;
      header[pos++] = len;
      writeUtf8(header, pos, value as string, len);
      pos += len;
    } else if (field.kind === "number2") {
      const n = value as number;
      header[pos++] = n >>> 8;
      header[pos++] = n & 0xff;
    } else {
      const n = value as number;
      header[pos++] = n >>> 24;
      header[pos++] = (n >>> 16) & 0xff;
      header[pos++] = (n >>> 8) & 0xff;
      header[pos++] = n & 0xff;
    }
  }

  if (content === undefined) return [header];
  const frames = new Array<Uint8Array>(content.length + 1);
  frames[0] = header;
  for (let i = 0; i < content.length; i++) frames[i + 1] = content[i]!;
  return frames;
}

function stringLength(spec: MessageSpec, name: string, value: unknown): number {
  if (typeof value !== "string") {
    throw new MlmEncodeError(EncodeErrorCode.BAD_STRING, name, `${spec.type}.${name} must be a string, got ${typeof value}`);
  }
  const len = utf8Length(value, MAX_STRING_BYTES);
  if (len === LONE_SURROGATE) {
    throw new MlmEncodeError(EncodeErrorCode.BAD_STRING, name, `${spec.type}.${name} contains a lone UTF-16 surrogate`);
  }
  if (len > MAX_STRING_BYTES) {
    throw new MlmEncodeError(
      EncodeErrorCode.STRING_TOO_LONG,
      name,
      `${spec.type}.${name} is longer than ${MAX_STRING_BYTES} UTF-8 bytes (MLM strings have a 1-byte length)`,
    );
  }
  return len;
}

function checkNumber(spec: MessageSpec, name: string, value: unknown, max: number): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > max) {
    throw new MlmEncodeError(
      EncodeErrorCode.NUMBER_OUT_OF_RANGE,
      name,
      `${spec.type}.${name} must be an integer in 0..${max}, got ${String(value)}`,
    );
  }
}

function checkContent(spec: MessageSpec, value: unknown): Uint8Array[] {
  if (!Array.isArray(value)) {
    throw new MlmEncodeError(EncodeErrorCode.BAD_CONTENT, "content", `${spec.type}.content must be an array of Uint8Array`);
  }
  for (let i = 0; i < value.length; i++) {
    if (!(value[i] instanceof Uint8Array)) {
      throw new MlmEncodeError(EncodeErrorCode.BAD_CONTENT, "content", `${spec.type}.content[${i}] is not a Uint8Array`);
    }
  }
  return value as Uint8Array[];
}

/**
 * Decodes one ZMQ message (its frames, without any routing-id frame) into an MLM message.
 *
 * Never throws and never reads outside a frame: every failure comes back as
 * `{ ok: false, error }` with a stable {@link DecodeErrorCode}. Content frames are
 * returned as the very same `Uint8Array` objects (not copied). Bytes after the last
 * header field are ignored unless `options.trailingBytes` is `"reject"`. Strings must
 * be well-formed UTF-8.
 *
 * @example
 * ```ts
 * import { decode } from "./mod.ts";
 * const r = decode([Uint8Array.of(0xaa, 0xa8, 0x10, 0x03, 0xe8)]);
 * if (r.ok && r.message.type === "CREDIT") console.log(r.message.amount); // 1000
 * else if (!r.ok) console.log(r.error.code);
 * ```
 */
export function decode(frames: readonly Uint8Array[], options?: DecodeOptions): DecodeResult {
  if (!Array.isArray(frames) || frames.length === 0) {
    return fail(DecodeErrorCode.TRUNCATED, "signature", "no header frame: the frame list is empty");
  }
  const h = frames[0];
  if (!(h instanceof Uint8Array)) {
    return fail(DecodeErrorCode.TRUNCATED, "signature", "header frame is not a byte array");
  }
  const end = h.length;
  if (end < 2) {
    return fail(DecodeErrorCode.TRUNCATED, "signature", `field signature needs 2 bytes, header frame has ${end}`);
  }
  if (h[0] !== SIGNATURE_0 || h[1] !== SIGNATURE_1) {
    return fail(DecodeErrorCode.BAD_SIGNATURE, "signature", `signature is ${hex2(h[0]!, h[1]!)}, expected aaa8`);
  }
  if (end < 3) {
    return fail(DecodeErrorCode.TRUNCATED, "id", "field id is missing: header frame ends after the signature");
  }
  const id = h[2]!;
  const spec = SPECS_BY_ID[id];
  if (spec === undefined) {
    return fail(DecodeErrorCode.UNKNOWN_MESSAGE_ID, "id", `unknown message id ${id}`, id);
  }

  const values = scratchValues;
  const fields = spec.fields;
  let pos = 3;
  for (let f = 0; f < fields.length; f++) {
    const field = fields[f]!;
    let value: string | number;
    if (field.kind === "string") {
      if (pos >= end) return truncated(spec, field.name, "its length byte", pos, end);
      const len = h[pos]!;
      if (pos + 1 + len > end) return truncated(spec, field.name, `${len} bytes after its length byte`, pos + 1, end);
      const s = readUtf8(h, pos + 1, len);
      if (s === undefined) {
        return fail(DecodeErrorCode.BAD_UTF8, field.name, `${spec.type}.${field.name} is not well-formed UTF-8`, id);
      }
      value = s;
      pos += 1 + len;
    } else if (field.kind === "number2") {
      if (pos + 2 > end) return truncated(spec, field.name, "2 bytes", pos, end);
      value = (h[pos]! << 8) | h[pos + 1]!;
      pos += 2;
    } else {
      if (pos + 4 > end) return truncated(spec, field.name, "4 bytes", pos, end);
      value = ((h[pos]! << 24) | (h[pos + 1]! << 16) | (h[pos + 2]! << 8) | h[pos + 3]!) >>> 0;
      pos += 4;
    }
    if (field.expect !== undefined && value !== field.expect.value) {
      return fail(
        field.expect.code,
        field.name,
        `${spec.type}.${field.name} is ${JSON.stringify(value)}, expected ${JSON.stringify(field.expect.value)}`,
        id,
      );
    }
    values[f] = value;
  }

  if (pos < end && options?.trailingBytes === "reject") {
    return fail(DecodeErrorCode.TRAILING_BYTES, "header", `${end - pos} bytes follow the last field of ${spec.type}`, id);
  }
  if (!spec.content && frames.length > 1) {
    return fail(
      DecodeErrorCode.SURPLUS_FRAMES,
      "content",
      `${spec.type} carries no content but arrived with ${frames.length - 1} extra frame(s)`,
      id,
    );
  }
  return { ok: true, message: spec.build(values, spec.content ? frames.slice(1) : NO_CONTENT) };
}

function fail(code: DecodeErrorCodeValue, field: string, reason: string, id?: number): DecodeResult {
  return { ok: false, error: new MlmDecodeError(code, field, reason, id) };
}

function truncated(spec: MessageSpec, field: string, needs: string, pos: number, end: number): DecodeResult {
  return fail(
    DecodeErrorCode.TRUNCATED,
    field,
    `${spec.type}.${field} runs past the end of the header frame: needs ${needs} at offset ${pos}, frame has ${end} bytes`,
    spec.id,
  );
}

function hex2(a: number, b: number): string {
  return ((a << 8) | b).toString(16).padStart(4, "0");
}

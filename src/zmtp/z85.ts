/**
 * Z85 (ZMTP RFC 32): the printable encoding of CURVE keys, 5 characters per 4 bytes.
 *
 * @example
 * ```ts
 * import { decodeZ85, encodeZ85 } from "./z85.ts";
 * encodeZ85(new Uint8Array([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b])); // "HelloWorld"
 * decodeZ85("HelloWorld").length; // 8
 * ```
 * @module
 */
import { Z85Error } from "./errors.ts";

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/** Character code → digit value, or -1 outside the alphabet. */
const DIGITS: Int8Array = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) t[ALPHABET.charCodeAt(i)] = i;
  return t;
})();

/**
 * Encode bytes as Z85. The length must be a multiple of 4 (a CURVE key's 32 bytes give 40 characters).
 *
 * @throws Z85Error `Z85_BAD_LENGTH` otherwise.
 * @example
 * ```ts
 * const text = encodeZ85(publicKey); // 40 characters
 * ```
 */
export function encodeZ85(bytes: Uint8Array): string {
  if (bytes.length % 4 !== 0) {
    throw new Z85Error("Z85_BAD_LENGTH", `Z85 encodes multiples of 4 bytes, not ${bytes.length}`);
  }
  let out = "";
  for (let i = 0; i < bytes.length; i += 4) {
    let value = (((bytes[i] as number) << 24) | ((bytes[i + 1] as number) << 16) | ((bytes[i + 2] as number) << 8) |
      (bytes[i + 3] as number)) >>> 0;
    let group = "";
    for (let d = 0; d < 5; d++) {
      group = ALPHABET[value % 85] + group;
      value = Math.floor(value / 85);
    }
    out += group;
  }
  return out;
}

/**
 * Decode Z85 text. The length must be a multiple of 5.
 *
 * @throws Z85Error `Z85_BAD_LENGTH`, `Z85_BAD_CHARACTER` or `Z85_OVERFLOW` (a group above 2^32 - 1).
 * @example
 * ```ts
 * const key = decodeZ85("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"); // 32 bytes
 * ```
 */
export function decodeZ85(text: string): Uint8Array {
  if (text.length % 5 !== 0) {
    throw new Z85Error("Z85_BAD_LENGTH", `Z85 text must be a multiple of 5 characters, not ${text.length}`);
  }
  const out = new Uint8Array((text.length / 5) * 4);
  for (let i = 0, o = 0; i < text.length; i += 5, o += 4) {
    let value = 0;
    for (let d = 0; d < 5; d++) {
      const c = text.charCodeAt(i + d);
      const digit = c < 128 ? (DIGITS[c] as number) : -1;
      if (digit < 0) {
        throw new Z85Error("Z85_BAD_CHARACTER", `character ${JSON.stringify(text[i + d])} at ${i + d} is not Z85`);
      }
      value = value * 85 + digit;
    }
    if (value > 0xffffffff) throw new Z85Error("Z85_OVERFLOW", `Z85 group at ${i} exceeds 32 bits`);
    out[o] = value >>> 24;
    out[o + 1] = (value >>> 16) & 255;
    out[o + 2] = (value >>> 8) & 255;
    out[o + 3] = value & 255;
  }
  return out;
}

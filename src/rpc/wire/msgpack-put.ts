/**
 * The msgpack forms of numbers and strings, written into a caller's buffer: shared by the
 * general writer (msgpack-write.ts) and the encoders compiled from schemas (schema-codec.ts),
 * so both write the same bytes (the ones msgpackr writes).
 */

const utf8Encoder = new TextEncoder();
const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Writes `v` big-endian as 4 bytes at `p`.
 *
 * @example
 * ```ts
 * putU32(out, 1, 70_000);
 * ```
 */
export function putU32(out: Uint8Array, p: number, v: number): void {
  out[p] = v >>> 24;
  out[p + 1] = (v >>> 16) & 0xff;
  out[p + 2] = (v >>> 8) & 0xff;
  out[p + 3] = v & 0xff;
}

/**
 * Writes `v` at `p` in its smallest integer form (float64 for fractions, NaN and integers
 * beyond 32 bits); 9 bytes must be free. Returns the position after it.
 *
 * @example
 * ```ts
 * const end = putNumber(out, 0, 300); // cd 01 2c, end === 3
 * ```
 */
export function putNumber(out: Uint8Array, p: number, v: number): number {
  if (v >>> 0 === v) {
    if (v < 0x80) out[p++] = v;
    else if (v < 0x100) {
      out[p++] = 0xcc;
      out[p++] = v;
    } else if (v < 0x10000) {
      out[p++] = 0xcd;
      out[p++] = v >>> 8;
      out[p++] = v & 0xff;
    } else {
      out[p++] = 0xce;
      putU32(out, p, v);
      p += 4;
    }
  } else if (v >> 0 === v) {
    if (v >= -0x20) out[p++] = 0x100 + v;
    else if (v >= -0x80) {
      out[p++] = 0xd0;
      out[p++] = v + 0x100;
    } else if (v >= -0x8000) {
      out[p++] = 0xd1;
      out[p++] = (v >> 8) & 0xff;
      out[p++] = v & 0xff;
    } else {
      out[p++] = 0xd2;
      putU32(out, p, v >>> 0);
      p += 4;
    }
  } else {
    out[p++] = 0xcb;
    f64[0] = v;
    if (littleEndian) for (let i = 7; i >= 0; i--) out[p++] = f64Bytes[i] as number;
    else for (let i = 0; i < 8; i++) out[p++] = f64Bytes[i] as number;
  }
  return p;
}

/**
 * Writes `s` as a msgpack str (UTF-8; lone surrogates become U+FFFD, as in msgpackr) at `p`;
 * 5 + 3 × `s.length` bytes must be free. Returns the position after it.
 *
 * @example
 * ```ts
 * const end = putString(out, 0, "hi"); // a2 68 69, end === 3
 * ```
 */
export function putString(out: Uint8Array, p: number, s: string): number {
  const n = s.length;
  if (n < 32) {
    let q = p + 1;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      out[q++] = c;
    }
    if (i === n) {
      out[p] = 0xa0 | n;
      return q;
    }
  }
  const written = utf8Encoder.encodeInto(s, out.subarray(p + 5, p + 5 + 3 * n)).written;
  const header = written < 32 ? 1 : written < 0x100 ? 2 : written < 0x10000 ? 3 : 5;
  if (header < 5) out.copyWithin(p + header, p + 5, p + 5 + written);
  if (header === 1) out[p] = 0xa0 | written;
  else if (header === 2) {
    out[p] = 0xd9;
    out[p + 1] = written;
  } else if (header === 3) {
    out[p] = 0xda;
    out[p + 1] = written >>> 8;
    out[p + 2] = written & 0xff;
  } else {
    out[p] = 0xdb;
    putU32(out, p + 1, written);
  }
  return p + header + written;
}

/**
 * Writes the header of a map (`fix` 0x80, `b16` 0xde, `b32` 0xdf) or array (0x90, 0xdc, 0xdd)
 * of `n` entries at `p`; 5 bytes must be free. Returns the position after it.
 *
 * @example
 * ```ts
 * const end = putLength(out, 0, 2, 0x80, 0xde, 0xdf); // 82, end === 1
 * ```
 */
export function putLength(out: Uint8Array, p: number, n: number, fix: number, b16: number, b32: number): number {
  if (n < 16) out[p++] = fix | n;
  else if (n < 0x10000) {
    out[p++] = b16;
    out[p++] = n >>> 8;
    out[p++] = n & 0xff;
  } else {
    out[p++] = b32;
    putU32(out, p, n);
    p += 4;
  }
  return p;
}

/**
 * Writes the header of a `bin` of `n` bytes at `p` (the bytes follow it); 5 bytes must be
 * free. Returns the position after it.
 *
 * @example
 * ```ts
 * const end = putBinHeader(out, 0, 300); // c5 01 2c, end === 3
 * ```
 */
export function putBinHeader(out: Uint8Array, p: number, n: number): number {
  if (n < 0x100) {
    out[p++] = 0xc4;
    out[p++] = n;
  } else if (n < 0x10000) {
    out[p++] = 0xc5;
    out[p++] = n >>> 8;
    out[p++] = n & 0xff;
  } else {
    out[p++] = 0xc6;
    putU32(out, p, n);
    p += 4;
  }
  return p;
}

/**
 * UTF-8 helpers for MLM header strings (at most 255 bytes), tuned for the common
 * all-ASCII case: addresses, subjects and trackers are nearly always ASCII, and for
 * such short strings a plain loop beats the TextEncoder/TextDecoder call overhead.
 */

const encoder = new TextEncoder();
// fatal: a string that does not decode exactly would re-encode to different bytes.
// ignoreBOM: a leading U+FEFF is content, not a marker to strip.
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
// For bytes already known to be ASCII, where any decoder is exact.
const asciiDecoder = new TextDecoder();

// Building an ASCII string char by char is the cheapest way up to a length that depends on
// the engine: V8 starts making rope strings at 13 characters, and its fromCharCode.apply is
// then faster; on JavaScriptCore apply costs ~140 ns at any length, and TextDecoder wins
// beyond ~24 bytes (measured: Node 38/101 ns, Bun 26/138 ns for 5 bytes by loop/apply).
const IS_BUN = "Bun" in globalThis;
const CONCAT_MAX = IS_BUN ? 24 : 8;

/**
 * Returned by {@link utf8Length} for a string holding a lone surrogate.
 *
 * @example
 * ```ts
 * utf8Length("\ud800", 255) === LONE_SURROGATE; // true
 * ```
 */
export const LONE_SURROGATE = -1;

/**
 * UTF-8 byte length of `s`, or {@link LONE_SURROGATE}. Stops counting once the
 * length exceeds `limit` (and returns a value above it), so huge strings cost little.
 * A result equal to `s.length` means the string is pure ASCII.
 *
 * @example
 * ```ts
 * utf8Length("héllo", 255); // 6
 * ```
 */
export function utf8Length(s: string, limit: number): number {
  const n = s.length;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      bytes += 1;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c > 0xdbff || next < 0xdc00 || next > 0xdfff) return LONE_SURROGATE;
      bytes += 2; // 4 bytes for the pair, 2 already counted as code units
      i++;
    } else {
      bytes += 2;
    }
    if (bytes > limit) return bytes;
  }
  return bytes;
}

/**
 * Writes `s` (whose UTF-8 length `byteLength` came from {@link utf8Length}) at `pos`.
 *
 * @example
 * ```ts
 * const buf = new Uint8Array(5);
 * writeUtf8(buf, 0, "hello", 5);
 * ```
 */
export function writeUtf8(buf: Uint8Array, pos: number, s: string, byteLength: number): void {
  if (byteLength === s.length) {
    for (let i = 0; i < byteLength; i++) buf[pos + i] = s.charCodeAt(i);
  } else {
    encoder.encodeInto(s, buf.subarray(pos, pos + byteLength));
  }
}

/**
 * Reads `len` bytes at `pos` as strict UTF-8; `undefined` if they are not well-formed.
 * Never throws.
 *
 * @example
 * ```ts
 * readUtf8(new Uint8Array([0x68, 0x69]), 0, 2); // "hi"
 * ```
 */
export function readUtf8(buf: Uint8Array, pos: number, len: number): string | undefined {
  if (len === 0) return "";
  let any = 0;
  for (let i = 0; i < len; i++) any |= buf[pos + i]!;
  if (any < 0x80) {
    if (len <= CONCAT_MAX) {
      let s = "";
      for (let i = 0; i < len; i++) s += String.fromCharCode(buf[pos + i]!);
      return s;
    }
    if (IS_BUN) return asciiDecoder.decode(buf.subarray(pos, pos + len));
    // Header strings are at most 255 bytes, well under any argument-count limit, and a
    // plain array beats both per-char concatenation and TextDecoder (notably on Deno).
    const codes = new Array<number>(len);
    for (let i = 0; i < len; i++) codes[i] = buf[pos + i]!;
    return String.fromCharCode.apply(null, codes);
  }
  try {
    return strictDecoder.decode(buf.subarray(pos, pos + len));
  } catch {
    return undefined;
  }
}

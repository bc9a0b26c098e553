/**
 * Names of files in a data directory: `queues/<index>.seg` and `streams/<stream>/<first seq>.seg`,
 * numbers zero-padded to 20 digits so that names sort in log order.
 */

/** `00000000000000000042.seg` for 42. @example segmentFileName(42); */
export function segmentFileName(n: number): string {
  return `${String(n).padStart(20, "0")}.seg`;
}

/** The number of a segment file name, or undefined for another file. @example segmentNumber("00000000000000000042.seg"); // 42 */
export function segmentNumber(name: string): number | undefined {
  const m = /^(\d{1,20})\.seg$/.exec(name);
  if (m === null) return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}

const SAFE = /[a-z0-9._-]/;
const MAX_DIR_NAME = 120;

/**
 * A directory name for a stream: lowercase letters, digits, `.`, `_` and `-` kept, everything
 * else (uppercase included, for case-insensitive file systems) as `%XX` of its UTF-8 bytes; a
 * name that would be longer than 120 characters is cut and suffixed with a hash. Segment headers
 * hold the real name, so the directory name is only a (unique in practice) label.
 *
 * @example
 * ```ts
 * streamDirName("Weather/EU"); // "%57eather%2f%45%55"
 * ```
 */
export function streamDirName(stream: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(stream)) {
    const c = String.fromCharCode(byte);
    out += byte < 0x80 && SAFE.test(c) ? c : `%${byte.toString(16).padStart(2, "0")}`;
  }
  if (out === "" || out === "." || out === "..") out = `%${out}`;
  if (out.length > MAX_DIR_NAME) out = `${out.slice(0, 80)}~${fnv1a64(stream)}`;
  return out;
}

/** FNV-1a, 64 bits, of the UTF-16 code units of `s`, as 16 hex digits. */
function fnv1a64(s: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < s.length; i++) {
    h ^= BigInt(s.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, "0");
}

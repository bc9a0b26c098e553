// Patterns match UTF-8 bytes, the way the C broker sees a subject. A string subject is encoded
// into a reused scratch buffer rather than through TextEncoder.encode, which would allocate a
// new array on every stream message.

/** Subjects up to this many UTF-16 units × 3 reuse the scratch buffer; longer ones get their own. */
const SCRATCH_MAX_BYTES = 1 << 16;

/**
 * Encodes string subjects to UTF-8 (lone surrogates become U+FFFD, as with `TextEncoder`),
 * stopping at the first NUL because the C broker treats a subject as a C string.
 *
 * @example
 * ```ts
 * const enc = new SubjectEncoder();
 * const len = enc.encode("café\0ignored"); // 5
 * enc.buf.subarray(0, len); // 63 61 66 c3 a9
 * ```
 */
export class SubjectEncoder {
  /** Holds the bytes of the last `encode` call in `[0, len)`; reused between calls. */
  buf: Uint8Array = new Uint8Array(256);

  /**
   * Encodes `s` into `buf` and returns the number of bytes before the first NUL.
   *
   * @example
   * ```ts
   * new SubjectEncoder().encode("a\0b"); // 1
   * ```
   */
  encode(s: string): number {
    const need = s.length * 3;
    if (need > this.buf.length) {
      if (need > SCRATCH_MAX_BYTES) this.buf = new Uint8Array(need);
      else {
        let size = this.buf.length;
        while (size < need) size *= 2;
        this.buf = new Uint8Array(size);
      }
    }
    const buf = this.buf;
    let n = 0;
    const units = s.length;
    for (let i = 0; i < units; i++) {
      let c = s.charCodeAt(i);
      if (c < 0x80) {
        if (c === 0) break;
        buf[n++] = c;
      } else if (c < 0x800) {
        buf[n++] = 0xc0 | (c >>> 6);
        buf[n++] = 0x80 | (c & 0x3f);
      } else {
        if (c >= 0xd800 && c <= 0xdfff) {
          const lo = i + 1 < units ? s.charCodeAt(i + 1) : 0;
          if (c <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff) {
            const cp = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
            buf[n++] = 0xf0 | (cp >>> 18);
            buf[n++] = 0x80 | ((cp >>> 12) & 0x3f);
            buf[n++] = 0x80 | ((cp >>> 6) & 0x3f);
            buf[n++] = 0x80 | (cp & 0x3f);
            i++;
            continue;
          }
          c = 0xfffd;
        }
        buf[n++] = 0xe0 | (c >>> 12);
        buf[n++] = 0x80 | ((c >>> 6) & 0x3f);
        buf[n++] = 0x80 | (c & 0x3f);
      }
    }
    return n;
  }

  /** Drops a scratch buffer that grew past its cap for one huge subject. */
  release(): void {
    if (this.buf.length > SCRATCH_MAX_BYTES) this.buf = new Uint8Array(256);
  }
}

/**
 * Length of a byte subject up to (not including) its first NUL.
 *
 * @example
 * ```ts
 * cStringLength(new Uint8Array([0x61, 0x00, 0x62])); // 1
 * ```
 */
export function cStringLength(bytes: Uint8Array): number {
  const nul = bytes.indexOf(0);
  return nul < 0 ? bytes.length : nul;
}

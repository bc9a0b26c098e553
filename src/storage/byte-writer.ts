/**
 * A growable byte buffer that records are encoded into, little-endian. Strings are UTF-8 with
 * an ASCII fast path (addresses, subjects and trackers are nearly always ASCII).
 */

const encoder = new TextEncoder();

/**
 * Appends numbers, strings and bytes to a buffer that grows by doubling.
 *
 * @example
 * ```ts
 * const w = new ByteWriter(64);
 * w.u32(7); w.str("hello");
 * const bytes = w.bytes.subarray(0, w.length);
 * ```
 */
export class ByteWriter {
  bytes: Uint8Array;
  view: DataView;
  length = 0;

  constructor(capacity = 4096) {
    this.bytes = new Uint8Array(capacity);
    this.view = new DataView(this.bytes.buffer);
  }

  /** Room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.length + n;
    if (need <= this.bytes.byteLength) return;
    let size = this.bytes.byteLength * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.ensure(1);
    this.bytes[this.length++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.length, v, true);
    this.length += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }

  f64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.length, v, true);
    this.length += 8;
  }

  raw(b: Uint8Array): void {
    this.ensure(b.byteLength);
    this.bytes.set(b, this.length);
    this.length += b.byteLength;
  }

  /**
   * A u16 byte length and the UTF-8 bytes of `s`. Returns false (writing nothing) when the
   * encoding is longer than 65535 bytes.
   */
  str(s: string): boolean {
    const n = s.length;
    this.ensure(2 + n * 3);
    const at = this.length + 2;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      this.bytes[at + i] = c;
    }
    let size = i;
    if (i < n) size = i + encoder.encodeInto(s.slice(i), this.bytes.subarray(at + i)).written;
    if (size > 0xffff) return false;
    this.view.setUint16(this.length, size, true);
    this.length = at + size;
    return true;
  }

  /** Forget the content; a buffer grown past `keep` bytes is replaced by a small one. */
  reset(keep = 1 << 20): void {
    this.length = 0;
    if (this.bytes.byteLength > keep) {
      this.bytes = new Uint8Array(4096);
      this.view = new DataView(this.bytes.buffer);
    }
  }
}

/** UTF-8 byte length of `s` (lone surrogates count as the 3 bytes of U+FFFD, as encoders write). */
export function utf8Size(s: string): number {
  let size = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) size += 1;
    else if (c < 0x800) size += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      size += 4;
      i++;
    } else size += 3;
  }
  return size;
}

const decoder = new TextDecoder();

/** The string of UTF-8 `bytes[start, end)`, without a decoder call for short ASCII. */
export function readUtf8(bytes: Uint8Array, start: number, end: number): string {
  if (end - start > 16) return decoder.decode(bytes.subarray(start, end));
  let s = "";
  for (let i = start; i < end; i++) {
    const c = bytes[i] as number;
    if (c >= 0x80) return decoder.decode(bytes.subarray(start, end));
    s += String.fromCharCode(c);
  }
  return s;
}

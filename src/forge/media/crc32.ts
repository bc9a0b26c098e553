/**
 * CRC-32 (ISO-HDLC, the polynomial PNG and zlib use), table-driven.
 * Kept here rather than taken from `node:zlib` because `zlib.crc32` is missing on Node 20.0–20.14.
 */

const TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * CRC-32 of `bytes`, continuing from `crc` (pass a previous result to checksum data in pieces).
 *
 * @example
 * ```ts
 * import { crc32 } from "malamute/forge";
 * crc32(new TextEncoder().encode("123456789")); // 0xcbf43926
 * ```
 */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

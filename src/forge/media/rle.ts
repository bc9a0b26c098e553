/**
 * A run-length encoded binary mask (row-major, runs alternate 0s and 1s, starting with 0s).
 *
 * @example
 * ```ts
 * const rle: Rle = encodeRle(mask, width, height);
 * ```
 */
export interface Rle {
  width: number;
  height: number;
  counts: number[];
}

/**
 * Run-length encodes a binary mask (`0` = off, anything else = on), row-major.
 *
 * @example
 * ```ts
 * import { encodeRle } from "malamute/forge";
 * encodeRle(Uint8Array.of(1, 1, 0, 0, 1, 0), 3, 2).counts; // [0, 2, 2, 1, 1]
 * ```
 */
export function encodeRle(mask: Uint8Array, width: number, height: number): Rle {
  const n = width * height;
  const counts: number[] = [];
  let value = 0, run = 0;
  for (let i = 0; i < n; i++) {
    const v = mask[i] ? 1 : 0;
    if (v === value) run++;
    else {
      counts.push(run);
      value = v;
      run = 1;
    }
  }
  counts.push(run);
  return { width, height, counts };
}

/**
 * Expands an RLE mask back to one byte per pixel (0 or 1). Throws `RangeError` when the runs
 * do not add up to `width * height`.
 *
 * @example
 * ```ts
 * import { decodeRle } from "malamute/forge";
 * decodeRle({ width: 3, height: 1, counts: [1, 2] }); // Uint8Array [0, 1, 1]
 * ```
 */
export function decodeRle(rle: Rle): Uint8Array {
  const n = rle.width * rle.height;
  const out = new Uint8Array(n);
  let o = 0, value = 0;
  for (const c of rle.counts) {
    if (!Number.isInteger(c) || c < 0 || o + c > n) throw new RangeError("RLE runs exceed the mask size");
    if (value) out.fill(1, o, o + c);
    o += c;
    value ^= 1;
  }
  if (o !== n) throw new RangeError(`RLE runs cover ${o} of ${n} pixels`);
  return out;
}

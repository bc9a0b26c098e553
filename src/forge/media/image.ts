/**
 * An 8-bit RGBA raster, row-major, no padding: pixel (x, y) starts at `(y * width + x) * 4`.
 * Every Forge image codec and demo backend speaks this one in-memory form.
 *
 * @example
 * ```ts
 * const img: RgbaImage = { width: 2, height: 1, data: Uint8Array.of(255, 0, 0, 255, 0, 0, 255, 255) };
 * ```
 */
export interface RgbaImage {
  width: number;
  height: number;
  /** `width * height * 4` bytes: R, G, B, A. */
  data: Uint8Array;
}

/**
 * A blank (transparent black) RGBA image.
 *
 * @example
 * ```ts
 * import { createImage } from "malamute/forge";
 * const img = createImage(64, 32);
 * img.data.length; // 8192
 * ```
 */
export function createImage(width: number, height: number): RgbaImage {
  return { width, height, data: new Uint8Array(width * height * 4) };
}

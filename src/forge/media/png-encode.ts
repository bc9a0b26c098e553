import { deflateSync } from "node:zlib";
import { crc32 } from "./crc32.ts";
import type { RgbaImage } from "./image.ts";
import { concat } from "../bytes.ts";

/**
 * The eight bytes every PNG file starts with.
 *
 * @example
 * ```ts
 * const looksLikePng = PNG_SIGNATURE.every((b, i) => bytes[i] === b);
 * ```
 */
export const PNG_SIGNATURE: Uint8Array = Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10);

/**
 * Options of {@link encodePng}.
 *
 * @example
 * ```ts
 * encodePng(img, { level: 6, text: { Description: "a test card" } });
 * ```
 */
export interface PngEncodeOptions {
  /** Drop the alpha channel (colour type 2) when every pixel is opaque. Default true. */
  dropOpaqueAlpha?: boolean;
  /** zlib level 0–9. Default 9. */
  level?: number;
  /** UTF-8 text entries written as iTXt chunks (e.g. `{ Description: prompt }`). */
  text?: Record<string, string>;
}

/**
 * Encodes an RGBA image as a PNG (8-bit, non-interlaced, per-row adaptive filtering).
 *
 * @example
 * ```ts
 * import { createImage, encodePng } from "malamute/forge";
 * const img = createImage(2, 2);
 * img.data.fill(255);
 * const png = encodePng(img, { text: { Software: "malamute" } });
 * ```
 */
export function encodePng(image: RgbaImage, options: PngEncodeOptions = {}): Uint8Array {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`PNG dimensions must be positive integers, got ${width}x${height}`);
  }
  if (data.length !== width * height * 4) throw new RangeError("RGBA data length does not match dimensions");
  const opaque = (options.dropOpaqueAlpha ?? true) && isOpaque(data);
  const channels = opaque ? 3 : 4;

  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = opaque ? 2 : 6; // truecolour / truecolour with alpha
  // bytes 10..12: compression 0, filter method 0, no interlace

  const idat = compressPixels(image, channels, options.level ?? 9);

  const chunks: Uint8Array[] = [PNG_SIGNATURE, chunk("IHDR", ihdr)];
  for (const [keyword, value] of Object.entries(options.text ?? {})) chunks.push(chunk("iTXt", itxt(keyword, value)));
  chunks.push(chunk("IDAT", idat), chunk("IEND", new Uint8Array(0)));
  return concat(chunks);
}

/** Filters and deflates an image's pixels as 8-bit RGB (3) or RGBA (4): the body of IDAT/fdAT. */
export function compressPixels(image: RgbaImage, channels: 3 | 4, level = 9): Uint8Array {
  return new Uint8Array(deflateSync(filterRows(image.data, image.width, image.height, channels), { level }));
}

/** Whether every pixel's alpha is 255. */
export function isOpaque(data: Uint8Array): boolean {
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 255) return false;
  return true;
}

/** One chunk: length, type, data, CRC over type+data. */
export function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

function itxt(keyword: string, value: string): Uint8Array {
  // Keywords are 1–79 Latin-1 printable characters; anything else is replaced, not rejected,
  // because the text is decoration and must never stop an image from being written.
  const key = keyword.replace(/[^\x20-\x7e]/g, "_").slice(0, 79) || "Comment";
  const enc = new TextEncoder();
  // keyword \0, compression flag 0, method 0, language tag "" \0, translated keyword "" \0, text
  return concat([enc.encode(key), Uint8Array.of(0, 0, 0, 0, 0), enc.encode(value)]);
}

/**
 * Filters every scanline with the filter that minimises the sum of absolute residuals, the
 * heuristic the PNG specification recommends for truecolour images.
 */
function filterRows(data: Uint8Array, width: number, height: number, channels: 3 | 4): Uint8Array {
  const stride = width * channels;
  const out = new Uint8Array(height * (stride + 1));
  let prev = new Uint8Array(stride);
  let cur = new Uint8Array(stride);
  const candidates = Array.from({ length: 5 }, () => new Uint8Array(stride));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = (y * width + x) * 4;
      const d = x * channels;
      cur[d] = data[s]!;
      cur[d + 1] = data[s + 1]!;
      cur[d + 2] = data[s + 2]!;
      if (channels === 4) cur[d + 3] = data[s + 3]!;
    }
    let best = 0;
    let bestScore = Infinity;
    for (let f = 0; f < 5; f++) {
      const line = candidates[f]!;
      let score = 0;
      for (let i = 0; i < stride; i++) {
        const a = i >= channels ? cur[i - channels]! : 0;
        const b = prev[i]!;
        const c = i >= channels ? prev[i - channels]! : 0;
        const v = cur[i]!;
        let r: number;
        switch (f) {
          case 0: r = v; break;
          case 1: r = v - a; break;
          case 2: r = v - b; break;
          case 3: r = v - ((a + b) >> 1); break;
          default: r = v - paeth(a, b, c);
        }
        r &= 0xff;
        line[i] = r;
        score += r < 128 ? r : 256 - r;
      }
      if (score < bestScore) {
        bestScore = score;
        best = f;
      }
    }
    const o = y * (stride + 1);
    out[o] = best;
    out.set(candidates[best]!, o + 1);
    [prev, cur] = [cur, prev];
  }
  return out;
}

/** The Paeth predictor of the PNG specification. */
export function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

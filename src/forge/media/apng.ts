import { concat } from "../bytes.ts";
import { ForgeCode, ForgeError } from "../errors.ts";
import type { RgbaImage } from "./image.ts";
import { decodeImageData, parseHeader, readPngChunks, type PngColorInfo, type PngDecodeLimits } from "./png-decode.ts";
import { chunk, compressPixels, isOpaque, PNG_SIGNATURE } from "./png-encode.ts";

/**
 * The frames of an animated PNG, composited to full size.
 *
 * @example
 * ```ts
 * const { frames, delays } = decodeApng(bytes);
 * ```
 */
export interface DecodedAnimation {
  width: number;
  height: number;
  frames: RgbaImage[];
  /** How long each frame shows, seconds. */
  delays: number[];
}

/**
 * Limits while decoding an animation.
 *
 * @example
 * ```ts
 * const anim = decodeApng(bytes, { maxFrames: 500, maxPixels: 4_000_000 });
 * ```
 */
export interface AnimationLimits extends PngDecodeLimits {
  /** Most frames accepted. Default 2000. */
  maxFrames?: number;
}

function bad(message: string): ForgeError {
  return new ForgeError(ForgeCode.InvalidArgument, `invalid APNG: ${message}`);
}

/**
 * Decodes an animated PNG (APNG) into full-size RGBA frames, applying each frame's offset,
 * dispose and blend operations. A plain PNG decodes as a one-frame animation.
 *
 * @example
 * ```ts
 * import { decodeApng } from "malamute/forge";
 * const { frames, delays } = decodeApng(apngBytes);
 * ```
 */
export function decodeApng(bytes: Uint8Array, limits: AnimationLimits = {}): DecodedAnimation {
  const chunks = readPngChunks(bytes);
  const first = chunks[0];
  if (!first || first.type !== "IHDR") throw bad("first chunk is not IHDR");
  const header = parseHeader(first.data, limits);
  const maxFrames = limits.maxFrames ?? 2000;
  const color: PngColorInfo = {};
  let animated = false;
  type Pending = { w: number; h: number; x: number; y: number; delay: number; dispose: number; blend: number; data: Uint8Array[] };
  const pending: Pending[] = [];
  let current: Pending | undefined;
  const idat: Uint8Array[] = [];
  for (const c of chunks) {
    if (!c.crcOk) throw bad(`CRC mismatch in ${c.type} chunk`);
    const v = new DataView(c.data.buffer, c.data.byteOffset, c.data.byteLength);
    switch (c.type) {
      case "PLTE": color.palette = c.data; break;
      case "tRNS": color.trns = c.data; break;
      case "acTL":
        if (c.data.length !== 8) throw bad("acTL must be 8 bytes");
        animated = true;
        if (v.getUint32(0) > maxFrames) throw bad(`more than ${maxFrames} frames`);
        break;
      case "fcTL": {
        if (c.data.length !== 26) throw bad("fcTL must be 26 bytes");
        const den = v.getUint16(22) || 100; // a zero denominator means 1/100 s
        current = {
          w: v.getUint32(4), h: v.getUint32(8), x: v.getUint32(12), y: v.getUint32(16),
          delay: v.getUint16(20) / den, dispose: c.data[24]!, blend: c.data[25]!, data: [],
        };
        if (current.w < 1 || current.h < 1 || current.x + current.w > header.width || current.y + current.h > header.height) {
          throw bad("frame region lies outside the canvas");
        }
        if (pending.length >= maxFrames) throw bad(`more than ${maxFrames} frames`);
        pending.push(current);
        break;
      }
      case "IDAT":
        idat.push(c.data);
        current?.data.push(c.data);
        break;
      case "fdAT":
        if (!current) throw bad("fdAT before fcTL");
        current.data.push(c.data.subarray(4));
        break;
    }
  }
  if (!animated || pending.length === 0) {
    const image = decodeImageData(header, concat(idat), color);
    return { width: header.width, height: header.height, frames: [{ width: header.width, height: header.height, data: image }], delays: [0] };
  }
  const canvas = new Uint8Array(header.width * header.height * 4);
  const frames: RgbaImage[] = [];
  const delays: number[] = [];
  for (const f of pending) {
    if (f.data.length === 0) throw bad("frame without image data");
    const pixels = decodeImageData({ ...header, width: f.w, height: f.h }, concat(f.data), color);
    const before = f.dispose === 2 ? canvas.slice() : undefined;
    for (let y = 0; y < f.h; y++) {
      for (let x = 0; x < f.w; x++) {
        const s = (y * f.w + x) * 4, d = ((f.y + y) * header.width + f.x + x) * 4;
        const a = pixels[s + 3]! / 255;
        if (f.blend === 0 || a === 1) {
          canvas.set(pixels.subarray(s, s + 4), d);
        } else if (a > 0) {
          const da = canvas[d + 3]! / 255, oa = a + da * (1 - a);
          for (let k = 0; k < 3; k++) canvas[d + k] = Math.round((pixels[s + k]! * a + canvas[d + k]! * da * (1 - a)) / oa);
          canvas[d + 3] = Math.round(oa * 255);
        }
      }
    }
    frames.push({ width: header.width, height: header.height, data: canvas.slice() });
    delays.push(f.delay);
    if (f.dispose === 1) {
      for (let y = 0; y < f.h; y++) canvas.fill(0, ((f.y + y) * header.width + f.x) * 4, ((f.y + y) * header.width + f.x + f.w) * 4);
    } else if (before) canvas.set(before);
  }
  return { width: header.width, height: header.height, frames, delays };
}

/**
 * Encodes same-size RGBA frames as an animated PNG that loops forever, every frame shown for
 * `1 / fps` seconds. Viewers without APNG support show the first frame.
 *
 * @example
 * ```ts
 * import { encodeApng, createImage } from "malamute/forge";
 * const frames = [createImage(32, 32), createImage(32, 32)];
 * const apng = encodeApng(frames, 10);
 * ```
 */
export function encodeApng(frames: RgbaImage[], fps: number): Uint8Array {
  const firstFrame = frames[0];
  if (!firstFrame) throw new RangeError("an animation needs at least one frame");
  const { width, height } = firstFrame;
  for (const f of frames) if (f.width !== width || f.height !== height) throw new RangeError("all frames must have the same size");
  const channels = frames.every((f) => isOpaque(f.data)) ? 3 : 4;
  const ihdr = new Uint8Array(13);
  const hv = new DataView(ihdr.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  ihdr[8] = 8;
  ihdr[9] = channels === 3 ? 2 : 6;
  const actl = new Uint8Array(8);
  new DataView(actl.buffer).setUint32(0, frames.length); // num_plays 0 = loop forever
  const parts: Uint8Array[] = [PNG_SIGNATURE, chunk("IHDR", ihdr), chunk("acTL", actl)];
  // Delay as a fraction with denominator 1000 (ms), rounded; fcTL stores 16-bit values.
  const delayMs = Math.max(1, Math.min(65_535, Math.round(1000 / fps)));
  let seq = 0;
  frames.forEach((frame, i) => {
    const fctl = new Uint8Array(26);
    const v = new DataView(fctl.buffer);
    v.setUint32(0, seq++);
    v.setUint32(4, width);
    v.setUint32(8, height);
    v.setUint16(20, delayMs);
    v.setUint16(22, 1000);
    parts.push(chunk("fcTL", fctl));
    const data = compressPixels(frame, channels);
    if (i === 0) parts.push(chunk("IDAT", data));
    else {
      const body = new Uint8Array(4 + data.length);
      new DataView(body.buffer).setUint32(0, seq++);
      body.set(data, 4);
      parts.push(chunk("fdAT", body));
    }
  });
  parts.push(chunk("IEND", new Uint8Array(0)));
  return concat(parts);
}

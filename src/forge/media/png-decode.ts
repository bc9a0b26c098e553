import { inflateSync } from "node:zlib";
import { crc32 } from "./crc32.ts";
import type { RgbaImage } from "./image.ts";
import { PNG_SIGNATURE, paeth } from "./png-encode.ts";
import { concat } from "../bytes.ts";
import { ForgeCode, ForgeError } from "../errors.ts";

/**
 * One raw chunk of a PNG file.
 *
 * @example
 * ```ts
 * const bad = readPngChunks(bytes).filter((c) => !c.crcOk).map((c) => c.type);
 * ```
 */
export interface PngChunk {
  type: string;
  data: Uint8Array;
  /** CRC stored in the file. */
  crc: number;
  /** Whether the stored CRC matches the one computed over type and data. */
  crcOk: boolean;
}

/**
 * Header fields of a PNG (its IHDR chunk).
 *
 * @example
 * ```ts
 * const { bitDepth, colorType, interlace } = decodePng(bytes).header;
 * ```
 */
export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlace: number;
}

/**
 * A decoded PNG: the RGBA raster plus what the file said about itself.
 *
 * @example
 * ```ts
 * const { width, height, data, text } = decodePng(bytes);
 * ```
 */
export interface DecodedPng extends RgbaImage {
  header: PngHeader;
  /** tEXt / iTXt entries (uncompressed ones). */
  text: Record<string, string>;
}

/**
 * Limits applied while decoding untrusted PNGs.
 *
 * @example
 * ```ts
 * decodePng(bytes, { maxPixels: 16_000_000 });
 * ```
 */
export interface PngDecodeLimits {
  /** Largest accepted `width * height`. Default 40 000 000. */
  maxPixels?: number;
}

const DEFAULT_MAX_PIXELS = 40_000_000;

function bad(message: string, details?: Record<string, unknown>): ForgeError {
  return new ForgeError(ForgeCode.InvalidArgument, `invalid PNG: ${message}`, details ? { details } : undefined);
}

/**
 * Splits a PNG file into its chunks, checking the signature and every chunk's length. CRCs are
 * reported (`crcOk`), not enforced, so callers can inspect a damaged file.
 *
 * @example
 * ```ts
 * import { readPngChunks } from "malamute/forge";
 * for (const c of readPngChunks(png)) console.log(c.type, c.data.length, c.crcOk);
 * ```
 */
export function readPngChunks(bytes: Uint8Array): PngChunk[] {
  if (!isPng(bytes)) throw bad("missing PNG signature");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunks: PngChunk[] = [];
  let o = 8;
  while (o < bytes.length) {
    if (o + 12 > bytes.length) throw bad("truncated chunk header", { offset: o });
    const length = view.getUint32(o);
    if (length > 0x7fffffff || o + 12 + length > bytes.length) throw bad("chunk runs past the end of the file", { offset: o });
    const typeBytes = bytes.subarray(o + 4, o + 8);
    const type = String.fromCharCode(...typeBytes);
    if (!/^[A-Za-z]{4}$/.test(type)) throw bad("chunk type is not four letters", { offset: o });
    const data = bytes.subarray(o + 8, o + 8 + length);
    const crc = view.getUint32(o + 8 + length);
    chunks.push({ type, data, crc, crcOk: crc32(bytes.subarray(o + 4, o + 8 + length)) === crc });
    o += 12 + length;
    if (type === "IEND") break;
  }
  return chunks;
}

/**
 * Whether `bytes` starts with the PNG signature.
 *
 * @example
 * ```ts
 * import { isPng } from "malamute/forge";
 * isPng(new Uint8Array(4)); // false
 * ```
 */
export function isPng(bytes: Uint8Array): boolean {
  if (bytes.length < 8) return false;
  for (let i = 0; i < 8; i++) if (bytes[i] !== PNG_SIGNATURE[i]) return false;
  return true;
}

/** Parses and validates an IHDR chunk body. */
export function parseHeader(data: Uint8Array, limits: PngDecodeLimits = {}): PngHeader {
  if (data.length !== 13) throw bad("IHDR must be 13 bytes");
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const header: PngHeader = {
    width: view.getUint32(0),
    height: view.getUint32(4),
    bitDepth: data[8]!,
    colorType: data[9]!,
    interlace: data[12]!,
  };
  const allowed: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
  if (!allowed[header.colorType]?.includes(header.bitDepth)) {
    throw bad("unsupported colour type / bit depth", { colorType: header.colorType, bitDepth: header.bitDepth });
  }
  if (data[10] !== 0 || data[11] !== 0 || header.interlace > 1) throw bad("unknown compression, filter or interlace method");
  if (header.width < 1 || header.height < 1) throw bad("zero width or height");
  const maxPixels = limits.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (header.width * header.height > maxPixels) {
    throw bad(`image has more than ${maxPixels} pixels`, { width: header.width, height: header.height });
  }
  return header;
}

/** Palette and transparency information needed to expand samples to RGBA. */
export interface PngColorInfo {
  palette?: Uint8Array;
  trns?: Uint8Array;
}

/**
 * Decodes a PNG file (every standard colour type and bit depth, Adam7 included) to RGBA.
 * Rejects bad CRCs, truncated data and oversized images with `INVALID_ARGUMENT`.
 *
 * @example
 * ```ts
 * import { decodePng } from "malamute/forge";
 * const { width, height, data } = decodePng(pngBytes);
 * ```
 */
export function decodePng(bytes: Uint8Array, limits: PngDecodeLimits = {}): DecodedPng {
  const chunks = readPngChunks(bytes);
  const first = chunks[0];
  if (!first || first.type !== "IHDR") throw bad("first chunk is not IHDR");
  const header = parseHeader(first.data, limits);
  const color: PngColorInfo = {};
  const idat: Uint8Array[] = [];
  const text: Record<string, string> = {};
  let ended = false;
  for (const c of chunks) {
    if (!c.crcOk) throw bad(`CRC mismatch in ${c.type} chunk`);
    switch (c.type) {
      case "PLTE": color.palette = c.data; break;
      case "tRNS": color.trns = c.data; break;
      case "IDAT": idat.push(c.data); break;
      case "tEXt": readText(c.data, false, text); break;
      case "iTXt": readText(c.data, true, text); break;
      case "IEND": ended = true; break;
    }
  }
  if (!ended) throw bad("missing IEND chunk");
  if (idat.length === 0) throw bad("no IDAT chunk");
  if (header.colorType === 3 && !color.palette) throw bad("palette image without PLTE");
  const pixels = decodeImageData(header, concat(idat), color);
  return { width: header.width, height: header.height, data: pixels, header, text };
}

const LATIN1 = new TextDecoder("latin1");

function readText(data: Uint8Array, international: boolean, into: Record<string, string>): void {
  const nul = data.indexOf(0);
  if (nul < 1) return;
  const key = LATIN1.decode(data.subarray(0, nul));
  if (!international) {
    into[key] = LATIN1.decode(data.subarray(nul + 1));
    return;
  }
  if (data[nul + 1] !== 0) return; // compressed iTXt: decoration only, skipped
  let o = nul + 3;
  const lang = data.indexOf(0, o);
  if (lang < 0) return;
  const translated = data.indexOf(0, lang + 1);
  if (translated < 0) return;
  o = translated + 1;
  into[key] = new TextDecoder().decode(data.subarray(o));
}

/** Bytes in one scanline of `width` pixels (without the filter byte). */
function rowBytes(header: PngHeader, width: number): number {
  return Math.ceil((width * samplesPerPixel(header.colorType) * header.bitDepth) / 8);
}

function samplesPerPixel(colorType: number): number {
  return colorType === 2 ? 3 : colorType === 4 ? 2 : colorType === 6 ? 4 : 1;
}

/**
 * Inflates and unfilters zlib image data for `header`, expanding it to RGBA. Also used for
 * APNG frames, which share the format but not the dimensions of the IHDR.
 */
export function decodeImageData(header: PngHeader, zdata: Uint8Array, color: PngColorInfo): Uint8Array {
  const passes = header.interlace === 1
    ? ADAM7.map(([x0, y0, dx, dy]) => ({
      x0, y0, dx, dy,
      w: Math.ceil((header.width - x0) / dx),
      h: Math.ceil((header.height - y0) / dy),
    }))
    : [{ x0: 0, y0: 0, dx: 1, dy: 1, w: header.width, h: header.height }];
  let expected = 0;
  for (const p of passes) if (p.w > 0 && p.h > 0) expected += p.h * (rowBytes(header, p.w) + 1);
  let raw: Uint8Array;
  try {
    const buf = inflateSync(zdata, { maxOutputLength: expected + 1 });
    raw = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (err) {
    throw new ForgeError(ForgeCode.InvalidArgument, "invalid PNG: image data does not inflate to the expected size", { cause: err });
  }
  if (raw.length < expected) throw bad("image data is truncated", { expected, got: raw.length });

  const out = new Uint8Array(header.width * header.height * 4);
  const bpp = Math.max(1, Math.ceil((samplesPerPixel(header.colorType) * header.bitDepth) / 8));
  let o = 0;
  for (const p of passes) {
    if (p.w === 0 || p.h === 0) continue;
    const stride = rowBytes(header, p.w);
    let prev = new Uint8Array(stride);
    for (let y = 0; y < p.h; y++) {
      const filter = raw[o]!;
      const line = raw.slice(o + 1, o + 1 + stride);
      o += stride + 1;
      unfilter(filter, line, prev, bpp);
      expandRow(header, color, line, p.w, (x, r, g, b, a) => {
        const i = ((p.y0 + y * p.dy) * header.width + p.x0 + x * p.dx) * 4;
        out[i] = r;
        out[i + 1] = g;
        out[i + 2] = b;
        out[i + 3] = a;
      });
      prev = line;
    }
  }
  return out;
}

const ADAM7: Array<[number, number, number, number]> = [
  [0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2],
];

function unfilter(filter: number, line: Uint8Array, prev: Uint8Array, bpp: number): void {
  const n = line.length;
  switch (filter) {
    case 0: return;
    case 1: for (let i = bpp; i < n; i++) line[i] = (line[i]! + line[i - bpp]!) & 0xff; return;
    case 2: for (let i = 0; i < n; i++) line[i] = (line[i]! + prev[i]!) & 0xff; return;
    case 3:
      for (let i = 0; i < n; i++) line[i] = (line[i]! + (((i >= bpp ? line[i - bpp]! : 0) + prev[i]!) >> 1)) & 0xff;
      return;
    case 4:
      for (let i = 0; i < n; i++) {
        const a = i >= bpp ? line[i - bpp]! : 0;
        const c = i >= bpp ? prev[i - bpp]! : 0;
        line[i] = (line[i]! + paeth(a, prev[i]!, c)) & 0xff;
      }
      return;
    default: throw bad(`unknown filter type ${filter}`);
  }
}

type PixelSink = (x: number, r: number, g: number, b: number, a: number) => void;

function expandRow(h: PngHeader, color: PngColorInfo, line: Uint8Array, width: number, put: PixelSink): void {
  const depth = h.bitDepth;
  const sample = (index: number): number => {
    if (depth === 8) return line[index]!;
    if (depth === 16) return line[index * 2]!; // high byte: 16-bit samples are reduced to 8
    const perByte = 8 / depth;
    const byte = line[Math.floor(index / perByte)]!;
    const shift = 8 - depth * ((index % perByte) + 1);
    return (byte >> shift) & ((1 << depth) - 1);
  };
  const raw16 = (index: number): number => depth === 16 ? (line[index * 2]! << 8) | line[index * 2 + 1]! : sample(index);
  const scale = depth < 8 ? 255 / ((1 << depth) - 1) : 1;
  const trns = color.trns;
  switch (h.colorType) {
    case 0: {
      const key = trns && trns.length >= 2 ? (trns[0]! << 8) | trns[1]! : -1;
      for (let x = 0; x < width; x++) {
        const v = Math.round(sample(x) * scale);
        put(x, v, v, v, raw16(x) === key ? 0 : 255);
      }
      return;
    }
    case 2: {
      const key = trns && trns.length >= 6
        ? [(trns[0]! << 8) | trns[1]!, (trns[2]! << 8) | trns[3]!, (trns[4]! << 8) | trns[5]!]
        : undefined;
      for (let x = 0; x < width; x++) {
        const transparent = key !== undefined && raw16(x * 3) === key[0] && raw16(x * 3 + 1) === key[1] && raw16(x * 3 + 2) === key[2];
        put(x, sample(x * 3), sample(x * 3 + 1), sample(x * 3 + 2), transparent ? 0 : 255);
      }
      return;
    }
    case 3: {
      const pal = color.palette!;
      for (let x = 0; x < width; x++) {
        const i = sample(x);
        if (i * 3 + 2 >= pal.length) throw bad("palette index out of range", { index: i });
        put(x, pal[i * 3]!, pal[i * 3 + 1]!, pal[i * 3 + 2]!, trns && i < trns.length ? trns[i]! : 255);
      }
      return;
    }
    case 4:
      for (let x = 0; x < width; x++) {
        const v = sample(x * 2);
        put(x, v, v, v, sample(x * 2 + 1));
      }
      return;
    default:
      for (let x = 0; x < width; x++) put(x, sample(x * 4), sample(x * 4 + 1), sample(x * 4 + 2), sample(x * 4 + 3));
  }
}

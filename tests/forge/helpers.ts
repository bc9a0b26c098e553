// Independent helpers for the Forge tests: a bitwise CRC-32 and PNG/WAV readers written
// separately from src/forge so that a bug in the library cannot hide itself.
import { inflateSync } from "node:zlib";
import type { RgbaImage } from "../../src/forge/media/image.ts";
import { concatBytes } from "../../src/util/bytes.ts";

/** Bitwise (table-free) CRC-32, to check the library's table-driven one. */
export function crc32Slow(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

export interface RawChunk { type: string; data: Uint8Array; crcOk: boolean }

/** Splits a PNG into chunks, checking the signature and every CRC independently. */
export function pngChunks(png: Uint8Array): RawChunk[] {
  const signature = [137, 80, 78, 71, 13, 10, 26, 10];
  signature.forEach((b, i) => {
    if (png[i] !== b) throw new Error(`bad PNG signature byte ${i}`);
  });
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out: RawChunk[] = [];
  let o = 8;
  while (o < png.length) {
    const len = view.getUint32(o);
    const type = new TextDecoder().decode(png.subarray(o + 4, o + 8));
    const data = png.subarray(o + 8, o + 8 + len);
    const crc = view.getUint32(o + 8 + len);
    out.push({ type, data, crcOk: crc32Slow(png.subarray(o + 4, o + 8 + len)) === crc });
    o += 12 + len;
  }
  return out;
}

/** Reads IHDR fields. */
export function ihdr(png: Uint8Array): { width: number; height: number; bitDepth: number; colorType: number; interlace: number } {
  const c = pngChunks(png)[0]!;
  if (c.type !== "IHDR") throw new Error("first chunk is not IHDR");
  const v = new DataView(c.data.buffer, c.data.byteOffset, c.data.byteLength);
  return { width: v.getUint32(0), height: v.getUint32(4), bitDepth: c.data[8]!, colorType: c.data[9]!, interlace: c.data[12]! };
}

/** Builds a chunk with an independently computed CRC. */
export function makeChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32Slow(out.subarray(4, 8 + data.length)));
  return out;
}


/** Decodes an 8-bit RGB/RGBA, non-interlaced PNG with the reference unfiltering rules. */
export function referenceDecode(png: Uint8Array): RgbaImage {
  const h = ihdr(png);
  if (h.bitDepth !== 8 || (h.colorType !== 2 && h.colorType !== 6) || h.interlace !== 0) throw new Error("reference decoder: 8-bit RGB/RGBA only");
  const channels = h.colorType === 2 ? 3 : 4;
  const raw = new Uint8Array(inflateSync(concatBytes(pngChunks(png).filter((c) => c.type === "IDAT").map((c) => c.data))));
  const stride = h.width * channels;
  const out = new Uint8Array(h.width * h.height * 4);
  let prev = new Uint8Array(stride);
  for (let y = 0; y < h.height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.slice(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? line[i - channels]! : 0, b = prev[i]!, c = i >= channels ? prev[i - channels]! : 0;
      const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const pred = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][filter];
      if (pred === undefined) throw new Error(`bad filter ${filter}`);
      line[i] = (line[i]! + pred) & 0xff;
    }
    for (let x = 0; x < h.width; x++) {
      out.set([line[x * channels]!, line[x * channels + 1]!, line[x * channels + 2]!, channels === 4 ? line[x * channels + 3]! : 255], (y * h.width + x) * 4);
    }
    prev = line;
  }
  return { width: h.width, height: h.height, data: out };
}

/** Reads a 16-bit PCM WAV's header fields with DataView, independently of src/forge. */
export function wavHeader(wav: Uint8Array) {
  const v = new DataView(wav.buffer, wav.byteOffset, wav.byteLength);
  const tag = (o: number) => new TextDecoder().decode(wav.subarray(o, o + 4));
  return {
    riff: tag(0), riffSize: v.getUint32(4, true), wave: tag(8), fmt: tag(12), fmtSize: v.getUint32(16, true),
    format: v.getUint16(20, true), channels: v.getUint16(22, true), sampleRate: v.getUint32(24, true),
    byteRate: v.getUint32(28, true), blockAlign: v.getUint16(32, true), bits: v.getUint16(34, true),
    data: tag(36), dataSize: v.getUint32(40, true),
  };
}

/** A test pattern: `fn(x, y)` gives the RGBA of each pixel. */
export function pattern(width: number, height: number, fn: (x: number, y: number) => [number, number, number, number?]): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b, a = 255] = fn(x, y);
      data.set([r, g, b, a], (y * width + x) * 4);
    }
  }
  return { width, height, data };
}

/** A signal that never aborts. */
export const never = (): AbortSignal => new AbortController().signal;

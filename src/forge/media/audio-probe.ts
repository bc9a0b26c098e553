import { ForgeCode, ForgeError } from "../errors.ts";
import { parseWav } from "./wav.ts";

/**
 * Sample rate and length of an audio file.
 *
 * @example
 * ```ts
 * const { sampleRate, duration } = probeAudio(bytes, "mp3");
 * ```
 */
export interface AudioInfo {
  sampleRate: number;
  /** Seconds. */
  duration: number;
}

/**
 * Reads the sample rate and duration of a `wav`, `flac`, `mp3` or Ogg `opus` file from its
 * headers, or of raw 16-bit mono `pcm` given its rate. Throws `FORGE_BAD_RESPONSE` when the
 * bytes are not the format they claim to be.
 *
 * @example
 * ```ts
 * import { probeAudio } from "malamute/forge";
 * probeAudio(wavBytes, "wav"); // { sampleRate: 24000, duration: 2.5 }
 * ```
 */
export function probeAudio(bytes: Uint8Array, format: string, pcmSampleRate = 24_000): AudioInfo {
  const bad = (m: string) => new ForgeError(ForgeCode.BadResponse, `audio is not valid ${format}: ${m}`, { details: { format } });
  switch (format) {
    case "wav": {
      try {
        const info = parseWav(bytes);
        return { sampleRate: info.sampleRate, duration: info.duration };
      } catch (err) {
        throw bad((err as Error).message);
      }
    }
    case "pcm":
      return { sampleRate: pcmSampleRate, duration: Math.floor(bytes.length / 2) / pcmSampleRate };
    case "flac": return probeFlac(bytes, bad);
    case "mp3": return probeMp3(bytes, bad);
    case "opus": return probeOggOpus(bytes, bad);
  }
  throw bad("unknown format");
}

type Bad = (m: string) => ForgeError;

function probeFlac(b: Uint8Array, bad: Bad): AudioInfo {
  if (b.length < 42 || String.fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!) !== "fLaC") throw bad("missing fLaC marker");
  // The first metadata block is STREAMINFO: rate (20 bits) at byte 18, total samples (36 bits) from byte 21.
  const o = 8;
  const rate = (b[o + 10]! << 12) | (b[o + 11]! << 4) | (b[o + 12]! >> 4);
  const total = (b[o + 13]! & 0x0f) * 2 ** 32 + ((b[o + 14]! << 24) >>> 0) + (b[o + 15]! << 16) + (b[o + 16]! << 8) + b[o + 17]!;
  if (rate === 0) throw bad("zero sample rate");
  return { sampleRate: rate, duration: total / rate };
}

const MP3_BITRATES = {
  v1: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  v2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};
const MP3_RATES: Record<number, number[]> = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] };

function probeMp3(b: Uint8Array, bad: Bad): AudioInfo {
  let o = 0;
  if (b.length >= 10 && b[0] === 0x49 && b[1] === 0x44 && b[2] === 0x33) {
    // ID3v2: 10-byte header, then a 28-bit "synchsafe" size.
    o = 10 + ((b[6]! & 0x7f) << 21 | (b[7]! & 0x7f) << 14 | (b[8]! & 0x7f) << 7 | (b[9]! & 0x7f));
  }
  let frames = 0, samples = 0, rate = 0;
  while (o + 4 <= b.length) {
    if (b[o] !== 0xff || (b[o + 1]! & 0xe0) !== 0xe0) {
      if (frames === 0) { o++; continue; } // skip junk before the first frame
      break;
    }
    const version = (b[o + 1]! >> 3) & 3; // 3 = MPEG1, 2 = MPEG2, 0 = MPEG2.5
    const layer = (b[o + 1]! >> 1) & 3; // 1 = Layer III
    const bitrateIndex = b[o + 2]! >> 4, rateIndex = (b[o + 2]! >> 2) & 3, padding = (b[o + 2]! >> 1) & 1;
    const rates = MP3_RATES[version];
    if (version === 1 || layer !== 1 || !rates || rateIndex === 3 || bitrateIndex === 0 || bitrateIndex === 15) break;
    const kbps = (version === 3 ? MP3_BITRATES.v1 : MP3_BITRATES.v2)[bitrateIndex]!;
    rate = rates[rateIndex]!;
    const perFrame = version === 3 ? 1152 : 576;
    const length = Math.floor(((perFrame / 8) * kbps * 1000) / rate) + padding;
    frames++;
    samples += perFrame;
    o += length;
  }
  if (frames === 0) throw bad("no MPEG layer III frame found");
  return { sampleRate: rate, duration: samples / rate };
}

function probeOggOpus(b: Uint8Array, bad: Bad): AudioInfo {
  let o = 0, preSkip = 0, inputRate = 0, lastGranule = 0, pages = 0;
  while (o + 27 <= b.length) {
    if (String.fromCharCode(b[o]!, b[o + 1]!, b[o + 2]!, b[o + 3]!) !== "OggS") break;
    const v = new DataView(b.buffer, b.byteOffset + o, 27);
    const granule = v.getUint32(6, true) + v.getUint32(10, true) * 2 ** 32;
    const segments = b[o + 26]!;
    let size = 0;
    for (let i = 0; i < segments; i++) size += b[o + 27 + i] ?? 0;
    const body = o + 27 + segments;
    if (pages === 0) {
      if (String.fromCharCode(...b.subarray(body, body + 8)) !== "OpusHead") throw bad("first Ogg page is not OpusHead");
      const h = new DataView(b.buffer, b.byteOffset + body, Math.min(19, b.length - body));
      preSkip = h.getUint16(10, true);
      inputRate = h.getUint32(12, true);
    }
    if (granule !== 2 ** 64 - 1 && granule > lastGranule) lastGranule = granule;
    pages++;
    o = body + size;
  }
  if (pages === 0) throw bad("missing OggS page");
  // Opus always decodes at 48 kHz; OpusHead records the rate of the original input.
  return { sampleRate: inputRate || 48_000, duration: Math.max(0, lastGranule - preSkip) / 48_000 };
}

import { ForgeCode, ForgeError } from "../errors.ts";

/**
 * What a WAV file's header says, plus where its samples are.
 *
 * @example
 * ```ts
 * const { channels, sampleRate, frames, duration } = parseWav(bytes);
 * ```
 */
export interface WavInfo {
  /** 1 = integer PCM, 3 = IEEE float, 0xfffe = extensible. */
  format: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  /** Frames (one sample per channel) in the data chunk. */
  frames: number;
  /** Seconds of audio. */
  duration: number;
  /** The raw sample bytes of the `data` chunk. */
  data: Uint8Array;
}

/**
 * Encodes mono float samples (-1..1, clipped) as a 16-bit PCM WAV file.
 *
 * @example
 * ```ts
 * import { encodeWav } from "malamute/forge";
 * const tone = Float32Array.from({ length: 24000 }, (_, i) => Math.sin((2 * Math.PI * 440 * i) / 24000) * 0.3);
 * const wav = encodeWav(tone, 24000); // one second of A4
 * ```
 */
export function encodeWav(samples: Float32Array, sampleRate: number): Uint8Array {
  const dataBytes = samples.length * 2;
  const out = new Uint8Array(44 + dataBytes);
  const v = new DataView(out.buffer);
  const ascii = (o: number, s: string) => {
    for (let i = 0; i < s.length; i++) out[o + i] = s.charCodeAt(i);
  };
  ascii(0, "RIFF");
  v.setUint32(4, 36 + dataBytes, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, 1, true); // mono
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * 2, true); // byte rate
  v.setUint16(32, 2, true); // block align
  v.setUint16(34, 16, true);
  ascii(36, "data");
  v.setUint32(40, dataBytes, true);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]!));
    v.setInt16(44 + i * 2, Math.round(s * 32767), true);
  }
  return out;
}

/**
 * Encodes mono float samples as raw 16-bit little-endian PCM (no header), the `pcm` format of
 * OpenAI-compatible speech servers.
 *
 * @example
 * ```ts
 * import { encodePcm16 } from "malamute/forge";
 * encodePcm16(new Float32Array([0, 1])).length; // 4
 * ```
 */
export function encodePcm16(samples: Float32Array): Uint8Array {
  const out = new Uint8Array(samples.length * 2);
  const v = new DataView(out.buffer);
  for (let i = 0; i < samples.length; i++) {
    v.setInt16(i * 2, Math.round(Math.max(-1, Math.min(1, samples[i]!)) * 32767), true);
  }
  return out;
}

/**
 * Parses a RIFF/WAVE file's `fmt ` and `data` chunks. Throws `INVALID_ARGUMENT` when the file is
 * not a WAV or is truncated. A `data` size of 0 or 0xffffffff (streamed WAV) means "to the end".
 *
 * @example
 * ```ts
 * import { parseWav } from "malamute/forge";
 * const { sampleRate, duration } = parseWav(wavBytes);
 * ```
 */
export function parseWav(bytes: Uint8Array): WavInfo {
  const bad = (m: string) => new ForgeError(ForgeCode.InvalidArgument, `invalid WAV: ${m}`);
  if (bytes.length < 12) throw bad("too short");
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (o: number) => String.fromCharCode(bytes[o]!, bytes[o + 1]!, bytes[o + 2]!, bytes[o + 3]!);
  if (tag(0) !== "RIFF" || tag(8) !== "WAVE") throw bad("missing RIFF/WAVE header");
  let fmt: Omit<WavInfo, "frames" | "duration" | "data"> | undefined;
  let o = 12;
  while (o + 8 <= bytes.length) {
    const id = tag(o);
    let size = v.getUint32(o + 4, true);
    const body = o + 8;
    if (id === "fmt ") {
      if (size < 16 || body + 16 > bytes.length) throw bad("fmt chunk too short");
      fmt = {
        format: v.getUint16(body, true),
        channels: v.getUint16(body + 2, true),
        sampleRate: v.getUint32(body + 4, true),
        bitsPerSample: v.getUint16(body + 14, true),
      };
      if (fmt.channels === 0 || fmt.sampleRate === 0 || fmt.bitsPerSample === 0) throw bad("zero channels, rate or sample size");
    } else if (id === "data") {
      if (!fmt) throw bad("data chunk before fmt chunk");
      if (size === 0 || size === 0xffffffff || body + size > bytes.length) size = bytes.length - body;
      const frameBytes = fmt.channels * Math.ceil(fmt.bitsPerSample / 8);
      const frames = Math.floor(size / frameBytes);
      return { ...fmt, frames, duration: frames / fmt.sampleRate, data: bytes.subarray(body, body + size) };
    }
    o = body + size + (size & 1); // chunks are padded to even sizes
  }
  throw bad(fmt ? "no data chunk" : "no fmt chunk");
}

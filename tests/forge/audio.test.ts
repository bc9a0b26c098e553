import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { encodePcm16, encodeWav, parseWav } from "../../src/forge/media/wav.ts";
import { probeAudio } from "../../src/forge/media/audio-probe.ts";
import { synthesizeSpeech, textToPhrases, voiceParams } from "../../src/forge/media/speech.ts";
import { ForgeError } from "../../src/forge/errors.ts";
import { concatBytes } from "../../src/util/bytes.ts";
import { wavHeader } from "./helpers.ts";

describe("WAV encoder", () => {
  const samples = Float32Array.from({ length: 2400 }, (_, i) => Math.sin(i / 10) * 0.5);

  it("writes a canonical 44-byte RIFF/WAVE header for 16-bit mono PCM", () => {
    const wav = encodeWav(samples, 24000);
    const h = wavHeader(wav);
    assert.equal(wav.length, 44 + samples.length * 2);
    assert.deepEqual(
      { ...h },
      {
        riff: "RIFF", riffSize: wav.length - 8, wave: "WAVE", fmt: "fmt ", fmtSize: 16, format: 1, channels: 1,
        sampleRate: 24000, byteRate: 48000, blockAlign: 2, bits: 16, data: "data", dataSize: samples.length * 2,
      },
    );
  });

  it("stores samples as little-endian int16, clipping beyond ±1", () => {
    const wav = encodeWav(Float32Array.of(0, 1, -1, 2, -0.5), 8000);
    const v = new DataView(wav.buffer, 44);
    assert.deepEqual([0, 1, 2, 3, 4].map((i) => v.getInt16(i * 2, true)), [0, 32767, -32767, 32767, Math.round(-0.5 * 32767)]);
    assert.deepEqual(encodePcm16(Float32Array.of(1, -1)), wav.subarray(46, 50));
  });

  it("parses back its own files and reports frames and duration", () => {
    const info = parseWav(encodeWav(samples, 24000));
    assert.equal(info.sampleRate, 24000);
    assert.equal(info.frames, 2400);
    assert.equal(info.duration, 0.1);
  });

  it("skips unknown chunks and rejects files that are not WAV", () => {
    const wav = encodeWav(samples, 16000);
    // Insert a LIST chunk (odd size, so it is padded) between fmt and data.
    const list = concatBytes([new TextEncoder().encode("LIST"), Uint8Array.of(3, 0, 0, 0, 1, 2, 3, 0)]);
    const withList = concatBytes([wav.subarray(0, 36), list, wav.subarray(36)]);
    assert.equal(parseWav(withList).frames, 2400);
    assert.throws(() => parseWav(new TextEncoder().encode("RIFF0000WAVX")), ForgeError);
    assert.throws(() => parseWav(wav.subarray(0, 30)), ForgeError);
  });
});

describe("audio probe", () => {
  it("reads FLAC STREAMINFO (rate and total samples)", () => {
    const streaminfo = new Uint8Array(34);
    // rate 24000 (20 bits) | channels-1 (3) | bps-1 (5) | total samples (36 bits) = 48000
    const rate = 24000, total = 48000;
    streaminfo[10] = (rate >> 12) & 0xff;
    streaminfo[11] = (rate >> 4) & 0xff;
    streaminfo[12] = ((rate & 0xf) << 4) | (0 << 1) | (15 >> 4);
    streaminfo[13] = ((15 & 0xf) << 4) | 0;
    new DataView(streaminfo.buffer).setUint32(14, total);
    const flac = concatBytes([new TextEncoder().encode("fLaC"), Uint8Array.of(0x80, 0, 0, 34), streaminfo]);
    assert.deepEqual(probeAudio(flac, "flac"), { sampleRate: 24000, duration: 2 });
  });

  it("counts MPEG-1 layer III frames after an ID3v2 tag", () => {
    // 128 kbps, 44.1 kHz, no padding → 417-byte frames of 1152 samples.
    const frame = new Uint8Array(417);
    frame.set([0xff, 0xfb, 0x90, 0x00]);
    const id3 = Uint8Array.of(0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4, 5);
    const mp3 = concatBytes([id3, frame, frame, frame]);
    const info = probeAudio(mp3, "mp3");
    assert.equal(info.sampleRate, 44100);
    assert.equal(info.duration, (3 * 1152) / 44100);
  });

  it("reads Ogg Opus duration from the last granule position minus pre-skip", () => {
    const page = (granule: number, body: Uint8Array) => {
      const head = new Uint8Array(28);
      head.set(new TextEncoder().encode("OggS"));
      new DataView(head.buffer).setUint32(6, granule, true);
      head[26] = 1;
      head[27] = body.length;
      return concatBytes([head, body]);
    };
    const opusHead = new Uint8Array(19);
    opusHead.set(new TextEncoder().encode("OpusHead"));
    opusHead[8] = 1;
    opusHead[9] = 1;
    new DataView(opusHead.buffer).setUint16(10, 312, true);
    new DataView(opusHead.buffer).setUint32(12, 24000, true);
    const ogg = concatBytes([page(0, opusHead), page(0, new TextEncoder().encode("OpusTags")), page(48312, new Uint8Array(10))]);
    assert.deepEqual(probeAudio(ogg, "opus"), { sampleRate: 24000, duration: 1 });
  });

  it("computes pcm duration from the byte count and flags a non-WAV 'wav' as a bad response", () => {
    assert.deepEqual(probeAudio(new Uint8Array(48000), "pcm"), { sampleRate: 24000, duration: 1 });
    assert.throws(() => probeAudio(new Uint8Array(100), "wav"), (e: unknown) => e instanceof ForgeError && e.code === "FORGE_BAD_RESPONSE");
  });
});

describe("formant speech synthesiser", () => {
  const opts = (voice: string, speed = 1) => ({ voice: voiceParams(voice), speed, sampleRate: 24000, seed: 3 });

  it("splits phrases at punctuation and marks questions", () => {
    const phrases = textToPhrases("Hello, world. Are you there?");
    assert.equal(phrases.length, 3);
    assert.deepEqual(phrases.map((p) => p.question), [false, false, true]);
  });

  it("speaks faster at a higher speed and stays within ±1", () => {
    const slow = synthesizeSpeech("The quick brown fox.", opts("af_heart", 1));
    const fast = synthesizeSpeech("The quick brown fox.", opts("af_heart", 2));
    assert.ok(fast.length < slow.length * 0.6, `${fast.length} vs ${slow.length}`);
    for (const s of slow) assert.ok(Number.isFinite(s) && Math.abs(s) <= 1);
  });

  it("gives male voices a lower pitch than female ones, and mixes in between", () => {
    const f = voiceParams("af_bella").f0, m = voiceParams("am_adam").f0, mix = voiceParams("af_bella+am_adam").f0;
    assert.ok(m < f);
    assert.ok(mix > m && mix < f);
  });

  it("is silent between phrases (pauses at punctuation)", () => {
    const s = synthesizeSpeech("Ah. Ah.", opts("am_adam"));
    // Find the quietest 100 ms window; a pause must be there.
    const win = 2400;
    let quietest = Infinity;
    for (let i = 0; i + win <= s.length; i += 600) {
      let e = 0;
      for (let j = i; j < i + win; j++) e += s[j]! * s[j]!;
      quietest = Math.min(quietest, Math.sqrt(e / win));
    }
    assert.ok(quietest < 0.01, `quietest window RMS ${quietest}`);
  });
});

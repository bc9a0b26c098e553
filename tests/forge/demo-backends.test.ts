import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  decodePng, decodeRle, demoKokoro, demoQwen3Vl, demoSam3, demoZImage, encodeApng, encodePng, ForgeError, parseWav,
  type Progress, type RgbaImage, type Sam3Chunk, type Sam3Input,
} from "../../src/forge/mod.ts";
import { ihdr, never, pattern, pngChunks, wavHeader } from "./helpers.ts";

const samplePath = fileURLToPath(new URL("../../examples/forge/assets/sample.png", import.meta.url));
const png = (img: RgbaImage) => ({ data: encodePng(img), mimeType: "image/png" });
const code = (c: string) => (e: unknown) => e instanceof ForgeError && e.code === c;

describe("demo qwen3vl backend (demo-image-stats)", () => {
  const backend = demoQwen3Vl();
  // Top half blue sky, bottom half orange: the description must say both, and where the light is.
  const split = pattern(64, 48, (_x, y) => (y < 24 ? [40, 90, 210] : [235, 125, 30]));

  it("describes measured properties: size, dominant colours, brightness bands", async () => {
    const out = await backend.infer({ images: [png(split)], prompt: "Describe the image.", temperature: 0 }, { signal: never() });
    assert.match(out.text, /64×48 landscape image/);
    assert.match(out.text, /orange/);
    assert.match(out.text, /blue/);
    assert.match(out.text, /lower part is lighter/);
    assert.equal(out.finishReason, "stop");
    assert.equal(out.model, "demo-image-stats");
    assert.equal(out.usage.totalTokens, out.usage.promptTokens + out.usage.completionTokens);
  });

  it("counts one image token per 32×32 patch in the prompt tokens", async () => {
    const small = await backend.infer({ images: [png(pattern(32, 32, () => [9, 9, 9]))], prompt: "Hi" }, { signal: never() });
    const big = await backend.infer({ images: [png(pattern(64, 64, () => [9, 9, 9]))], prompt: "Hi" }, { signal: never() });
    assert.equal(big.usage.promptTokens - small.usage.promptTokens, 3);
  });

  it("describes the shipped sample as a landscape with a reflection", async () => {
    const data = new Uint8Array(readFileSync(samplePath));
    const out = await backend.infer({ images: [{ data, mimeType: "image/png" }], prompt: "Describe." }, { signal: never() });
    const { width, height } = ihdr(data);
    assert.match(out.text, new RegExp(`${width}×${height}`));
    assert.match(out.text, /reflection/);
  });

  it("stops at maxTokens with finishReason 'length'", async () => {
    const out = await backend.infer({ images: [png(split)], prompt: "Describe.", maxTokens: 5 }, { signal: never() });
    assert.equal(out.finishReason, "length");
    assert.equal(out.usage.completionTokens, 5);
    assert.ok(out.text.length < 40, out.text);
  });

  it("numbers several images", async () => {
    const out = await backend.infer({ images: [png(split), png(pattern(16, 40, () => [250, 250, 250]))], prompt: "Compare." }, { signal: never() });
    assert.match(out.text, /^Image 1: /);
    assert.match(out.text, /Image 2: A 16×40 portrait image/);
  });

  it("fails with typed errors on JPEG, on a mislabelled file and when cancelled", async () => {
    await assert.rejects(backend.infer({ images: [{ data: Uint8Array.of(0xff, 0xd8), mimeType: "image/jpeg" }], prompt: "x" }, { signal: never() }), code("FORGE_UNSUPPORTED"));
    await assert.rejects(backend.infer({ images: [{ data: Uint8Array.of(1, 2, 3), mimeType: "image/png" }], prompt: "x" }, { signal: never() }), code("RPC_VALIDATION"));
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(backend.infer({ images: [png(split)], prompt: "x" }, { signal: ac.signal }), code("RPC_CANCELLED"));
  });
});

describe("demo zimage backend (demo-procedural)", () => {
  const backend = demoZImage();

  it("returns a valid PNG of the requested size, with correct CRCs and its parameters in iTXt", async () => {
    const out = await backend.generate({ prompt: "mountains over a lake at sunset", width: 160, height: 96, steps: 4, seed: 5 }, { signal: never() });
    assert.deepEqual(ihdr(out.png), { width: 160, height: 96, bitDepth: 8, colorType: 2, interlace: 0 });
    for (const c of pngChunks(out.png)) assert.ok(c.crcOk, c.type);
    const decoded = decodePng(out.png);
    assert.equal(decoded.text["Description"], "mountains over a lake at sunset");
    assert.match(decoded.text["Software"]!, /demo-procedural/);
    assert.equal(out.seed, 5);
    assert.equal(out.model, "demo-procedural");
  });

  it("is reproducible for a seed and differs between seeds", async () => {
    const input = { prompt: "green hills", width: 64, height: 64 };
    const a = await backend.generate({ ...input, seed: 1 }, { signal: never() });
    const b = await backend.generate({ ...input, seed: 1 }, { signal: never() });
    const c = await backend.generate({ ...input, seed: 2 }, { signal: never() });
    assert.deepEqual(a.png, b.png);
    assert.notDeepEqual(a.png, c.png);
  });

  it("picks and reports a seed when none is given", async () => {
    const out = await backend.generate({ prompt: "a city at night", width: 64, height: 64 }, { signal: never() });
    assert.ok(Number.isInteger(out.seed) && out.seed >= 0 && out.seed <= 0xffffffff);
    const again = await backend.generate({ prompt: "a city at night", width: 64, height: 64, seed: out.seed }, { signal: never() });
    assert.deepEqual(again.png, out.png);
  });

  it("follows colour words: a red prompt is redder than a blue one", async () => {
    const mean = async (prompt: string) => {
      const { png: bytes } = await backend.generate({ prompt, width: 64, height: 64, seed: 3 }, { signal: never() });
      const img = decodePng(bytes);
      let r = 0, b = 0;
      for (let i = 0; i < img.data.length; i += 4) { r += img.data[i]!; b += img.data[i + 2]!; }
      return r - b;
    };
    assert.ok((await mean("a red sky over red hills")) > (await mean("a blue sky over blue hills")));
  });

  it("reports progress in order, ending at total", async () => {
    const seen: Progress[] = [];
    await backend.generate({ prompt: "snowy mountains, forest", width: 64, height: 48, seed: 9 }, { signal: never(), progress: (p) => seen.push(p) });
    assert.ok(seen.length >= 3);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.done > seen[i - 1]!.done);
    assert.equal(seen.at(-1)!.done, seen.at(-1)!.total);
  });

  it("rejects sizes that are not multiples of 16 and stops when cancelled", async () => {
    await assert.rejects(backend.generate({ prompt: "x", width: 100, height: 64 }, { signal: never() }), code("RPC_VALIDATION"));
    const ac = new AbortController();
    const p = backend.generate({ prompt: "mountains, lake, forest, clouds", width: 512, height: 512 }, { signal: ac.signal, progress: () => ac.abort() });
    await assert.rejects(p, code("RPC_CANCELLED"));
  });
});

describe("demo kokoro backend (demo-formant)", () => {
  const backend = demoKokoro();

  it("returns a valid 24 kHz mono WAV whose header matches the reported duration", async () => {
    const out = await backend.synthesize({ text: "Hello there. How are you?", voice: "af_heart" }, { signal: never() });
    const h = wavHeader(out.audio);
    assert.equal(h.riff, "RIFF");
    assert.equal(h.wave, "WAVE");
    assert.equal(h.format, 1);
    assert.equal(h.channels, 1);
    assert.equal(h.sampleRate, 24000);
    assert.equal(h.riffSize, out.audio.length - 8);
    assert.equal(h.dataSize, out.audio.length - 44);
    assert.equal(out.sampleRate, 24000);
    assert.equal(out.duration, h.dataSize / 2 / 24000);
    assert.equal(out.format, "wav");
    assert.ok(out.duration > 1 && out.duration < 5, `${out.duration}`);
  });

  it("makes longer text longer audio and a higher speed shorter audio", async () => {
    const short = await backend.synthesize({ text: "Hi." }, { signal: never() });
    const long = await backend.synthesize({ text: "Hi. This sentence is a good deal longer than the first one." }, { signal: never() });
    const fast = await backend.synthesize({ text: "Hi. This sentence is a good deal longer than the first one.", speed: 2 }, { signal: never() });
    assert.ok(long.duration > short.duration * 3);
    assert.ok(fast.duration < long.duration * 0.6);
  });

  it("returns headerless 16-bit pcm on request", async () => {
    const wav = await backend.synthesize({ text: "Testing pcm.", format: "wav" }, { signal: never() });
    const pcm = await backend.synthesize({ text: "Testing pcm.", format: "pcm" }, { signal: never() });
    assert.deepEqual(pcm.audio, parseWav(wav.audio).data);
    assert.equal(pcm.duration, wav.duration);
  });

  it("refuses formats it cannot encode with FORGE_UNSUPPORTED", async () => {
    await assert.rejects(backend.synthesize({ text: "x", format: "mp3" }, { signal: never() }), code("FORGE_UNSUPPORTED"));
  });
});

describe("demo sam3 backend (demo-framediff)", () => {
  const W = 80, H = 56, N = 10;
  const frames = Array.from({ length: N }, (_, f) => pattern(W, H, (x, y) => {
    if ((x - (8 + f * 6)) ** 2 + (y - 18) ** 2 < 30) return [220, 30, 30]; // red ball moving right
    if (x >= 60 && x < 70 && y >= 2 + f * 4 && y < 12 + f * 4) return [30, 40, 220]; // blue square moving down
    return ((x >> 3) + (y >> 3)) & 1 ? [90, 150, 90] : [110, 160, 95]; // static checkered grass
  }));
  const input = (prompts: Sam3Input["prompts"]): Sam3Input => ({ video: { kind: "frames", frames: frames.map(png), fps: 10 }, prompts });
  const run = async (i: Sam3Input, signal = never()) => {
    const chunks: Sam3Chunk[] = [];
    for await (const c of demoSam3().segment(i, { signal })) chunks.push(c);
    return chunks;
  };

  it("streams progress, one frame chunk per frame in order, then one summary", async () => {
    const chunks = await run(input([{ type: "text", text: "moving things" }]));
    const kinds = chunks.map((c) => c.type);
    assert.equal(kinds.at(-1), "summary");
    assert.equal(kinds.filter((k) => k === "summary").length, 1);
    assert.ok(kinds.includes("progress"));
    const framesOut = chunks.filter((c) => c.type === "frame");
    assert.deepEqual(framesOut.map((c) => c.frame), [...Array(N).keys()]);
    assert.deepEqual(framesOut.map((c) => c.time), [...Array(N).keys()].map((i) => i / 10));
    const summary = chunks.at(-1)!;
    assert.ok(summary.type === "summary");
    assert.equal(summary.objects.length, 2);
    assert.deepEqual(summary.objects.map((o) => o.frames), [N, N]);
  });

  it("masks follow the moving object: the RLE decodes to the reported area inside the box", async () => {
    const chunks = await run(input([{ type: "point", frame: 4, x: 8 + 4 * 6, y: 18 }]));
    for (const c of chunks) {
      if (c.type !== "frame") continue;
      assert.equal(c.objects.length, 1);
      const o = c.objects[0]!;
      const mask = decodeRle(o.mask);
      assert.equal(mask.reduce((a, b) => a + b, 0), o.area);
      const cx = o.box.x + o.box.width / 2;
      assert.ok(Math.abs(cx - (8 + c.frame * 6)) <= 2, `frame ${c.frame}: centre ${cx}`);
      assert.equal(mask[18 * W + 8 + c.frame * 6], 1, "ball centre is inside the mask");
    }
  });

  it("narrows a text prompt by colour, picks by box, and honours negative points", async () => {
    const byColor = await run(input([{ type: "text", text: "the blue square" }]));
    const last = byColor.at(-1)!;
    assert.ok(last.type === "summary");
    assert.equal(last.objects.length, 1);
    const f0 = byColor.find((c) => c.type === "frame" && c.frame === 0);
    assert.ok(f0?.type === "frame" && f0.objects[0]!.box.x >= 58);

    const byBox = await run(input([{ type: "box", frame: 0, x: 0, y: 8, width: 25, height: 20 }]));
    const b0 = byBox.find((c) => c.type === "frame" && c.frame === 0);
    assert.ok(b0?.type === "frame" && b0.objects.length === 1 && b0.objects[0]!.box.x < 25);

    const negative = await run(input([{ type: "text", text: "anything" }, { type: "point", frame: 0, x: 8, y: 18, positive: false }]));
    const s = negative.at(-1)!;
    assert.ok(s.type === "summary");
    assert.equal(s.objects.length, 1);
  });

  it("accepts an animated PNG file as the video", async () => {
    const chunks = await run({ video: { kind: "file", data: encodeApng(frames, 10), mimeType: "image/apng" }, prompts: [{ type: "text", text: "red" }] });
    const s = chunks.at(-1)!;
    assert.ok(s.type === "summary");
    assert.equal(s.frames, N);
    assert.equal(s.objects.length, 1);
    assert.ok(Math.abs(s.fps - 10) < 1e-9);
  });

  it("refuses undecodable video with FORGE_UNSUPPORTED and stops when cancelled", async () => {
    await assert.rejects(run({ video: { kind: "file", data: Uint8Array.of(0, 0, 0, 0x18), mimeType: "video/mp4" }, prompts: [{ type: "text", text: "x" }] }), code("FORGE_UNSUPPORTED"));
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(run(input([{ type: "text", text: "x" }]), ac.signal), code("RPC_CANCELLED"));
  });
});

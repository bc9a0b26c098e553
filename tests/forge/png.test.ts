import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { deflateSync } from "node:zlib";
import fc from "fast-check";
import { crc32 } from "../../src/forge/media/crc32.ts";
import { encodePng } from "../../src/forge/media/png-encode.ts";
import { decodePng, readPngChunks } from "../../src/forge/media/png-decode.ts";
import { decodeApng, encodeApng } from "../../src/forge/media/apng.ts";
import { ForgeError } from "../../src/forge/errors.ts";
import { concatBytes } from "../../src/util/bytes.ts";
import { crc32Slow, ihdr, makeChunk, pattern, pngChunks, referenceDecode } from "./helpers.ts";

const SIGNATURE = Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10);

function ihdrBody(w: number, h: number, depth: number, colorType: number, interlace = 0): Uint8Array {
  const b = new Uint8Array(13);
  const v = new DataView(b.buffer);
  v.setUint32(0, w);
  v.setUint32(4, h);
  b[8] = depth;
  b[9] = colorType;
  b[12] = interlace;
  return b;
}

/** A PNG assembled by the test itself from unfiltered (filter 0) rows. */
function handMade(w: number, h: number, depth: number, colorType: number, rows: number[][], extra: Uint8Array[] = []): Uint8Array {
  const raw = concatBytes(rows.map((r) => Uint8Array.from([0, ...r])));
  return concatBytes([SIGNATURE, makeChunk("IHDR", ihdrBody(w, h, depth, colorType)), ...extra, makeChunk("IDAT", new Uint8Array(deflateSync(raw))), makeChunk("IEND", new Uint8Array(0))]);
}

describe("CRC-32", () => {
  it("matches the standard check value for '123456789'", () => {
    assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  });
  it("agrees with a bitwise implementation on random data", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => crc32(bytes) === crc32Slow(bytes)), { numRuns: 200 });
  });
});

describe("PNG encoder", () => {
  const image = pattern(37, 23, (x, y) => [(x * 7) & 255, (y * 11) & 255, (x * y) & 255]);

  it("writes the signature, IHDR first, IEND last, and a correct CRC on every chunk", () => {
    const png = encodePng(image, { text: { Description: "a test pattern ✓" } });
    const chunks = pngChunks(png);
    assert.deepEqual(chunks.map((c) => c.type), ["IHDR", "iTXt", "IDAT", "IEND"]);
    for (const c of chunks) assert.ok(c.crcOk, `CRC of ${c.type}`);
    assert.equal(chunks.at(-1)!.data.length, 0);
  });

  it("writes IHDR with the image's size, 8-bit RGB when opaque and RGBA otherwise", () => {
    assert.deepEqual(ihdr(encodePng(image)), { width: 37, height: 23, bitDepth: 8, colorType: 2, interlace: 0 });
    const translucent = pattern(5, 4, (x) => [10, 20, 30, x * 50]);
    assert.equal(ihdr(encodePng(translucent)).colorType, 6);
  });

  it("round-trips through a reference decoder written in the test", () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 24 }), fc.integer({ min: 1, max: 24 }), fc.boolean(), fc.integer(),
      (w, h, alpha, seed) => {
        let s = seed >>> 0;
        const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24;
        const img = pattern(w, h, () => [next(), next() & 0xf0, next() & 0x0f, alpha ? next() : 255]);
        const decoded = referenceDecode(encodePng(img));
        assert.deepEqual(decoded.data, img.data);
      },
    ), { numRuns: 60 });
  });

  it("stores text as UTF-8 iTXt that the decoder reads back", () => {
    const png = encodePng(image, { text: { Description: "lac bleu à l'aube" } });
    assert.equal(decodePng(png).text["Description"], "lac bleu à l'aube");
  });

  it("rejects sizes that do not match the data", () => {
    assert.throws(() => encodePng({ width: 2, height: 2, data: new Uint8Array(15) }), RangeError);
    assert.throws(() => encodePng({ width: 0, height: 2, data: new Uint8Array(0) }), RangeError);
  });
});

describe("PNG decoder", () => {
  it("decodes 8-bit grey, grey+alpha and 16-bit RGB made by hand", () => {
    const grey = decodePng(handMade(2, 1, 8, 0, [[0, 200]]));
    assert.deepEqual([...grey.data], [0, 0, 0, 255, 200, 200, 200, 255]);
    const ga = decodePng(handMade(1, 1, 8, 4, [[90, 128]]));
    assert.deepEqual([...ga.data], [90, 90, 90, 128]);
    const rgb16 = decodePng(handMade(1, 1, 16, 2, [[0x12, 0x34, 0xab, 0xcd, 0xff, 0x00]]));
    assert.deepEqual([...rgb16.data], [0x12, 0xab, 0xff, 255]);
  });

  it("decodes 1-bit grey, scaling samples to 0..255", () => {
    const png = handMade(10, 1, 1, 0, [[0b10110000, 0b01000000]]);
    assert.deepEqual([...decodePng(png).data].filter((_, i) => i % 4 === 0), [255, 0, 255, 255, 0, 0, 0, 0, 0, 255]);
  });

  it("decodes a 2-bit palette image with tRNS transparency", () => {
    const plte = makeChunk("PLTE", Uint8Array.of(255, 0, 0, 0, 255, 0, 0, 0, 255));
    const trns = makeChunk("tRNS", Uint8Array.of(255, 64));
    const png = handMade(3, 1, 2, 3, [[0b00011000]], [plte, trns]);
    assert.deepEqual([...decodePng(png).data], [255, 0, 0, 255, 0, 255, 0, 64, 0, 0, 255, 255]);
  });

  it("decodes an Adam7-interlaced image", () => {
    // 3×3 grey image with pixel value 10*y + x, laid out in Adam7 passes by hand.
    const w = 3, h = 3;
    const passes: Array<[number, number, number, number]> = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];
    const rows: number[][] = [];
    for (const [x0, y0, dx, dy] of passes) {
      for (let y = y0; y < h; y += dy) {
        const row: number[] = [];
        for (let x = x0; x < w; x += dx) row.push(10 * y + x);
        if (row.length) rows.push(row);
      }
    }
    const raw = concatBytes(rows.map((r) => Uint8Array.from([0, ...r])));
    const png = concatBytes([SIGNATURE, makeChunk("IHDR", ihdrBody(w, h, 8, 0, 1)), makeChunk("IDAT", new Uint8Array(deflateSync(raw))), makeChunk("IEND", new Uint8Array(0))]);
    const out = decodePng(png);
    assert.deepEqual([...out.data].filter((_, i) => i % 4 === 0), [0, 1, 2, 10, 11, 12, 20, 21, 22]);
  });

  it("rejects a file whose chunk CRC is wrong with a typed error", () => {
    const png = encodePng(pattern(4, 4, () => [1, 2, 3]));
    const broken = png.slice();
    broken[broken.length - 20]! ^= 0xff; // inside IDAT
    assert.throws(() => decodePng(broken), (e: unknown) => e instanceof ForgeError && e.code === "RPC_VALIDATION" && /CRC|inflate/.test(e.message));
  });

  it("rejects truncated files, a missing signature and oversized images", () => {
    const png = encodePng(pattern(8, 8, () => [1, 2, 3]));
    assert.throws(() => decodePng(png.subarray(0, png.length - 15)), ForgeError);
    assert.throws(() => decodePng(new Uint8Array(20)), ForgeError);
    assert.throws(() => decodePng(png, { maxPixels: 63 }), /more than 63 pixels/);
  });

  it("reports chunk CRCs without throwing in readPngChunks", () => {
    const png = encodePng(pattern(2, 2, () => [9, 9, 9]));
    png[png.length - 1]! ^= 1; // IEND CRC
    const chunks = readPngChunks(png);
    assert.equal(chunks.at(-1)!.type, "IEND");
    assert.equal(chunks.at(-1)!.crcOk, false);
  });
});

describe("APNG", () => {
  const frames = [0, 1, 2, 3].map((f) => pattern(12, 8, (x, y) => [x === f * 3 ? 255 : 20, y * 20, 40]));

  it("encodes acTL, fcTL and fdAT with consecutive sequence numbers and correct CRCs", () => {
    const apng = encodeApng(frames, 8);
    const chunks = pngChunks(apng);
    for (const c of chunks) assert.ok(c.crcOk, c.type);
    assert.deepEqual(chunks.map((c) => c.type), ["IHDR", "acTL", "fcTL", "IDAT", "fcTL", "fdAT", "fcTL", "fdAT", "fcTL", "fdAT", "IEND"]);
    const actl = chunks[1]!.data;
    assert.equal(new DataView(actl.buffer, actl.byteOffset).getUint32(0), 4);
    const seqs = chunks.filter((c) => c.type === "fcTL" || c.type === "fdAT").map((c) => new DataView(c.data.buffer, c.data.byteOffset).getUint32(0));
    assert.deepEqual(seqs, [0, 1, 2, 3, 4, 5, 6]);
  });

  it("decodes its frames back, with their delays", () => {
    const out = decodeApng(encodeApng(frames, 8));
    assert.equal(out.frames.length, 4);
    out.frames.forEach((f, i) => assert.deepEqual(f.data, frames[i]!.data));
    for (const d of out.delays) assert.equal(d, 0.125);
  });

  it("decodes a plain PNG as one frame", () => {
    const out = decodeApng(encodePng(frames[0]!));
    assert.equal(out.frames.length, 1);
    assert.deepEqual(out.frames[0]!.data, frames[0]!.data);
  });
});

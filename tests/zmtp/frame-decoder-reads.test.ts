import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FrameDecoder, FrameWriter } from "../../src/zmtp/mod.ts";

function encode(bodies: Uint8Array[]): Uint8Array {
  const w = new FrameWriter();
  for (const b of bodies) w.frame(0, b);
  const parts = w.take();
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const filledWith = (size: number, value: number): Uint8Array => new Uint8Array(size).fill(value);

describe("FrameDecoder with reused read buffers", () => {
  it("transient chunks: delivered frames do not alias the chunk (it may be overwritten)", () => {
    const bytes = encode([filledWith(10, 1), filledWith(300, 2)]);
    const chunk = new Uint8Array(bytes);
    const got: Uint8Array[] = [];
    new FrameDecoder().push(chunk, 0, { stopped: false, frame: (_f, body) => got.push(body) }, true);
    chunk.fill(0xee);
    assert.equal(got.length, 2);
    assert.deepEqual(got[0], filledWith(10, 1));
    assert.deepEqual(got[1], filledWith(300, 2));
  });

  it("non-transient chunks keep zero-copy views", () => {
    const chunk = encode([filledWith(10, 1)]);
    let body: Uint8Array | undefined;
    new FrameDecoder().push(chunk, 0, { stopped: false, frame: (_f, b) => (body = b) });
    assert.equal(body?.buffer, chunk.buffer);
  });

  it("a large frame's remaining bytes can be read straight into its buffer (bodyTarget + filled)", () => {
    const big = new Uint8Array(20_000).map((_, i) => i & 255);
    const bytes = encode([big, filledWith(5, 9)]);
    const dec = new FrameDecoder();
    const got: Uint8Array[] = [];
    const sink = { stopped: false, frame: (_f: number, b: Uint8Array) => got.push(b) };
    assert.equal(dec.bodyTarget(1), undefined, "no target before a frame starts");
    dec.push(bytes.subarray(0, 1000), 0, sink, true); // header + the first 991 body bytes
    const target = dec.bodyTarget(4096);
    assert.ok(target);
    assert.equal(target.length, 20_000 - 991);
    assert.equal(dec.bodyTarget(20_000), undefined, "no target when less than `min` is missing");
    // Two reads land in the target, the rest (and the next frame) come as ordinary chunks.
    target.set(bytes.subarray(1000, 11_000));
    dec.filled(10_000, sink);
    assert.equal(got.length, 0);
    dec.push(bytes.subarray(11_000), 0, sink, true);
    assert.equal(got.length, 2);
    assert.deepEqual(got[0], big);
    assert.deepEqual(got[1], filledWith(5, 9));
  });

  it("filled() completing the frame delivers it", () => {
    const big = filledWith(8000, 7);
    const bytes = encode([big]);
    const dec = new FrameDecoder();
    const got: Uint8Array[] = [];
    const sink = { stopped: false, frame: (_f: number, b: Uint8Array) => got.push(b) };
    dec.push(bytes.subarray(0, 9), 0, sink, true); // the long header only
    const target = dec.bodyTarget(1);
    assert.equal(target?.length, 8000);
    target?.set(bytes.subarray(9));
    dec.filled(8000, sink);
    assert.equal(got.length, 1);
    assert.deepEqual(got[0], big);
    assert.equal(dec.midFrame, false);
    assert.throws(() => dec.filled(1, sink), RangeError);
  });
});

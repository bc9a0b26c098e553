import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { concatBytes } from "../../src/util/bytes.ts";
import { FrameDecoder, FrameWriter } from "../../src/zmtp/mod.ts";

function encode(bodies: Uint8Array[]): Uint8Array {
  const w = new FrameWriter();
  for (const b of bodies) w.frame(0, b);
  return concatBytes(w.take());
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

describe("FrameDecoder on the filled part of a read buffer (end)", () => {
  it("decodes only chunk[0..end], at every split of a stream into reads, whatever lies beyond", () => {
    const bodies = [filledWith(3, 1), filledWith(300, 2), new Uint8Array(0), filledWith(70_000, 3), filledWith(1, 4)];
    const stream = encode(bodies);
    const read = new Uint8Array(stream.length + 16);
    for (const step of [1, 2, 7, 9, 64, 4096, stream.length]) {
      for (const transient of [true, false]) {
        const dec = new FrameDecoder();
        const got: Uint8Array[] = [];
        const sink = { stopped: false, frame: (_f: number, b: Uint8Array) => got.push(new Uint8Array(b)) };
        for (let at = 0; at < stream.length; at += step) {
          const n = Math.min(step, stream.length - at);
          // Each read reuses one buffer; what lies beyond the n bytes read is stale garbage.
          const chunk = transient ? read : new Uint8Array(stream.length + 16);
          chunk.fill(0xff);
          chunk.set(stream.subarray(at, at + n));
          assert.equal(dec.push(chunk, 0, sink, transient, n), n);
        }
        assert.equal(dec.midFrame, false, `step ${step}`);
        assert.deepEqual(got, bodies, `step ${step}, transient ${transient}`);
      }
    }
  });
});

describe("FrameDecoder frameBuffers (one buffer per large frame, for recycling)", () => {
  /** A source that records what it handed out. */
  function recordingSource(minSize: number): { minSize: number; take(size: number): Uint8Array; given: Uint8Array[] } {
    const given: Uint8Array[] = [];
    return {
      minSize,
      given,
      take(size) {
        const b = new Uint8Array(size);
        given.push(b);
        return b;
      },
    };
  }

  /** Feed `bytes` in chunks of `step` (transient, as a reused read buffer), returning the frames. */
  function decodeInChunks(dec: FrameDecoder, bytes: Uint8Array, step: number): Uint8Array[] {
    const got: Uint8Array[] = [];
    const sink = { stopped: false, frame: (_f: number, body: Uint8Array) => got.push(body) };
    const scratch = new Uint8Array(step);
    for (let at = 0; at < bytes.length; at += step) {
      const part = bytes.subarray(at, Math.min(bytes.length, at + step));
      scratch.set(part);
      dec.push(scratch.subarray(0, part.length), 0, sink, true);
      scratch.fill(0xee);
    }
    return got;
  }

  for (const step of [7, 1000, 5000, 1 << 20]) {
    it(`frames ≥ minSize come from the source, each alone in its buffer (read size ${step})`, () => {
      const bodies = [filledWith(10, 1), filledWith(3000, 2), filledWith(20, 3), filledWith(4096, 4), filledWith(2048, 5)];
      const source = recordingSource(2048);
      const dec = new FrameDecoder();
      dec.frameBuffers = source;
      const got = decodeInChunks(dec, encode(bodies), step);
      assert.deepEqual(got, bodies);
      const large = got.filter((f) => f.byteLength >= 2048);
      assert.equal(source.given.length, 3);
      for (const frame of large) {
        assert.ok(source.given.includes(frame), "a large frame is exactly a buffer from the source");
        assert.equal(frame.byteOffset, 0);
        assert.equal(frame.buffer.byteLength, frame.byteLength);
      }
      for (const frame of got.filter((f) => f.byteLength < 2048)) {
        assert.ok(!source.given.some((b) => b.buffer === frame.buffer), "small frames never share a source buffer");
      }
    });
  }

  it("frames read straight into their buffer (bodyTarget) also use the source", () => {
    const source = recordingSource(1024);
    const dec = new FrameDecoder();
    dec.frameBuffers = source;
    const bytes = encode([filledWith(50_000, 9)]);
    const got: Uint8Array[] = [];
    const sink = { stopped: false, frame: (_f: number, body: Uint8Array) => got.push(body) };
    dec.push(bytes.subarray(0, 100), 0, sink, true);
    const target = dec.bodyTarget(1024);
    assert.ok(target);
    target.set(bytes.subarray(100));
    dec.filled(bytes.length - 100, sink);
    assert.equal(got.length, 1);
    assert.equal(got[0], source.given[0]);
    assert.deepEqual(got[0], filledWith(50_000, 9));
  });
});

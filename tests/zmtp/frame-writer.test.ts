import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { FLAG_MORE, FrameWriter } from "../../src/zmtp/mod.ts";
import { concatBytes } from "../../src/util/bytes.ts";

/** What an idle writer may hold between batches. */
const IDLE_MAX = 4 * 1024;

/** ZMTP 3 frame encoding written out independently of FrameWriter. */
function reference(frames: Array<[number, Uint8Array]>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [flags, body] of frames) {
    if (body.length > 255) {
      const h = new Uint8Array(9);
      h[0] = flags | 2;
      new DataView(h.buffer).setBigUint64(1, BigInt(body.length));
      parts.push(h);
    } else {
      parts.push(new Uint8Array([flags, body.length]));
    }
    parts.push(body);
  }
  return concatBytes(parts);
}

function body(size: number, seed: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (i + seed) & 255;
  return b;
}

describe("FrameWriter output blocks", () => {
  it("grows its block for a burst, then holds at most 4 KiB once traffic is small", () => {
    const w = new FrameWriter();
    const burst: Array<[number, Uint8Array]> = [];
    let peak = 0;
    for (let i = 0; i < 1000; i++) {
      const f: [number, Uint8Array] = [i % 2 ? 0 : FLAG_MORE, body(200, i)];
      burst.push(f);
      w.frame(f[0], f[1]);
      peak = Math.max(peak, w.capacity);
    }
    assert.equal(peak, 64 * 1024, "a 200 KB burst is copied into 64 KiB blocks");
    assert.deepEqual(concatBytes(w.take()), reference(burst));
    assert.ok(w.capacity <= IDLE_MAX, `after the burst: ${w.capacity}`);

    for (let i = 0; i < 10; i++) {
      const small: Array<[number, Uint8Array]> = [[FLAG_MORE, body(5, i)], [0, body(40, i)]];
      for (const [flags, b] of small) w.frame(flags, b);
      assert.deepEqual(concatBytes(w.take()), reference(small));
      assert.ok(w.capacity <= IDLE_MAX, `after small batch ${i}: ${w.capacity}`);
    }
    assert.equal(w.capacity, IDLE_MAX, "small batches end up sharing one small block");
  });

  it("starts with a small block and keeps it for small batches", () => {
    const w = new FrameWriter();
    assert.equal(w.capacity, 0);
    w.raw(new Uint8Array(64));
    w.frame(0, body(10, 0));
    assert.equal(w.capacity, IDLE_MAX);
    w.take();
    assert.equal(w.capacity, IDLE_MAX);
  });

  it("hands out a steady stream of 3 KB batches as one chunk each (no split across blocks)", () => {
    const w = new FrameWriter();
    for (let i = 0; i < 100; i++) {
      for (let j = 0; j < 50; j++) w.frame(0, body(60, j));
      assert.equal(w.take().length, 1, `batch ${i}`);
      assert.ok(w.capacity <= IDLE_MAX);
    }
  });

  it("property: output is the reference encoding, handed-out chunks never change, idle holds <= 4 KiB", () => {
    const frame = fc.tuple(
      fc.constantFrom(0, FLAG_MORE),
      fc.oneof(fc.nat(300), fc.nat(20_000), fc.constantFrom(0, 255, 256, 16 * 1024 - 1, 16 * 1024, 70_000)),
    );
    fc.assert(
      fc.property(fc.array(fc.array(frame, { maxLength: 40 }), { maxLength: 12 }), (batches) => {
        const w = new FrameWriter();
        const handed: Array<[Uint8Array, Uint8Array]> = [];
        let seed = 0;
        for (const batch of batches) {
          const frames = batch.map(([flags, size]): [number, Uint8Array] => [flags, body(size, seed++)]);
          for (const [flags, b] of frames) w.frame(flags, b);
          const chunks = w.take();
          assert.deepEqual(concatBytes(chunks), reference(frames));
          for (const c of chunks) handed.push([c, c.slice()]);
          assert.ok(w.capacity <= IDLE_MAX);
        }
        for (const [chunk, copy] of handed) assert.deepEqual(chunk, copy);
      }),
      { numRuns: 100 },
    );
  });
});

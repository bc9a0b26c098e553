import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { copySmall, smallBytes } from "../../src/util/small-bytes.ts";

describe("smallBytes", () => {
  it("returns zero-filled arrays of the asked size, on the heap, from slabs and on their own", () => {
    for (const size of [0, 1, 64, 65, 200, 4096, 4097, 70_000]) {
      const bytes = smallBytes(size);
      assert.equal(bytes.byteLength, size);
      assert.ok(bytes.every((b) => b === 0), `size ${size} is zero-filled`);
    }
  });

  it("never hands out overlapping memory, also across slabs", () => {
    const arrays = Array.from({ length: 2000 }, (_, i) => smallBytes(65 + (i % 300)));
    arrays.forEach((a, i) => a.fill(i & 255));
    arrays.forEach((a, i) => assert.ok(a.every((b) => b === (i & 255)), `array ${i} was overwritten`));
    const slabs = new Set(arrays.map((a) => a.buffer));
    assert.ok(slabs.size > 1, "more than one slab was used");
  });

  it("copySmall copies a prefix into memory of its own", () => {
    const source = new Uint8Array(500).map((_, i) => i & 255);
    for (const size of [10, 100, 500]) {
      const copy = copySmall(source, size);
      assert.deepEqual(copy, source.subarray(0, size));
      copy[0] = 99;
      assert.equal(source[0], 0);
    }
  });
});

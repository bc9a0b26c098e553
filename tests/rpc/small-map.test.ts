import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { decodeValue, encodeValue } from "../../src/rpc/wire/codec.ts";
import { readSmallMap, type SmallValue, writeSmallMap } from "../../src/rpc/wire/small-map.ts";

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const key = fc.string({ maxLength: 40 }).filter((k) => k !== "__proto__");
const value: fc.Arbitrary<SmallValue> = fc.oneof(
  fc.string({ maxLength: 300 }).filter((s) => new TextEncoder().encode(s).length < 0x10000),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  fc.double({ noNaN: true }).filter((d) => !Object.is(d, -0)), // msgpack encoders write -0 as the integer 0
  fc.boolean(),
  fc.constant(null),
);
const entries = fc.uniqueArray(fc.tuple(key, value), { maxLength: 15, selector: ([k]) => k });

describe("rpc header fast path (small msgpack maps)", () => {
  it("writes what a general msgpack decoder reads back", () => {
    fc.assert(fc.property(entries, (list) => {
      assert.deepEqual(decodeValue(writeSmallMap(list)), Object.fromEntries(list));
    }), { numRuns: 2000 });
  });

  it("reads what a general msgpack encoder writes", () => {
    fc.assert(fc.property(entries, (list) => {
      const expected = Object.fromEntries(list);
      assert.deepEqual(readSmallMap(encodeValue(expected)), expected);
    }), { numRuns: 2000 });
  });

  it("uses the smallest integer forms, and uint64 above 2^32", () => {
    assert.equal(hex(writeSmallMap([["a", 5]])), "81a16105");
    assert.equal(hex(writeSmallMap([["a", 200]])), "81a161ccc8");
    assert.equal(hex(writeSmallMap([["a", 30000]])), "81a161cd7530");
    assert.equal(hex(writeSmallMap([["a", 2 ** 32]])), "81a161cf0000000100000000");
  });

  it("gives up (undefined) on shapes it does not handle, leaving them to the general decoder", () => {
    for (const v of [[1], { nested: 1 }, new Uint8Array(2)]) assert.equal(readSmallMap(encodeValue({ v })), undefined);
    assert.equal(readSmallMap(encodeValue([1, 2])), undefined);
    assert.equal(readSmallMap(new Uint8Array(0)), undefined);
  });

  it("gives up on truncated frames and on bytes after the map", () => {
    const frame = writeSmallMap([["kind", "result"], ["n", 70000]]);
    for (let cut = 1; cut < frame.length; cut++) assert.equal(readSmallMap(frame.subarray(0, cut)), undefined, `cut at ${cut}`);
    const longer = new Uint8Array(frame.length + 1);
    longer.set(frame);
    assert.equal(readSmallMap(longer), undefined);
  });

  it("a __proto__ key becomes an own property, never the prototype", () => {
    const map = readSmallMap(encodeValue(JSON.parse('{"__proto__": "x", "kind": "ack"}')));
    assert.ok(map);
    assert.equal(Object.getPrototypeOf(map), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(map, "__proto__")?.value, "x");
  });

  it("decodes non-ASCII strings", () => {
    assert.deepEqual(readSmallMap(writeSmallMap([["worker", "wörker-ü"]])), { worker: "wörker-ü" });
  });
});

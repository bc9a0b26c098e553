import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { decodeValue, encodeValue, generalDecode, generalEncode } from "../../src/rpc/wire/codec.ts";
import { fastDecode, NOT_DECODED } from "../../src/rpc/wire/msgpack-read.ts";
import { fastEncode } from "../../src/rpc/wire/msgpack-write.ts";

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

// Values of the plain msgpack profile: what payloads are made of.
const plain = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.string({ unit: "grapheme", maxLength: 40 }),
    fc.string({ minLength: 30, maxLength: 300 }),
    fc.string({ unit: "binary", maxLength: 20 }),
    fc.integer(),
    fc.integer({ min: -200, max: 70_000 }),
    fc.double(),
    fc.maxSafeInteger(),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 300 }),
    fc.array(tie("value"), { maxLength: 20 }),
    fc.dictionary(fc.string({ maxLength: 12 }), fc.option(tie("value"), { nil: undefined }), { maxKeys: 20 }),
  ),
})).value;

describe("rpc msgpack fast path", () => {
  it("writes the same bytes as msgpackr for every plain value", () => {
    fc.assert(fc.property(plain, (value) => {
      const fast = fastEncode(value);
      assert.ok(fast !== undefined, "a plain value takes the fast path");
      assert.equal(hex(fast), hex(generalEncode(value)));
    }), { numRuns: 300 });
  });

  it("reads what msgpackr reads, for every plain value", () => {
    fc.assert(fc.property(plain, (value) => {
      const frame = generalEncode(value);
      const fast = fastDecode(frame);
      assert.notEqual(fast, NOT_DECODED);
      assert.deepEqual(fast, generalDecode(frame));
    }), { numRuns: 300 });
  });

  it("writes strings of every header size (fixstr, str8, str16, str32) like msgpackr", () => {
    for (const n of [0, 31, 32, 255, 256, 65_535, 65_536]) {
      for (const s of ["a".repeat(n), "é".repeat(Math.ceil(n / 2)), `\ud800${"b".repeat(n)}`]) {
        assert.equal(hex(fastEncode(s) as Uint8Array), hex(generalEncode(s)), `length ${s.length}`);
        assert.equal(fastDecode(generalEncode(s)), s.replace("\ud800", "\ufffd"));
      }
    }
  });

  it("copies large binary fields once into an exactly sized frame", () => {
    const big = new Uint8Array(100_000).map((_, i) => i & 255);
    const value = { a: "x", big, list: [big.subarray(5, 9000), 1], tail: "end" };
    const frame = fastEncode(value) as Uint8Array;
    assert.equal(hex(frame), hex(generalEncode(value)));
    assert.equal(frame.buffer.byteLength, frame.byteLength);
  });

  it("gives up on values only msgpackr handles, and encodeValue still encodes them", () => {
    for (const value of [new Date(0), new Map([[1, 2]]), 10n, new Float32Array([1]), { d: new Date(0) }]) {
      assert.equal(fastEncode(value), undefined);
      assert.equal(hex(encodeValue(value)), hex(generalEncode(value)));
    }
  });

  it("gives up on frames only msgpackr reads (extensions, non-string keys), and decodeValue still reads them", () => {
    const intKeys = new Uint8Array([0x81, 0x01, 0x02]); // {1: 2}
    assert.equal(fastDecode(intKeys), NOT_DECODED);
    assert.deepEqual(decodeValue(intKeys), generalDecode(intKeys));
    const ext = new Uint8Array([0xd4, 0x01, 0x00]);
    assert.equal(fastDecode(ext), NOT_DECODED);
  });

  it("turns a __proto__ key into __proto_ like msgpackr, never touching the prototype", () => {
    const frame = new Uint8Array([0x81, 0xa9, ...new TextEncoder().encode("__proto__"), 0x01]);
    const value = fastDecode(frame) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.deepEqual(value, generalDecode(frame));
  });

  it("rejects truncated frames and trailing bytes (left to msgpackr's error)", () => {
    for (const bytes of [[0x92, 0x01], [0x01, 0x02], [0xc4, 0x05, 1], [0xa3, 0x61], [0xdc, 0xff, 0xff], [0x81]]) {
      assert.equal(fastDecode(new Uint8Array(bytes)), NOT_DECODED, hex(new Uint8Array(bytes)));
    }
  });

  it("decodes binary as plain Uint8Array views even from a Node Buffer frame", async () => {
    const { Buffer } = await import("node:buffer");
    const frame = Buffer.from(generalEncode({ b: new Uint8Array([1, 2, 3]) }));
    const value = fastDecode(frame) as { b: Uint8Array };
    assert.equal(value.b.constructor, Uint8Array);
    assert.equal(value.b.buffer, frame.buffer);
  });
});

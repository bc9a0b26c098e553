import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { decodeValue, encodeValue } from "../../src/rpc/wire/codec.ts";
import { encodeCallHeader, ENVELOPE_VERSION, fastDecodeHeader, fastHeaderEnd, fieldlessHeader } from "../../src/rpc/wire/header-fast.ts";
import { writeSmallMap } from "../../src/rpc/wire/small-map.ts";

const uint = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));

describe("rpc header fast path (call and field-less headers)", () => {
  it("encodes a call header exactly as the general small-map writer does", () => {
    fc.assert(fc.property(uint, uint, (timeout, deadline) => {
      const general = writeSmallMap([["version", ENVELOPE_VERSION], ["kind", "call"], ["timeout", timeout], ["deadline", deadline]]);
      assert.deepEqual(encodeCallHeader(timeout, deadline), general);
    }), { numRuns: 1000 });
  });

  it("decodes call headers written by any msgpack encoder, whatever integer form it picks", () => {
    fc.assert(fc.property(uint, uint, (timeout, deadline) => {
      const frame = encodeValue({ version: ENVELOPE_VERSION, kind: "call", timeout, deadline });
      const decoded = fastDecodeHeader(frame);
      // msgpackr writes integers above 2^32 as float64, which the fast path leaves to the general decoder.
      if (decoded !== undefined) assert.deepEqual(decoded, { kind: "call", timeout, deadline });
      assert.deepEqual(fastDecodeHeader(encodeCallHeader(timeout, deadline)), { kind: "call", timeout, deadline });
    }), { numRuns: 1000 });
  });

  it("recognises the field-less headers", () => {
    for (const kind of ["progress", "result", "error", "cancel"]) {
      assert.deepEqual(decodeValue(fieldlessHeader(kind)), { version: ENVELOPE_VERSION, kind });
      assert.deepEqual(fastDecodeHeader(fieldlessHeader(kind)), { kind });
    }
  });

  it("leaves everything else to the general decoder", () => {
    const call = encodeCallHeader(5, 6);
    const others = [
      encodeValue({ version: ENVELOPE_VERSION, kind: "call", timeout: 5, deadline: 6, meta: {} }),
      encodeValue({ version: ENVELOPE_VERSION, kind: "call", deadline: 6, timeout: 5 }),
      encodeValue({ version: 1, kind: "result" }),
      encodeValue({ version: ENVELOPE_VERSION, kind: "ack", worker: "w" }),
      encodeValue({ version: ENVELOPE_VERSION, kind: "call", timeout: -5, deadline: 6 }),
      call.subarray(0, call.length - 1),
      new Uint8Array(0),
    ];
    for (const frame of others) assert.equal(fastDecodeHeader(frame), undefined);
  });

  it("recognises a header followed by its payload and tells where the header ended", () => {
    const payload = [0x81, 0xa1, 0x61, 0x01];
    const call = encodeCallHeader(30_000, 1_767_225_630_000);
    assert.deepEqual(fastDecodeHeader(new Uint8Array([...call, ...payload])), { kind: "call", timeout: 30_000, deadline: 1_767_225_630_000 });
    assert.equal(fastHeaderEnd(), call.length);
    const result = fieldlessHeader("result");
    assert.deepEqual(fastDecodeHeader(new Uint8Array([...result, ...payload])), { kind: "result" });
    assert.equal(fastHeaderEnd(), result.length);
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeValue, encodeValue } from "../../src/rpc/wire/codec.ts";
import { RpcProtocolError } from "../../src/rpc/errors.ts";

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

describe("rpc msgpack codec", () => {
  it("round-trips plain values", () => {
    const value = { s: "héllo", n: -3, f: 1.5, t: true, z: null, list: [1, "two", [3]], nested: { a: { b: 2 } } };
    assert.deepEqual(decodeValue(encodeValue(value)), value);
  });

  it("encodes a Uint8Array as msgpack bin, not as an extension or base64", () => {
    const frame = encodeValue(new Uint8Array([1, 2, 3]));
    assert.equal(hex(frame), "c403010203");
  });

  it("decodes bin as a plain Uint8Array view of the received frame (no copy)", () => {
    const image = new Uint8Array(4096).map((_, i) => i & 255);
    const frame = encodeValue({ image });
    const decoded = decodeValue(frame) as { image: Uint8Array };
    assert.equal(decoded.image.constructor, Uint8Array);
    assert.equal(decoded.image.buffer, frame.buffer, "the decoded bytes share the frame's memory");
    assert.deepEqual(decoded.image, image);
  });

  it("returns plain Uint8Array frames on every runtime (never a Node Buffer)", () => {
    assert.equal(encodeValue({ a: 1 }).constructor, Uint8Array);
  });

  it("omits undefined object fields (optional fields left unset)", () => {
    assert.equal(hex(encodeValue({ a: undefined, b: 1 })), "81a16201");
  });

  it("encodes undefined array items as nil, never as a msgpackr extension", () => {
    assert.equal(hex(encodeValue([undefined])), "91c0");
  });

  it("later encodes do not overwrite an earlier frame", () => {
    const first = encodeValue({ k: "first" });
    const copy = hex(first);
    for (let i = 0; i < 100; i++) encodeValue({ k: `other ${i}`, pad: "x".repeat(i * 10) });
    assert.equal(hex(first), copy);
  });

  it("rejects an empty frame with RpcProtocolError", () => {
    assert.throws(() => decodeValue(new Uint8Array(0)), RpcProtocolError);
  });

  it("rejects a truncated value with RpcProtocolError", () => {
    assert.throws(() => decodeValue(new Uint8Array([0x92, 0x01])), (e: unknown) => {
      assert.ok(e instanceof RpcProtocolError);
      assert.equal(e.code, "RPC_BAD_ENVELOPE");
      assert.ok(e.cause instanceof Error);
      return true;
    });
  });

  it("rejects bytes after the value with RpcProtocolError", () => {
    assert.throws(() => decodeValue(new Uint8Array([0x01, 0x02])), RpcProtocolError);
  });

  it("decodes from a view with a non-zero offset", () => {
    const frame = encodeValue({ x: 7 });
    const big = new Uint8Array(frame.byteLength + 10);
    big.set(frame, 5);
    assert.deepEqual(decodeValue(big.subarray(5, 5 + frame.byteLength)), { x: 7 });
  });
});

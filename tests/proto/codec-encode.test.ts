import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decode, encode, EncodeErrorCode, MAX_STRING_BYTES, MlmEncodeError } from "../../src/proto/mod.ts";
import type { MlmMessage } from "../../src/proto/mod.ts";
import { MalamuteError } from "../../src/errors.ts";
import { sampleMessages, toHex } from "./vectors.ts";

function encodeError(message: unknown): MlmEncodeError {
  try {
    encode(message as MlmMessage);
  } catch (e) {
    assert.ok(e instanceof MlmEncodeError, `expected MlmEncodeError, got ${String(e)}`);
    assert.ok(e instanceof MalamuteError);
    return e;
  }
  assert.fail("encode did not throw");
}

describe("encode: strings are UTF-8 with a 1-byte length, never truncated", () => {
  it("a 255-byte string is the maximum and encodes with length byte ff", () => {
    const frames = encode({ type: "STREAM_WRITE", stream: "a".repeat(MAX_STRING_BYTES) });
    assert.equal(frames[0]!.length, 3 + 1 + 255);
    assert.equal(frames[0]![3], 0xff);
  });

  it("a 256-byte ASCII string throws MLM_STRING_TOO_LONG naming the field", () => {
    const e = encodeError({ type: "MAILBOX_SEND", address: "bob", subject: "x".repeat(256), tracker: "", timeout: 0, content: [] });
    assert.equal(e.code, EncodeErrorCode.STRING_TOO_LONG);
    assert.equal(e.field, "subject");
    assert.match(e.message, /subject/);
  });

  it("the 255-byte limit counts UTF-8 bytes, not characters", () => {
    // 85 x 3-byte chars = 255 bytes: fits. 86 = 258 bytes: too long although only 86 characters.
    const fits = encode({ type: "STREAM_WRITE", stream: "\u6771".repeat(85) });
    assert.equal(fits[0]![3], 255);
    assert.equal(encodeError({ type: "STREAM_WRITE", stream: "\u6771".repeat(86) }).code, EncodeErrorCode.STRING_TOO_LONG);
    // 63 emoji (4 bytes each, 2 UTF-16 units) = 252 bytes: fits; 64 = 256: too long.
    assert.equal(encode({ type: "STREAM_WRITE", stream: "\u{1F600}".repeat(63) })[0]![3], 252);
    assert.equal(encodeError({ type: "STREAM_WRITE", stream: "\u{1F600}".repeat(64) }).field, "stream");
  });

  it("a very long string is rejected as too long, not truncated", () => {
    const e = encodeError({ type: "OK", code: 200, reason: "r".repeat(1_000_000) });
    assert.equal(e.code, EncodeErrorCode.STRING_TOO_LONG);
    assert.equal(e.field, "reason");
  });

  it("non-ASCII strings are encoded as UTF-8 (length byte counts bytes)", () => {
    const frames = encode({ type: "STREAM_WRITE", stream: "é\u6771\u{1F600}" });
    assert.equal(toHex(frames[0]!), "aaa80509" + "c3a9" + "e69db1" + "f09f9880");
  });

  it("a lone surrogate cannot be carried losslessly and throws MLM_BAD_STRING", () => {
    for (const bad of ["\ud800", "a\udc00b", "\ud83d"]) {
      const e = encodeError({ type: "STREAM_READ", stream: "s", pattern: bad });
      assert.equal(e.code, EncodeErrorCode.BAD_STRING);
      assert.equal(e.field, "pattern");
    }
  });

  it("a non-string string field throws MLM_BAD_STRING", () => {
    assert.equal(encodeError({ type: "STREAM_WRITE", stream: 5 }).code, EncodeErrorCode.BAD_STRING);
    assert.equal(encodeError({ type: "STREAM_WRITE" }).field, "stream");
  });
});

describe("encode: numbers are big-endian and range-checked", () => {
  it("number2 and number4 are big-endian", () => {
    assert.equal(toHex(encode({ type: "CREDIT", amount: 0x1234 })[0]!), "aaa8101234");
    const frames = encode({ type: "SERVICE_SEND", address: "", subject: "", tracker: "", timeout: 0x89abcdef, content: [] });
    assert.equal(toHex(frames[0]!), "aaa80b00000089abcdef");
  });

  it("2-byte fields accept 0..65535 and reject anything else with MLM_NUMBER_OUT_OF_RANGE", () => {
    for (const amount of [0, 65535]) assert.doesNotThrow(() => encode({ type: "CREDIT", amount }));
    for (const amount of [-1, 65536, 1.5, Number.NaN, Infinity, "1", undefined]) {
      const e = encodeError({ type: "CREDIT", amount });
      assert.equal(e.code, EncodeErrorCode.NUMBER_OUT_OF_RANGE, String(amount));
      assert.equal(e.field, "amount");
    }
    assert.equal(encodeError({ type: "OK", code: 70000, reason: "" }).field, "code");
  });

  it("4-byte fields accept 0..4294967295 and reject anything else with MLM_NUMBER_OUT_OF_RANGE", () => {
    const send = (timeout: unknown) => ({ type: "MAILBOX_SEND", address: "", subject: "", tracker: "", timeout, content: [] });
    assert.doesNotThrow(() => encode(send(0xffffffff) as MlmMessage));
    for (const timeout of [-1, 2 ** 32, 0.5, Number.NaN]) {
      const e = encodeError(send(timeout));
      assert.equal(e.code, EncodeErrorCode.NUMBER_OUT_OF_RANGE);
      assert.equal(e.field, "timeout");
    }
  });

  it("CONNECTION_OPEN version is range-checked like any 2-byte number", () => {
    const e = encodeError({ type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: -1, address: "" });
    assert.equal(e.field, "version");
  });
});

describe("encode: content and type validation", () => {
  it("content that is not an array of Uint8Array throws MLM_BAD_CONTENT", () => {
    for (const content of [undefined, "x", [Uint8Array.of(1), "x"], [[1, 2]]]) {
      const e = encodeError({ type: "STREAM_SEND", subject: "s", content });
      assert.equal(e.code, EncodeErrorCode.BAD_CONTENT);
      assert.equal(e.field, "content");
    }
  });

  it("an unknown message type throws MLM_UNKNOWN_TYPE, including inherited property names", () => {
    for (const type of ["NOPE", "toString", "__proto__", "constructor", undefined]) {
      const e = encodeError({ type });
      assert.equal(e.code, EncodeErrorCode.UNKNOWN_TYPE);
      assert.equal(e.field, "type");
    }
  });

  it("the header frame is sized exactly (no slack bytes) for every type", () => {
    for (const message of sampleMessages()) {
      const header = encode(message)[0]!;
      // The frame may be a view of a shared slab (src/util/small-bytes.ts): the view itself is exact.
      const r = decode([header], { trailingBytes: "reject" });
      assert.ok(r.ok, message.type);
      const padded = new Uint8Array(header.byteLength + 1);
      padded.set(header);
      assert.equal(decode([padded], { trailingBytes: "reject" }).ok, false, `${message.type}: one more byte is refused`);
    }
  });

  it("a failed encode leaves no partial state behind: the next encode is correct", () => {
    encodeError({ type: "MAILBOX_SEND", address: "abc", subject: "y".repeat(300), tracker: "", timeout: 0, content: [] });
    assert.equal(toHex(encode({ type: "STREAM_READ", stream: "ab", pattern: "c" })[0]!), "aaa80602616201" + "63");
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeValue } from "../../src/rpc/wire/codec.ts";
import {
  decodeEnvelope, decodeHeader, encodeHeader, ENVELOPE_VERSION, envelopeFrames, hasPayload, type Header, payloadOffset,
} from "../../src/rpc/wire/envelope.ts";
import { RpcProtocolError } from "../../src/rpc/errors.ts";

const samples: Header[] = [
  { kind: "call", timeout: 5000, deadline: 1_700_000_000_000 },
  { kind: "call", timeout: 1, deadline: 2, meta: { traceparent: "00-abc-def-01" } },
  { kind: "ack", worker: "rpc-worker-x" },
  { kind: "progress" },
  { kind: "chunk", seq: 0 },
  { kind: "chunk", seq: 70000 },
  { kind: "result" },
  { kind: "end", count: 3 },
  { kind: "error" },
  { kind: "cancel" },
  { kind: "cancel", deadline: 1_700_000_000_000 },
  { kind: "cancel", code: "RPC_DEADLINE_EXCEEDED" },
];

function rejects(frame: Uint8Array, pattern: RegExp): void {
  assert.throws(() => decodeHeader(frame), (e: unknown) => {
    assert.ok(e instanceof RpcProtocolError, `expected RpcProtocolError, got ${String(e)}`);
    assert.equal(e.code, "RPC_BAD_ENVELOPE");
    assert.match(e.message, pattern);
    return true;
  });
}

describe("rpc envelope header", () => {
  for (const header of samples) {
    it(`round-trips a ${header.kind} header ${JSON.stringify(header)}`, () => {
      assert.deepEqual(decodeHeader(encodeHeader(header)), header);
    });
  }

  it("writes the envelope version first, then the kind", () => {
    const raw = encodeValue({ version: ENVELOPE_VERSION, kind: "result" });
    assert.deepEqual(encodeHeader({ kind: "result" }), raw);
  });

  it("rejects another envelope version", () => {
    rejects(encodeValue({ version: 3, kind: "result" }), /version 3/);
    rejects(encodeValue({ version: 1, kind: "result" }), /version 1/);
    rejects(encodeValue({ kind: "result" }), /version/);
  });

  it("rejects an unknown kind", () => {
    rejects(encodeValue({ version: ENVELOPE_VERSION, kind: "bogus" }), /unknown envelope kind "bogus"/);
  });

  it("rejects a header that is not a map", () => {
    rejects(encodeValue([1, "call"]), /not a msgpack map/);
    rejects(encodeValue(new Uint8Array([1])), /not a msgpack map/);
  });

  it("rejects missing or mistyped fields", () => {
    rejects(encodeValue({ version: ENVELOPE_VERSION, kind: "call", deadline: 5 }), /"timeout"/);
    rejects(encodeValue({ version: ENVELOPE_VERSION, kind: "call", timeout: -1, deadline: 5 }), /"timeout"/);
    rejects(encodeValue({ version: ENVELOPE_VERSION, kind: "call", timeout: 1, deadline: "soon" }), /"deadline"/);
    rejects(encodeValue({ version: ENVELOPE_VERSION, kind: "call", timeout: 1, deadline: 1, meta: { a: 1 } }), /"meta"/);
    rejects(encodeValue({ version: ENVELOPE_VERSION, kind: "ack" }), /"worker"/);
    rejects(encodeValue({ version: ENVELOPE_VERSION, kind: "chunk", seq: 1.5 }), /"seq"/);
    rejects(encodeValue({ version: ENVELOPE_VERSION, kind: "end" }), /"count"/);
    rejects(encodeValue({ version: ENVELOPE_VERSION, kind: "cancel", deadline: "x" }), /"deadline"/);
    rejects(encodeValue({ version: ENVELOPE_VERSION, kind: "cancel", code: 5 }), /"code"/);
  });

  it("ignores unknown extra keys (forward compatibility)", () => {
    assert.deepEqual(decodeHeader(encodeValue({ version: ENVELOPE_VERSION, kind: "result", future: [1, 2] })), { kind: "result" });
  });

  it("rejects garbage bytes", () => {
    rejects(new Uint8Array([0xdc, 0xff]), /not a plain msgpack value/);
    rejects(new Uint8Array([0xc1]), /not a plain msgpack value/);
    rejects(new Uint8Array([0x84, 0xa7]), /not a plain msgpack value/);
  });

  it("decodes a header followed by more bytes and tells where it ended", () => {
    for (const header of samples) {
      const bytes = encodeHeader(header);
      const frame = new Uint8Array([...bytes, 0x91, 0x01]);
      assert.deepEqual(decodeHeader(frame), header);
      assert.equal(payloadOffset(), bytes.length, JSON.stringify(header));
    }
  });
});

describe("rpc envelope frames", () => {
  it("kinds with a payload: call, progress, chunk, result, error", () => {
    const withPayload = samples.filter((h) => hasPayload(h.kind)).map((h) => h.kind);
    assert.deepEqual([...new Set(withPayload)], ["call", "progress", "chunk", "result", "error"]);
  });

  it("a payload kind carries header and payload in one frame (envelope version 2)", () => {
    const frames = envelopeFrames({ kind: "result" }, { text: "hi" });
    assert.equal(frames.length, 1);
    const header = encodeHeader({ kind: "result" });
    assert.deepEqual((frames[0] as Uint8Array).subarray(0, header.length), header);
    assert.deepEqual((frames[0] as Uint8Array).subarray(header.length), encodeValue({ text: "hi" }));
    const envelope = decodeEnvelope(frames);
    assert.deepEqual(envelope.header, { kind: "result" });
    assert.deepEqual(envelope.payload, { text: "hi" });
  });

  it("a header-only kind is one frame holding just the header", () => {
    assert.deepEqual(envelopeFrames({ kind: "end", count: 2 }), [encodeHeader({ kind: "end", count: 2 })]);
    assert.deepEqual(decodeEnvelope(envelopeFrames({ kind: "end", count: 2 })), { header: { kind: "end", count: 2 } });
  });

  it("rejects a message with no frames", () => {
    assert.throws(() => decodeEnvelope([]), RpcProtocolError);
  });

  it("rejects a payload kind with nothing after its header", () => {
    assert.throws(() => decodeEnvelope([encodeHeader({ kind: "result" })]), /result message has no payload after its header/);
  });

  it("rejects bytes or frames after a header-only kind", () => {
    const header = encodeHeader({ kind: "ack", worker: "w" });
    assert.throws(() => decodeEnvelope([new Uint8Array([...header, 0xc0])]), /bytes after its header/);
    assert.throws(() => decodeEnvelope([header, new Uint8Array([0xc0])]), /2 frames/);
  });

  it("rejects the version 1 layout (header and payload in frames of their own)", () => {
    assert.throws(() => decodeEnvelope([encodeValue({ version: 1, kind: "result" }), encodeValue({ text: "hi" })]), /version 1/);
  });

  it("rejects trailing bytes after the payload", () => {
    const [frame] = envelopeFrames({ kind: "result" }, 5);
    assert.throws(() => decodeEnvelope([new Uint8Array([...(frame as Uint8Array), 0x01])]), RpcProtocolError);
  });

  it("refuses to build a header-only kind with a payload", () => {
    assert.throws(() => envelopeFrames({ kind: "end", count: 0 }, { x: 1 }), RpcProtocolError);
  });
});

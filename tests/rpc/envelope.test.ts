import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeValue } from "../../src/rpc/codec.ts";
import {
  decodeEnvelope, decodeHeader, encodeHeader, ENVELOPE_VERSION, envelopeFrames, hasPayload, type Header,
} from "../../src/rpc/envelope.ts";
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
    rejects(encodeValue({ version: 2, kind: "result" }), /version 2/);
    rejects(encodeValue({ kind: "result" }), /version/);
  });

  it("rejects an unknown kind", () => {
    rejects(encodeValue({ version: 1, kind: "bogus" }), /unknown envelope kind "bogus"/);
  });

  it("rejects a header that is not a map", () => {
    rejects(encodeValue([1, "call"]), /not a msgpack map/);
    rejects(encodeValue(new Uint8Array([1])), /not a msgpack map/);
  });

  it("rejects missing or mistyped fields", () => {
    rejects(encodeValue({ version: 1, kind: "call", deadline: 5 }), /"timeout"/);
    rejects(encodeValue({ version: 1, kind: "call", timeout: -1, deadline: 5 }), /"timeout"/);
    rejects(encodeValue({ version: 1, kind: "call", timeout: 1, deadline: "soon" }), /"deadline"/);
    rejects(encodeValue({ version: 1, kind: "call", timeout: 1, deadline: 1, meta: { a: 1 } }), /"meta"/);
    rejects(encodeValue({ version: 1, kind: "ack" }), /"worker"/);
    rejects(encodeValue({ version: 1, kind: "chunk", seq: 1.5 }), /"seq"/);
    rejects(encodeValue({ version: 1, kind: "end" }), /"count"/);
    rejects(encodeValue({ version: 1, kind: "cancel", deadline: "x" }), /"deadline"/);
    rejects(encodeValue({ version: 1, kind: "cancel", code: 5 }), /"code"/);
  });

  it("ignores unknown extra keys (forward compatibility)", () => {
    assert.deepEqual(decodeHeader(encodeValue({ version: 1, kind: "result", future: [1, 2] })), { kind: "result" });
  });

  it("rejects garbage bytes", () => {
    rejects(new Uint8Array([0xdc, 0xff]), /malformed/);
    rejects(new Uint8Array([0xc1]), /not a msgpack map/);
  });
});

describe("rpc envelope frames", () => {
  it("kinds with a payload: call, progress, chunk, result, error", () => {
    const withPayload = samples.filter((h) => hasPayload(h.kind)).map((h) => h.kind);
    assert.deepEqual([...new Set(withPayload)], ["call", "progress", "chunk", "result", "error"]);
  });

  it("splits header and payload", () => {
    const payload = encodeValue({ text: "hi" });
    const envelope = decodeEnvelope(envelopeFrames({ kind: "result" }, payload));
    assert.deepEqual(envelope.header, { kind: "result" });
    assert.equal(envelope.payload, payload);
  });

  it("rejects a message with no frames", () => {
    assert.throws(() => decodeEnvelope([]), RpcProtocolError);
  });

  it("rejects a missing payload frame", () => {
    assert.throws(() => decodeEnvelope([encodeHeader({ kind: "result" })]), /1 frames, expected 2/);
  });

  it("rejects surplus frames", () => {
    const frames = [encodeHeader({ kind: "ack", worker: "w" }), new Uint8Array([0xc0])];
    assert.throws(() => decodeEnvelope(frames), /2 frames, expected 1/);
  });

  it("refuses to build a payload kind without payload", () => {
    assert.throws(() => envelopeFrames({ kind: "error" }), RpcProtocolError);
  });
});

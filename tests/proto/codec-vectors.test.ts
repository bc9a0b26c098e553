import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decode, encode, MESSAGE_SPECS, MessageId } from "../../src/proto/mod.ts";
import type { MlmMessage } from "../../src/proto/mod.ts";
import { fixture, fromHex, toHex, toMessage } from "./vectors.ts";

describe("MLM golden vectors (C codec, libmlm 1.2.0)", () => {
  it("fixture holds the 39 vectors, covering all 18 message types", () => {
    assert.equal(fixture.vectors.length, 39);
    const types = new Set(fixture.vectors.map((v) => v.command));
    assert.deepEqual([...types].sort(), Object.keys(MessageId).sort());
  });

  for (const v of fixture.vectors) {
    describe(v.name, () => {
      const message = toMessage(v.command, v.fields);

      it("encode produces the vector's frames byte for byte", () => {
        const frames = encode(message);
        assert.deepEqual(frames.map(toHex), v.frames);
      });

      it("decode yields the vector's message", () => {
        const result = decode(v.frames.map(fromHex));
        assert.ok(result.ok, result.ok ? "" : result.error.reason);
        assert.deepEqual(result.message, message);
      });

      it("header id byte is the message id of its type", () => {
        assert.equal(fromHex(v.frames[0]!)[2], MessageId[v.command as keyof typeof MessageId]);
      });
    });
  }

  describe("broker_sent frames (captured from the C broker) decode to the recorded message", () => {
    for (const v of fixture.broker_sent) {
      const frames = v.frames;
      const decoded = v.decoded;
      if (frames === null || decoded === undefined) continue;
      it(v.name, () => {
        const result = decode(frames.map(fromHex));
        assert.ok(result.ok, result.ok ? "" : result.error.reason);
        assert.deepEqual(result.message, toMessage(decoded.command, decoded.fields));
        // Byte-exact the other way as well: what we would send is what the C broker sent.
        assert.deepEqual(encode(result.message).map(toHex), frames);
      });
    }
  });
});

describe("content frames are passed through by reference", () => {
  const content = [Uint8Array.of(1, 2, 3), new Uint8Array(0), Uint8Array.of(0)];
  const contentTypes = Object.values(MESSAGE_SPECS).filter((s) => s.content).map((s) => s.type);

  it("exactly six message types carry content: the *_SEND and *_DELIVER types", () => {
    // mlm-protocol.md says "5 message types" in places; the field table (and the C model) has six.
    assert.deepEqual(contentTypes.sort(), [
      "MAILBOX_DELIVER", "MAILBOX_SEND", "SERVICE_DELIVER", "SERVICE_SEND", "STREAM_DELIVER", "STREAM_SEND",
    ]);
  });

  it("encode returns the caller's content arrays as frames 1..n (identity, not copies)", () => {
    const message: MlmMessage = { type: "STREAM_SEND", subject: "s", content };
    const frames = encode(message);
    assert.equal(frames.length, 4);
    for (let i = 0; i < content.length; i++) assert.equal(frames[i + 1], content[i]);
  });

  it("decode returns the received frames 1..n as content (identity, not copies)", () => {
    const header = fromHex("aaa8070173");
    const frames = [header, ...content];
    const result = decode(frames);
    assert.ok(result.ok && result.message.type === "STREAM_SEND");
    assert.equal(result.message.content.length, 3);
    for (let i = 0; i < content.length; i++) assert.equal(result.message.content[i], content[i]);
  });

  it("a content message with 0 content frames encodes to the header frame alone", () => {
    const frames = encode({ type: "MAILBOX_SEND", address: "a", subject: "", tracker: "", timeout: 0, content: [] });
    assert.equal(frames.length, 1);
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decode, DecodeErrorCode, encode, MESSAGE_SPECS, MlmDecodeError } from "../../src/proto/mod.ts";
import type { DecodeErrorCodeValue, DecodeResult } from "../../src/proto/mod.ts";
import { MalamuteError } from "../../src/errors.ts";
import { fixture, fromHex, sampleMessages } from "./vectors.ts";

const C = DecodeErrorCode;

function rejected(result: DecodeResult): MlmDecodeError {
  assert.equal(result.ok, false, "expected the frames to be rejected");
  if (result.ok) throw new Error("unreachable");
  return result.error;
}

// Expected outcome for every entry of the fixture's `malformed` and `broker_malformed`
// sections. The C decoder accepts several of these with stale state; we reject them all,
// except trailing bytes after the last field, which C ignores and so do we.
const EXPECTED: Record<string, DecodeErrorCodeValue | "accepted as CONNECTION_PING"> = {
  wrong_signature: C.BAD_SIGNATURE,
  signature_of_other_protocol: C.BAD_SIGNATURE,
  wrong_signature_with_content_frames: C.BAD_SIGNATURE,
  wrong_signature_with_2_extra_frames: C.BAD_SIGNATURE,
  empty_frame: C.TRUNCATED,
  truncated_1_byte: C.TRUNCATED,
  truncated_no_id: C.TRUNCATED,
  signature_only: C.TRUNCATED,
  unknown_id_99: C.UNKNOWN_MESSAGE_ID,
  unknown_id_0: C.UNKNOWN_MESSAGE_ID,
  unknown_id_19: C.UNKNOWN_MESSAGE_ID,
  string_length_past_end: C.TRUNCATED,
  missing_string: C.TRUNCATED,
  truncated_number4: C.TRUNCATED,
  truncated_timeout: C.TRUNCATED,
  truncated_status_code: C.TRUNCATED,
  open_bad_protocol: C.BAD_PROTOCOL,
  bad_protocol_name: C.BAD_PROTOCOL,
  open_bad_version: C.BAD_VERSION,
  bad_protocol_version: C.BAD_VERSION,
  extra_frame_after_no_content_message: C.SURPLUS_FRAMES,
  router_side_extra_frame_after_ping: C.SURPLUS_FRAMES,
  trailing_bytes: "accepted as CONNECTION_PING",
  trailing_bytes_after_ping: "accepted as CONNECTION_PING",
};

describe("malformed vectors from the C codec are rejected with a stable code", () => {
  for (const v of [...fixture.malformed, ...fixture.broker_malformed]) {
    it(`${v.name}: ${v.description}`, () => {
      const expected = EXPECTED[v.name];
      assert.ok(expected !== undefined, `no expectation recorded for malformed vector ${v.name}`);
      const result = decode(v.frames.map(fromHex));
      if (expected === "accepted as CONNECTION_PING") {
        assert.ok(result.ok);
        assert.deepEqual(result.message, { type: "CONNECTION_PING" });
      } else {
        assert.equal(rejected(result).code, expected);
      }
    });
  }
});

describe("decode error rules", () => {
  it("an empty frame list is truncated (field signature)", () => {
    const e = rejected(decode([]));
    assert.equal(e.code, C.TRUNCATED);
    assert.equal(e.field, "signature");
  });

  it("0-, 1- and 2-byte header frames are truncated, naming the signature or id field", () => {
    assert.equal(rejected(decode([new Uint8Array(0)])).field, "signature");
    assert.equal(rejected(decode([Uint8Array.of(0xaa)])).field, "signature");
    const e = rejected(decode([Uint8Array.of(0xaa, 0xa8)]));
    assert.equal(e.code, C.TRUNCATED);
    assert.equal(e.field, "id");
  });

  it("a bad signature is reported before anything else, even on a 2-byte frame", () => {
    assert.equal(rejected(decode([Uint8Array.of(0xa8, 0xaa)])).code, C.BAD_SIGNATURE);
  });

  it("unknown message ids 0 and 19..255 are rejected, carrying the id", () => {
    for (const id of [0, 19, 20, 99, 255]) {
      const e = rejected(decode([Uint8Array.of(0xaa, 0xa8, id)]));
      assert.equal(e.code, C.UNKNOWN_MESSAGE_ID);
      assert.equal(e.messageId, id);
    }
  });

  it("a truncated field is reported by name, with the field name in the reason", () => {
    const e = rejected(decode([fromHex("aaa80603777878")])); // STREAM_READ stream 'wxx', no pattern
    assert.equal(e.code, C.TRUNCATED);
    assert.equal(e.field, "pattern");
    assert.match(e.reason, /pattern/);
    assert.equal(e.message, e.reason);
    assert.equal(e.messageId, 6);
  });

  it("every strict prefix of every message type's header is rejected as truncated", () => {
    const samples = sampleMessages();
    for (const message of samples) {
      const header = encode(message)[0]!;
      for (let cut = 0; cut < header.length; cut++) {
        const e = rejected(decode([header.subarray(0, cut)]));
        assert.equal(e.code, C.TRUNCATED, `${message.type} cut at ${cut}`);
      }
    }
  });

  it("CONNECTION_OPEN protocol other than MALAMUTE is a bad protocol, checked before the version", () => {
    // protocol 'MALAMUTX' and no version at all: the protocol check comes first, as in C.
    const e = rejected(decode([fromHex("aaa801084d414c414d555458")]));
    assert.equal(e.code, C.BAD_PROTOCOL);
    assert.equal(e.field, "protocol");
  });

  it("CONNECTION_OPEN version other than 1 is a bad version", () => {
    for (const version of [0, 2, 0xffff]) {
      const e = rejected(decode(encode({ type: "CONNECTION_OPEN", protocol: "MALAMUTE", version, address: "a" })));
      assert.equal(e.code, C.BAD_VERSION);
      assert.equal(e.field, "version");
    }
  });

  it("surplus frames after every content-less message type are rejected", () => {
    const contentless = sampleMessages().filter((m) => !MESSAGE_SPECS[m.type].content);
    assert.equal(contentless.length, 12);
    for (const message of contentless) {
      const frames = [...encode(message), Uint8Array.of(0x6a)];
      const e = rejected(decode(frames));
      assert.equal(e.code, C.SURPLUS_FRAMES, message.type);
      // Even an empty extra frame is a frame.
      assert.equal(rejected(decode([encode(message)[0]!, new Uint8Array(0)])).code, C.SURPLUS_FRAMES);
    }
  });

  it("trailing bytes after the last field are ignored, as the C codec does", () => {
    const header = fromHex("aaa80e00c800" + "deadbeef");
    const result = decode([header]);
    assert.ok(result.ok);
    assert.deepEqual(result.message, { type: "OK", code: 200, reason: "" });
  });

  it("trailing bytes are rejected when trailingBytes is 'reject'", () => {
    const e = rejected(decode([fromHex("aaa802ff")], { trailingBytes: "reject" }));
    assert.equal(e.code, C.TRAILING_BYTES);
    assert.ok(decode([fromHex("aaa802")], { trailingBytes: "reject" }).ok);
  });

  it("a string field that is not well-formed UTF-8 is rejected as bad UTF-8", () => {
    // STREAM_WRITE stream = ff (never valid in UTF-8), then an overlong '/' (c0 af), then a lone surrogate (ed a0 80).
    for (const bad of ["01ff", "02c0af", "03eda080", "0a61626364656667686980"]) {
      const e = rejected(decode([fromHex("aaa805" + bad)]));
      assert.equal(e.code, C.BAD_UTF8, bad);
      assert.equal(e.field, "stream");
    }
  });

  it("a leading byte-order mark in a string is kept as content, not stripped", () => {
    const result = decode([fromHex("aaa80504efbbbf61")]);
    assert.ok(result.ok && result.message.type === "STREAM_WRITE");
    assert.equal(result.message.stream, "\ufeffa");
  });

  it("decode errors are MlmDecodeError, a MalamuteError, with the code as stable identifier", () => {
    const e = rejected(decode([fromHex("aaa9")]));
    assert.ok(e instanceof MlmDecodeError);
    assert.ok(e instanceof MalamuteError);
    assert.equal(e.name, "MlmDecodeError");
    assert.equal(e.code, "MLM_BAD_SIGNATURE");
  });

  it("decode reads header frames that are views into a larger buffer only within the view", () => {
    // The byte after the view would complete the field; decode must not see it.
    const backing = fromHex("aaa8050377656174");
    const view = backing.subarray(0, 6); // stream length 3, but only 'we' inside the view
    assert.equal(rejected(decode([view])).code, C.TRUNCATED);
    const ok = decode([backing.subarray(0, 7)]);
    assert.ok(ok.ok && ok.message.type === "STREAM_WRITE" && ok.message.stream === "wea");
  });
});

// Rules of docs/rpc-wire.md that a peer in another language relies on: a call without a
// deadline (timeout 0), replies of kinds a caller does not know, and the payload profile
// (string map keys, no extension type but 1), with and without binary frames.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { MlmClient } from "../../src/client/client.ts";
import type { Delivery } from "../../src/client/types.ts";
import { connect } from "../../src/rpc/client/client.ts";
import { decodePayload, encodeValue } from "../../src/rpc/wire/codec.ts";
import { decodeEnvelope, encodeHeader, envelopeFrames } from "../../src/rpc/wire/envelope.ts";
import { RpcProtocolError } from "../../src/rpc/errors.ts";
import { serve } from "../../src/rpc/worker/worker.ts";
import { concatBytes } from "../../src/util/bytes.ts";
import { qwen3vl } from "./contracts.ts";
import { noTokens, type Rig, rig } from "./harness.ts";

const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);
const ascii = (text: string): number[] => [...new TextEncoder().encode(text)];

describe("rpc wire rules (broker and peers)", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
  });
  afterEach(async () => {
    await r.close();
  });

  it("a call with timeout 0 has no deadline: the worker runs it to its end (as the broker keeps it queued)", async () => {
    let deadlineSeen = 0;
    r.own(await serve(r.endpoint, qwen3vl, {
      infer: async ({ prompt }, ctx) => {
        deadlineSeen = ctx.deadline;
        // Several sweeps of the worker (ackAfter 1 ms) pass while it runs.
        await new Promise((resolve) => setTimeout(resolve, 50));
        if (ctx.signal.aborted) throw ctx.signal.reason;
        return { text: prompt, tokens: 1 };
      },
      tokens: noTokens,
    }, { ackAfter: 1 }));
    const raw = r.own(await MlmClient.connect(r.endpoint, { address: "raw-caller" }));
    raw.sendFor("qwen3vl", "infer", envelopeFrames({ kind: "call", timeout: 0, deadline: 0 }, { prompt: "x" }), { tracker: "t0", timeout: 0 });
    let final: Delivery | undefined;
    while (final === undefined) {
      const d = await raw.receive({ signal: AbortSignal.timeout(5000) });
      if (decodeEnvelope(d.content).header.kind !== "ack") final = d;
    }
    const { header, payload } = decodeEnvelope(final.content);
    assert.equal(header.kind, "result", JSON.stringify(payload));
    assert.deepEqual(payload, { text: "x", tokens: 1 });
    assert.equal(deadlineSeen, Infinity);
  });

  it("a reply of an unknown kind is ignored and counted; the call settles on its result", async () => {
    const mlm = r.own(await MlmClient.connect(r.endpoint, { address: "future-worker" }));
    mlm.onDelivery((d) => {
      const later = { version: 2, kind: "hint", eta: 5 };
      mlm.sendTo(d.sender, "hint", [encodeValue(later)], { tracker: d.tracker });
      mlm.sendTo(d.sender, "hint", [concatBytes([encodeValue(later), encodeValue({ any: "payload" })]), bytes(1, 2)], { tracker: d.tracker });
      mlm.sendTo(d.sender, "result", envelopeFrames({ kind: "result" }, { text: "ok", tokens: 1 }), { tracker: d.tracker });
      mlm.confirm(d);
    });
    await mlm.setWorker("qwen3vl", ".*");
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    assert.deepEqual(await client.qwen3vl.infer({ prompt: "x" }), { text: "ok", tokens: 1 });
    assert.equal(client.stats().unknownKinds, 2);
    assert.equal(client.stats().malformed, 0);
  });

  it("a header of an unknown kind with a missing version is still a bad envelope", async () => {
    const mlm = r.own(await MlmClient.connect(r.endpoint, { address: "bad-worker" }));
    mlm.onDelivery((d) => {
      mlm.sendTo(d.sender, "hint", [encodeValue({ kind: "hint" })], { tracker: d.tracker });
      mlm.confirm(d);
    });
    await mlm.setWorker("qwen3vl", ".*");
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    await assert.rejects(client.qwen3vl.infer({ prompt: "x" }), RpcProtocolError);
  });
});

describe("rpc payload profile", () => {
  const refuses = (frames: Uint8Array[], pattern: RegExp): void => {
    assert.throws(() => decodePayload(frames, 0), (error: unknown) => {
      assert.ok(error instanceof RpcProtocolError, String(error));
      assert.equal(error.code, "RPC_BAD_ENVELOPE");
      assert.match(error.message, pattern);
      return true;
    });
  };
  const ref0 = [0xd6, 0x01, 0, 0, 0, 0];

  it("a map key that is not a string is refused, with and without binary frames", () => {
    refuses([bytes(0x81, 0x01, 0xa1, 0x61)], /map key/);
    refuses([bytes(0x81, 0xa1, 0x61, 0x81, 0xc3, 0x02)], /map key/);
    refuses([bytes(0x82, 0x01, 0x02, 0xa1, 0x62, ...ref0), bytes(9)], /map key/);
  });

  it("an extension type other than 1 is refused, with and without binary frames (the timestamp too)", () => {
    refuses([bytes(0xd4, 0x05, 0x07)], /extension type 5/);
    refuses([bytes(0xd6, 0xff, 0, 0, 0, 1)], /extension type -1/);
    refuses([bytes(0x92, 0xd4, 0x05, 0x07, ...ref0), bytes(9)], /extension type 5/);
  });

  it("str 32 map keys are strings like any other, with and without binary frames", () => {
    const key = [0xdb, 0, 0, 0, 1, ...ascii("k")];
    assert.deepEqual(decodePayload([bytes(0x81, ...key, 0x01)], 0), { k: 1 });
    assert.deepEqual(decodePayload([bytes(0x81, ...key, ...ref0), bytes(9)], 0), { k: bytes(9) });
  });

  it("an integral float64 reads as a number, and a Number field's 2.0 is written as a msgpack int", () => {
    assert.equal(decodePayload([bytes(0xcb, 0x40, 0, 0, 0, 0, 0, 0, 0)], 0), 2);
    assert.deepEqual(encodeValue({ seed: 2.0 }), bytes(0x81, 0xa4, ...ascii("seed"), 0x02));
    assert.equal(decodePayload([bytes(0xcf, 0, 0x20, 0, 0, 0, 0, 0, 1)], 0), 2n ** 53n + 1n);
  });

  it("a cancel or ack header stays the whole message: no payload may follow a kind without one", () => {
    assert.throws(() => decodeEnvelope([concatBytes([encodeHeader({ kind: "cancel" }), encodeValue(1)])]), RpcProtocolError);
  });
});

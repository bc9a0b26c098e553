import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import Type from "typebox";
import { MlmClient } from "../../src/client/client.ts";
import type { Delivery } from "../../src/client/types.ts";
import { Bytes } from "../../src/rpc/bytes.ts";
import { connect } from "../../src/rpc/client/client.ts";
import {
  binaryFrameThreshold, decodePayload, decodeValue, DEFAULT_BINARY_FRAME_THRESHOLD, encodePayload, encodeValue,
  generalEncode, payloadBytes,
} from "../../src/rpc/wire/codec.ts";
import { defineService } from "../../src/rpc/contract.ts";
import { decodeEnvelope, encodeHeader, envelopeFrames } from "../../src/rpc/wire/envelope.ts";
import { RpcError, RpcProtocolError } from "../../src/rpc/errors.ts";
import { BINARY_FRAME_EXT } from "../../src/rpc/wire/msgpack-profile.ts";
import { serve } from "../../src/rpc/worker/worker.ts";
import { type Rig, rig } from "./harness.ts";

const KiB = 1024;

function filled(size: number, seed: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31 + seed) & 255;
  return data;
}

/** msgpack of `{ data: <out-of-band reference> }` with the reference's raw ext bytes given. */
function mapWithExt(ext: number[]): Uint8Array {
  return new Uint8Array([0x81, 0xa4, 0x64, 0x61, 0x74, 0x61, ...ext]);
}

const ref = (index: number): number[] => [0xd6, BINARY_FRAME_EXT, index >>> 24, (index >>> 16) & 255, (index >>> 8) & 255, index & 255];

function protocolError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof RpcProtocolError, `expected RpcProtocolError, got ${String(e)}`);
    assert.equal(e.code, "RPC_BAD_ENVELOPE");
    assert.match(e.message, pattern);
    return true;
  });
}

describe("rpc out-of-band binary frames (codec)", () => {
  it("a Uint8Array at or over the threshold becomes a frame of its own, passed by reference", () => {
    const image = filled(64 * KiB, 1);
    const frames = encodePayload({ prompt: "hi", image }, 64 * KiB);
    assert.equal(frames.length, 2);
    assert.equal(frames[1], image, "the very same Uint8Array, not a copy");
    // The payload holds a 6-byte fixext 4 reference to binary frame 0 instead of the bytes.
    assert.deepEqual(frames[0], new Uint8Array([0x82, 0xa6, ...new TextEncoder().encode("prompt"), 0xa2, 0x68, 0x69,
      0xa5, ...new TextEncoder().encode("image"), ...ref(0)]));
  });

  it("values under the threshold stay inline msgpack bin, byte for byte what the general codec writes", () => {
    const value = { small: filled(64 * KiB - 1, 2), list: [1, "x", null, true, filled(10, 3)] };
    const frames = encodePayload(value, 64 * KiB);
    assert.equal(frames.length, 1);
    assert.deepEqual(frames[0], generalEncode(value));
  });

  it("threshold 0 or Infinity never makes binary frames; undefined is the 64 KiB default", () => {
    assert.equal(binaryFrameThreshold(undefined), DEFAULT_BINARY_FRAME_THRESHOLD);
    assert.equal(DEFAULT_BINARY_FRAME_THRESHOLD, 64 * KiB);
    assert.equal(binaryFrameThreshold(0), Infinity);
    assert.equal(binaryFrameThreshold(Infinity), Infinity);
    assert.equal(binaryFrameThreshold(1000), 1000);
    const big = { data: filled(200 * KiB, 4) };
    const frames = encodePayload(big, binaryFrameThreshold(0));
    assert.equal(frames.length, 1);
    assert.deepEqual(frames[0], encodeValue(big));
  });

  it("several large values are numbered in encoding order and decode to the referenced frames without copying", () => {
    const a = filled(100 * KiB, 5);
    const b = filled(70 * KiB, 6);
    const value = { first: a, nested: [{ second: b }], text: "t" };
    const frames = encodePayload(value, 64 * KiB);
    assert.equal(frames.length, 3);
    assert.equal(frames[1], a);
    assert.equal(frames[2], b);
    assert.equal(payloadBytes(frames), (frames[0] as Uint8Array).byteLength + a.byteLength + b.byteLength);
    const header = encodeHeader({ kind: "result" });
    const content = encodePayload(value, 64 * KiB, header);
    assert.equal(content.length, 3);
    assert.deepEqual(content[0], new Uint8Array([...header, ...(frames[0] as Uint8Array)]), "header, then the same payload");
    const decoded = decodePayload(content, header.length, "result") as { first: Uint8Array; nested: [{ second: Uint8Array }]; text: string };
    assert.equal(decoded.first, a, "the decoded value is the frame itself");
    assert.equal(decoded.nested[0].second, b);
    assert.equal(decoded.text, "t");
  });

  it("a frame that is a Node Buffer or a view decodes as a plain Uint8Array view of the same memory", () => {
    const backing = filled(80 * KiB, 7);
    const view = backing.subarray(16, 16 + 70 * KiB);
    const out = decodePayload([mapWithExt(ref(0)), view], 0) as { data: Uint8Array };
    assert.equal(out.data.constructor, Uint8Array);
    assert.equal(out.data.buffer, backing.buffer);
    assert.equal(out.data.byteOffset, view.byteOffset);
    assert.equal(out.data.byteLength, view.byteLength);
  });

  it("a reference to a frame index out of range is a bad envelope", () => {
    protocolError(() => decodePayload([mapWithExt(ref(1)), filled(10, 0)], 0), /reference to frame 1, but the message has 1 binary frames/);
    protocolError(() => decodePayload([mapWithExt(ref(0xffffffff)), filled(10, 0)], 0), /frame 4294967295/);
  });

  it("a reference without any binary frame is a bad envelope (also through decodeValue)", () => {
    protocolError(() => decodePayload([mapWithExt(ref(0))], 0), /has 0 binary frames/);
    protocolError(() => decodeValue(mapWithExt(ref(0))), /has 0 binary frames/);
  });

  it("a reference whose data is not exactly 4 bytes is a bad envelope", () => {
    protocolError(() => decodePayload([mapWithExt([0xd5, BINARY_FRAME_EXT, 0, 0]), filled(10, 0)], 0), /2 data bytes, expected 4/);
    protocolError(() => decodePayload([mapWithExt([0xd7, BINARY_FRAME_EXT, 0, 0, 0, 0, 0, 0, 0, 0]), filled(10, 0)], 0), /8 data bytes/);
    protocolError(() => decodePayload([mapWithExt([0xc7, 3, BINARY_FRAME_EXT, 0, 0, 0]), filled(10, 0)], 0), /3 data bytes/);
  });

  it("a frame referenced twice is a bad envelope", () => {
    const payload = new Uint8Array([0x92, ...ref(0), ...ref(0)]);
    protocolError(() => decodePayload([payload, filled(10, 0)], 0), /frame 0 is referenced twice/);
  });

  it("an extra frame the payload does not reference is a bad envelope", () => {
    const frames = [encodeValue({ data: filled(10, 0) }), filled(10, 1)];
    protocolError(() => decodePayload(frames, 0), /binary frame 0 is not referenced/);
    const two = [mapWithExt(ref(1)), filled(10, 0), filled(10, 1)];
    protocolError(() => decodePayload(two, 0), /binary frame 0 is not referenced/);
  });

  it("a truncated reference is a bad envelope, and a later good decode is unaffected", () => {
    protocolError(() => decodePayload([mapWithExt([0xd6, BINARY_FRAME_EXT, 0, 0]), filled(10, 0)], 0), /malformed|unsupported/);
    const data = filled(70 * KiB, 9);
    const [payload] = encodePayload({ data }, 64 * KiB);
    assert.equal((decodePayload([payload as Uint8Array, data], 0) as { data: Uint8Array }).data, data);
  });

  it("decodeEnvelope resolves the payload's binary frame to a view of that frame", () => {
    const data = filled(70 * KiB, 8);
    const content = encodePayload({ data }, 64 * KiB, encodeHeader({ kind: "result" }));
    assert.equal(content.length, 2);
    assert.equal(content[1], data);
    const envelope = decodeEnvelope(content);
    assert.equal((envelope.payload as { data: Uint8Array }).data, data);
  });
});

const blob = defineService("blob", {
  echo: { input: Type.Object({ data: Bytes() }), output: Type.Object({ data: Bytes() }) },
  frames: { input: Type.Object({ data: Bytes() }), output: Type.Object({ data: Bytes() }), progress: Type.Object({ data: Bytes() }) },
  chunks: { input: Type.Object({ size: Type.Integer() }), chunk: Bytes() },
});

describe("rpc out-of-band binary frames (over a broker)", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
  });
  afterEach(async () => {
    await r.close();
  });

  /** A raw MLM worker for "blob" that records each call's content and answers with `reply(d)`. */
  async function rawWorker(reply: (d: Delivery) => Uint8Array[]): Promise<Delivery[]> {
    const seen: Delivery[] = [];
    const mlm = r.own(await MlmClient.connect(r.endpoint, { address: `raw-worker-${Math.random().toString(36).slice(2)}` }));
    mlm.onDelivery((d) => {
      seen.push(d);
      mlm.sendTo(d.sender, "reply", reply(d), { tracker: d.tracker, timeout: 5000 });
      mlm.confirm(d);
    });
    await mlm.setWorker("blob", ".*");
    return seen;
  }

  it("a large input is sent as header and payload in one frame, then one binary frame holding the bytes", async () => {
    const seen = await rawWorker(() => envelopeFrames({ kind: "result" }, { data: new Uint8Array([1]) }));
    const client = r.own(await connect(r.endpoint, { blob }));
    const data = filled(100 * KiB, 11);
    await client.blob.echo({ data });
    const content = (seen[0] as Delivery).content;
    assert.equal(content.length, 2);
    assert.ok((content[0] as Uint8Array).byteLength < 80, "the payload carries a reference, not the bytes");
    const frame = content[1] as Uint8Array;
    const decoded = decodeEnvelope(content).payload as { data: Uint8Array };
    assert.equal(decoded.data.buffer, frame.buffer, "decoded as a view of the binary frame");
    assert.deepEqual(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength), data);
  });

  it("binaryFrameThreshold: 0 on connect() sends large inputs inline", async () => {
    const seen = await rawWorker(() => envelopeFrames({ kind: "result" }, { data: new Uint8Array([1]) }));
    const client = r.own(await connect(r.endpoint, { blob }, { binaryFrameThreshold: 0 }));
    await client.blob.echo({ data: filled(100 * KiB, 12) });
    const content = (seen[0] as Delivery).content;
    assert.equal(content.length, 1);
    assert.ok((content[0] as Uint8Array).byteLength > 100 * KiB);
  });

  it("a worker in another language that only sends inline bin still works", async () => {
    await rawWorker((d) => {
      const input = decodeEnvelope(d.content).payload as { data: Uint8Array };
      return envelopeFrames({ kind: "result" }, { data: input.data.length > 0 ? filled(100 * KiB, 13) : input.data }, Infinity);
    });
    const client = r.own(await connect(r.endpoint, { blob }, { binaryFrameThreshold: Infinity }));
    const out = await client.blob.echo({ data: filled(10, 1) });
    assert.deepEqual(out.data, filled(100 * KiB, 13));
  });

  it("results, progress and chunks carry large binary as frames and arrive intact", async () => {
    const progressSeen: number[] = [];
    r.own(await serve(r.endpoint, blob, {
      echo: async ({ data }) => ({ data }),
      frames: async ({ data }, ctx) => {
        ctx.progress({ data: filled(65 * KiB, 21) });
        return { data };
      },
      chunks: async function* ({ size }) {
        yield filled(size, 22);
        yield filled(10, 23);
        yield filled(size, 24);
      },
    }, { binaryFrameThreshold: 64 * KiB }));
    const client = r.own(await connect(r.endpoint, { blob }));
    const data = filled(300 * KiB, 20);
    assert.deepEqual((await client.blob.echo({ data })).data, data);
    const out = await client.blob.frames({ data }, { onProgress: (p) => progressSeen.push(p.data.byteLength) });
    assert.deepEqual(out.data, data);
    assert.deepEqual(progressSeen, [65 * KiB]);
    const chunks: Uint8Array[] = [];
    for await (const chunk of client.blob.chunks({ size: 128 * KiB })) chunks.push(chunk);
    assert.deepEqual(chunks, [filled(128 * KiB, 22), filled(10, 23), filled(128 * KiB, 24)]);
  });

  it("a reply with a bad binary frame reference fails the call with RpcProtocolError", async () => {
    await rawWorker(() => [new Uint8Array([...encodeHeader({ kind: "result" }), ...mapWithExt(ref(3))]), filled(10, 0)]);
    const client = r.own(await connect(r.endpoint, { blob }));
    let error: unknown;
    try {
      await client.blob.echo({ data: filled(10, 0) });
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof RpcProtocolError, `expected RpcProtocolError, got ${String(error)}`);
    assert.ok(error instanceof RpcError);
    assert.equal(error.code, "RPC_BAD_ENVELOPE");
    assert.match(error.message, /reference to frame 3/);
  });
});

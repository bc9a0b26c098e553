import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import Type from "typebox";
import { MlmClient } from "../../src/client/client.ts";
import type { Delivery } from "../../src/client/types.ts";
import { connect } from "../../src/rpc/client/client.ts";
import { encodeValue } from "../../src/rpc/wire/codec.ts";
import { concatBytes } from "../../src/util/bytes.ts";
import { defineService } from "../../src/rpc/contract.ts";
import { decodeEnvelope, encodeHeader, envelopeFrames } from "../../src/rpc/wire/envelope.ts";
import {
  RpcHandlerError, RpcProtocolError, RpcRemoteError, RpcValidationError,
} from "../../src/rpc/errors.ts";
import { BINARY_FRAME_EXT } from "../../src/rpc/wire/msgpack-profile.ts";
import { serve } from "../../src/rpc/worker/worker.ts";
import { qwen3vl, zimage } from "./contracts.ts";
import { noTokens, rejection, type Rig, rig, until } from "./harness.ts";

/** A raw MLM peer that sends hand-made frames as a call and returns the worker's replies. */
async function rawCaller(r: Rig): Promise<{ call(subject: string, frames: Uint8Array[], tracker: string): Promise<Delivery[]> }> {
  const mlm = r.own(await MlmClient.connect(r.endpoint, { address: `raw-${Math.random().toString(36).slice(2)}` }));
  return {
    async call(subject, frames, tracker) {
      mlm.sendFor("qwen3vl", subject, frames, { tracker, timeout: 5000 });
      const replies: Delivery[] = [];
      for (;;) {
        const d = await mlm.receive({ signal: AbortSignal.timeout(5000) });
        replies.push(d);
        const kind = decodeEnvelope(d.content).header.kind;
        if (kind === "result" || kind === "error" || kind === "end") return replies;
      }
    },
  };
}

const ascii = (text: string): number[] => [...new TextEncoder().encode(text)];

/** msgpack of `{ prompt: "x", image: <ext bytes> }`: an input whose image is an out-of-band reference. */
/** A call's first frame: `header`, then an input whose image is the binary frame reference `ext`. */
function withImageRef(header: Uint8Array, ext: number[]): Uint8Array {
  return new Uint8Array([...header, 0x82, 0xa6, ...ascii("prompt"), 0xa1, 0x78, 0xa5, ...ascii("image"), ...ext]);
}

function errorReply(replies: Delivery[]): { code: string; message: string; details?: unknown } {
  const last = replies[replies.length - 1] as Delivery;
  const envelope = decodeEnvelope(last.content);
  assert.equal(envelope.header.kind, "error");
  return envelope.payload as { code: string; message: string; details?: unknown };
}

describe("rpc errors", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
  });
  afterEach(async () => {
    await r.close();
  });

  it("a handler that throws gives the caller RpcRemoteError RPC_INTERNAL, and the worker keeps serving", async () => {
    r.own(await serve(r.endpoint, qwen3vl, {
      infer: async ({ prompt }) => {
        if (prompt === "boom") throw new TypeError("model exploded");
        return { text: prompt, tokens: 1 };
      },
      tokens: noTokens,
    }));
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    const error = await rejection(client.qwen3vl.infer({ prompt: "boom" }));
    assert.ok(error instanceof RpcRemoteError);
    assert.equal(error.name, "RpcRemoteError");
    assert.equal(error.code, "RPC_INTERNAL");
    assert.equal(error.message, "qwen3vl.infer: model exploded");
    assert.equal(error.service, "qwen3vl");
    assert.equal(error.method, "infer");
    assert.deepEqual(await client.qwen3vl.infer({ prompt: "still alive" }), { text: "still alive", tokens: 1 });
  });

  it("RpcHandlerError sends its own code and details", async () => {
    r.own(await serve(r.endpoint, qwen3vl, {
      infer: async () => {
        throw new RpcHandlerError("MODEL_BUSY", "GPU is busy", { retryAfterMs: 250 });
      },
      tokens: noTokens,
    }));
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    const error = await rejection(client.qwen3vl.infer({ prompt: "x" }));
    assert.ok(error instanceof RpcRemoteError);
    assert.equal(error.code, "MODEL_BUSY");
    assert.deepEqual(error.details, { retryAfterMs: 250 });
  });

  it("a streaming handler that throws ends the stream with RpcRemoteError after the chunks sent so far", async () => {
    r.own(await serve(r.endpoint, qwen3vl, {
      infer: async () => ({ text: "", tokens: 0 }),
      tokens: async function* () {
        yield "a";
        yield "b";
        throw new RpcHandlerError("STREAM_BROKE", "lost the model");
      },
    }));
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    const got: string[] = [];
    const error = await rejection((async () => {
      for await (const c of client.qwen3vl.tokens({ prompt: "" })) got.push(c);
    })());
    assert.deepEqual(got, ["a", "b"]);
    assert.equal(error.code, "STREAM_BROKE");
  });

  it("the client checks the input before sending and fails with RpcValidationError giving the JSON path", async () => {
    let ran = 0;
    r.own(await serve(r.endpoint, zimage, {
      render: async () => {
        ran++;
        return { png: new Uint8Array(1), seed: 1 };
      },
    }));
    const client = r.own(await connect(r.endpoint, { zimage }));
    const error = await rejection(client.zimage.render({ prompt: "x", steps: 0 }));
    assert.ok(error instanceof RpcValidationError);
    assert.equal(error.code, "RPC_VALIDATION");
    assert.equal(error.path, "/steps");
    assert.equal(error.role, "input");
    assert.equal(client.stats().calls, 0, "nothing was sent");
    assert.equal(ran, 0);
  });

  it("the worker checks input on receipt: bad input gets an RPC_VALIDATION error reply, never a crash", async () => {
    r.own(await serve(r.endpoint, qwen3vl, { infer: async () => ({ text: "", tokens: 0 }), tokens: noTokens }));
    const raw = await rawCaller(r);
    const call = envelopeFrames({ kind: "call", timeout: 5000, deadline: Date.now() + 5000 }, { prompt: ["not", "a", "string"] });
    const replies = await raw.call("infer", call, "t-1");
    const body = errorReply(replies);
    assert.equal(body.code, "RPC_VALIDATION");
    assert.match(body.message, /\/prompt/);
    assert.equal((body.details as { issues: { path: string }[] }).issues[0]?.path, "/prompt");
    assert.equal(replies[replies.length - 1]?.tracker, "t-1");
  });

  it("an unknown method gets RPC_UNKNOWN_METHOD", async () => {
    r.own(await serve(r.endpoint, qwen3vl, { infer: async () => ({ text: "", tokens: 0 }), tokens: noTokens }));
    // A caller built from a newer contract that has a method this worker lacks.
    const newer = defineService("qwen3vl", {
      summarize: { input: Type.Object({ text: Type.String() }), output: Type.String() },
    });
    const client = r.own(await connect(r.endpoint, { newer }));
    const error = await rejection(client.newer.summarize({ text: "x" }));
    assert.equal(error.code, "RPC_UNKNOWN_METHOD");
    assert.match(error.message, /summarize/);
  });

  it("inherited object keys are not methods (e.g. constructor, __proto__)", async () => {
    r.own(await serve(r.endpoint, qwen3vl, { infer: async () => ({ text: "", tokens: 0 }), tokens: noTokens }));
    const raw = await rawCaller(r);
    const call = envelopeFrames({ kind: "call", timeout: 5000, deadline: Date.now() + 5000 }, null);
    for (const subject of ["constructor", "__proto__", "toString"]) {
      const body = errorReply(await raw.call(subject, call, `t-${subject}`));
      assert.equal(body.code, "RPC_UNKNOWN_METHOD");
    }
  });

  it("output that violates its schema becomes an RPC_VALIDATION error reply, and the worker keeps serving", async () => {
    const worker = r.own(await serve(r.endpoint, qwen3vl, {
      infer: async ({ prompt }) => (prompt === "bad" ? { text: 5, tokens: 1 } as never : { text: prompt, tokens: 1 }),
      tokens: async function* ({ prompt }) {
        yield prompt;
        yield 7 as never;
      },
    }));
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    const error = await rejection(client.qwen3vl.infer({ prompt: "bad" }));
    assert.ok(error instanceof RpcRemoteError);
    assert.equal(error.code, "RPC_VALIDATION");
    assert.match(error.message, /^qwen3vl\.infer: invalid output at \/text: /);
    assert.equal((error.details as { role: string }).role, "output");
    const streamError = await rejection((async () => {
      for await (const _ of client.qwen3vl.tokens({ prompt: "ok" })) { /* drain */ }
    })());
    assert.equal(streamError.code, "RPC_VALIDATION");
    assert.match(streamError.message, /^qwen3vl\.tokens: invalid chunk/);
    assert.deepEqual(await client.qwen3vl.infer({ prompt: "good" }), { text: "good", tokens: 1 });
    assert.equal(worker.stats().failed, 2);
  });

  it("a progress value that violates its schema fails the call with RPC_VALIDATION", async () => {
    r.own(await serve(r.endpoint, qwen3vl, {
      infer: async (_input, ctx) => {
        ctx.progress({ tokens: "many" } as never);
        return { text: "", tokens: 0 };
      },
      tokens: noTokens,
    }));
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    const error = await rejection(client.qwen3vl.infer({ prompt: "x" }, { onProgress: () => {} }));
    assert.equal(error.code, "RPC_VALIDATION");
    assert.match(error.message, /invalid progress at \/tokens/);
  });

  it("malformed envelopes (raw frames) get RPC_BAD_ENVELOPE replies and the worker keeps serving", async () => {
    const worker = r.own(await serve(r.endpoint, qwen3vl, {
      infer: async ({ prompt }) => ({ text: prompt, tokens: 1 }),
      tokens: noTokens,
    }));
    const raw = await rawCaller(r);
    const good = encodeHeader({ kind: "call", timeout: 5000, deadline: Date.now() + 5000 });
    const prompt = encodeValue({ prompt: "x" });
    const cases: [string, Uint8Array[]][] = [
      ["garbage header", [concatBytes([new Uint8Array([0xff, 0x00, 0x12]), prompt])]],
      ["truncated payload", [concatBytes([good, new Uint8Array([0x82, 0xa1])])]],
      ["no payload after the header", [good]],
      ["bytes after the payload", [concatBytes([good, prompt, new Uint8Array([1])])]],
      ["surplus frame", [concatBytes([good, prompt]), new Uint8Array([1])]],
      ["version 1 layout (header and payload in two frames)", [encodeValue({ version: 1, kind: "call", timeout: 1, deadline: 1 }), prompt]],
      ["no frames at all", []],
      ["wrong kind", envelopeFrames({ kind: "result" }, { prompt: "x" })],
      ["wrong version", [concatBytes([encodeValue({ version: 9, kind: "call", timeout: 1, deadline: 1 }), prompt])]],
      ["plain text", [new TextEncoder().encode("hello"), new TextEncoder().encode("world")]],
      ["binary frame reference out of range", [withImageRef(good, [0xd6, BINARY_FRAME_EXT, 0, 0, 0, 1]), new Uint8Array(8)]],
      ["binary frame reference with 8 data bytes", [withImageRef(good, [0xd7, BINARY_FRAME_EXT, 0, 0, 0, 0, 0, 0, 0, 0]), new Uint8Array(8)]],
      ["binary frame reference without binary frames", [withImageRef(good, [0xd6, BINARY_FRAME_EXT, 0, 0, 0, 0])]],
      ["binary frame referenced twice", [concatBytes([good, new Uint8Array([0x82, 0xa6, ...ascii("prompt"), 0xa1, 0x78, 0xa5, ...ascii("image"),
        0x92, 0xd6, BINARY_FRAME_EXT, 0, 0, 0, 0, 0xd6, BINARY_FRAME_EXT, 0, 0, 0, 0])]), new Uint8Array(8)]],
      ["unreferenced binary frame", [withImageRef(good, [0xd6, BINARY_FRAME_EXT, 0, 0, 0, 0]), new Uint8Array(8), new Uint8Array(8)]],
    ];
    for (const [name, frames] of cases) {
      const body = errorReply(await raw.call("infer", frames, `bad-${name}`));
      assert.equal(body.code, "RPC_BAD_ENVELOPE", name);
    }
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    assert.deepEqual(await client.qwen3vl.infer({ prompt: "fine" }), { text: "fine", tokens: 1 });
    assert.equal(worker.stats().failed, cases.length);
  });
});

describe("rpc bad workers (raw MLM peers)", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
  });
  afterEach(async () => {
    await r.close();
  });

  /** A fake worker: answers each call with the frames `reply` builds. */
  async function fakeWorker(reply: (d: Delivery) => Uint8Array[][]): Promise<void> {
    const mlm = r.own(await MlmClient.connect(r.endpoint, { address: "fake-worker" }));
    mlm.onDelivery((d) => {
      for (const frames of reply(d)) mlm.sendTo(d.sender, "reply", frames, { tracker: d.tracker });
      mlm.confirm(d);
    });
    await mlm.setWorker("qwen3vl", ".*");
  }

  it("a malformed reply fails the call with RpcProtocolError", async () => {
    await fakeWorker(() => [[new Uint8Array([0x93, 0x01])]]);
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    const error = await rejection(client.qwen3vl.infer({ prompt: "x" }));
    assert.ok(error instanceof RpcProtocolError);
    assert.equal(error.code, "RPC_BAD_ENVELOPE");
    assert.equal(client.stats().malformed, 1);
  });

  it("a result that violates the output schema fails with RpcValidationError on the client", async () => {
    await fakeWorker(() => [envelopeFrames({ kind: "result" }, { text: "x" })]);
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    const error = await rejection(client.qwen3vl.infer({ prompt: "x" }));
    assert.ok(error instanceof RpcValidationError);
    assert.equal(error.role, "output");
  });

  it("an error reply without code or message fails with RpcProtocolError", async () => {
    await fakeWorker(() => [envelopeFrames({ kind: "error" }, { oops: true })]);
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    const error = await rejection(client.qwen3vl.infer({ prompt: "x" }));
    assert.ok(error instanceof RpcProtocolError);
  });

  it("duplicate final replies for one call id settle the call once; the rest are ignored and counted", async () => {
    await fakeWorker(() => [
      [encodeHeader({ kind: "ack", worker: "fake-worker" })],
      envelopeFrames({ kind: "result" }, { text: "first", tokens: 1 }),
      envelopeFrames({ kind: "result" }, { text: "second", tokens: 2 }),
      envelopeFrames({ kind: "error" }, { code: "X", message: "late" }),
    ]);
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    assert.deepEqual(await client.qwen3vl.infer({ prompt: "x" }), { text: "first", tokens: 1 });
    // A follow-up call proves the late replies were processed (mailbox order) and ignored.
    assert.deepEqual(await client.qwen3vl.infer({ prompt: "y" }), { text: "first", tokens: 1 });
    await until(() => client.stats().stale === 4, "the four late replies");
    assert.equal(client.stats().pending, 0);
  });

  it("replayed stream chunks after a restart are skipped by sequence number", async () => {
    await fakeWorker(() => [
      [encodeHeader({ kind: "ack", worker: "w1" })],
      envelopeFrames({ kind: "chunk", seq: 0 }, "a"),
      envelopeFrames({ kind: "chunk", seq: 1 }, "b"),
      // the call restarted on another worker: it sends everything again
      [encodeHeader({ kind: "ack", worker: "w2" })],
      envelopeFrames({ kind: "chunk", seq: 0 }, "a"),
      envelopeFrames({ kind: "chunk", seq: 1 }, "b"),
      envelopeFrames({ kind: "chunk", seq: 2 }, "c"),
      [encodeHeader({ kind: "end", count: 3 })],
    ]);
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    const got: string[] = [];
    for await (const c of client.qwen3vl.tokens({ prompt: "" })) got.push(c);
    assert.deepEqual(got, ["a", "b", "c"]);
  });

  it("a gap in chunk numbers fails the stream with RpcProtocolError", async () => {
    await fakeWorker(() => [
      envelopeFrames({ kind: "chunk", seq: 0 }, "a"),
      envelopeFrames({ kind: "chunk", seq: 2 }, "c"),
      [encodeHeader({ kind: "end", count: 3 })],
    ]);
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    const error = await rejection((async () => {
      for await (const _ of client.qwen3vl.tokens({ prompt: "" })) { /* drain */ }
    })());
    assert.ok(error instanceof RpcProtocolError);
    assert.match(error.message, /chunk 2 arrived, expected 1/);
  });
});

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { MlmClient } from "../../src/client/client.ts";
import type { Delivery } from "../../src/client/types.ts";
import { connect } from "../../src/rpc/client/client.ts";
import { CANCEL_STREAM, decodeEnvelope, envelopeFrames } from "../../src/rpc/wire/envelope.ts";
import Type from "typebox";
import { defineService } from "../../src/rpc/contract.ts";
import { RpcError, RpcValidationError } from "../../src/rpc/errors.ts";
import { serve } from "../../src/rpc/worker/worker.ts";
import { qwen3vl } from "./contracts.ts";
import { aborted, gate, noTokens, rejection, type Rig, rig, serveCountingEcho, until } from "./harness.ts";

/** Watches the cancel stream like a worker would. */
async function cancelWatcher(r: Rig): Promise<Delivery[]> {
  const seen: Delivery[] = [];
  const mlm = r.own(await MlmClient.connect(r.endpoint, { address: "watcher" }));
  mlm.onDelivery((d) => seen.push(d));
  await mlm.setConsumer(CANCEL_STREAM, ".*");
  return seen;
}

describe("rpc cancel routing", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
  });
  afterEach(async () => {
    await r.close();
  });

  it("after the ack, a cancel goes straight to the worker's mailbox, not on the cancel stream", async () => {
    const watched = await cancelWatcher(r);
    const stopped = gate<unknown>();
    const worker = r.own(await serve(r.endpoint, qwen3vl, {
      infer: async (_input, ctx) => {
        stopped.open(await aborted(ctx.signal));
        throw ctx.signal.reason;
      },
      tokens: noTokens,
    }, { ackAfter: 1 }));
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    const controller = new AbortController();
    const call = rejection(client.qwen3vl.infer({ prompt: "x" }, { signal: controller.signal }));
    await until(() => client.stats().acks === 1, "the ack");
    controller.abort();
    assert.equal((await call).code, "RPC_CANCELLED");
    assert.equal(((await stopped.promise) as RpcError).code, "RPC_CANCELLED");
    assert.equal(worker.stats().cancels, 1);
    assert.equal(watched.length, 0, "nothing was broadcast");
  });

  it("before any ack, the cancel is published on the cancel stream with subject <service>/<call id>", async () => {
    const watched = await cancelWatcher(r);
    const started = gate();
    const stopped = gate<unknown>();
    r.own(await serve(r.endpoint, qwen3vl, {
      infer: async (_input, ctx) => {
        started.open();
        stopped.open(await aborted(ctx.signal));
        throw ctx.signal.reason;
      },
      tokens: noTokens,
    }, { ackAfter: 60_000 }));
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    const controller = new AbortController();
    const call = rejection(client.qwen3vl.infer({ prompt: "x" }, { signal: controller.signal }));
    await started.promise;
    controller.abort();
    await call;
    assert.equal(((await stopped.promise) as RpcError).code, "RPC_CANCELLED");
    await until(() => watched.length === 1, "the broadcast cancel");
    const d = watched[0] as Delivery;
    assert.equal(d.sender, client.address);
    assert.equal(decodeEnvelope(d.content).header.kind, "cancel");
    assert.match(d.subject, /^qwen3vl\/[0-9a-z]{1,7}\.1$/);
  });
  it("call ids are unique per caller: another caller's cancel with the same id stops nothing", async () => {
    const release = gate();
    const worker = r.own(await serve(r.endpoint, qwen3vl, {
      infer: async ({ prompt }, ctx) => {
        await release.promise;
        return { text: `${prompt} ${ctx.signal.aborted ? "aborted" : "ran"}`, tokens: 0 };
      },
      tokens: noTokens,
    }, { concurrency: 2 }));
    const caller = r.own(await MlmClient.connect(r.endpoint, { address: "caller-a" }));
    const other = r.own(await MlmClient.connect(r.endpoint, { address: "caller-b" }));
    await other.setProducer(CANCEL_STREAM);
    const call = (id: string, prompt: string): void =>
      caller.sendFor("qwen3vl", "infer", envelopeFrames({ kind: "call", timeout: 5000, deadline: Date.now() + 5000 }, { prompt }), { tracker: id, timeout: 5000 });
    // Early: caller-b cancels "x.2" before caller-a's call "x.2" exists.
    other.send("qwen3vl/x.2", envelopeFrames({ kind: "cancel", deadline: Date.now() + 5000 }));
    await until(() => worker.stats().cancels === 1, "the early cancel");
    // Running: caller-b cancels "x.1", directly and on the stream, while caller-a's "x.1" runs.
    call("x.1", "first");
    await until(() => worker.stats().running === 1, "the first call to start");
    other.send("qwen3vl/x.1", envelopeFrames({ kind: "cancel" }));
    other.sendTo(worker.address, "cancel", envelopeFrames({ kind: "cancel" }), { tracker: "x.1", timeout: 5000 });
    await until(() => worker.stats().cancels === 3, "both cancels of x.1");
    call("x.2", "second");
    await until(() => worker.stats().running === 2, "the second call to start");
    release.open();
    const results = new Map<string, unknown>();
    while (results.size < 2) {
      const d = await caller.receive({ signal: AbortSignal.timeout(5000) });
      const { header, payload } = decodeEnvelope(d.content);
      if (header.kind === "result" || header.kind === "error") results.set(d.tracker, payload);
    }
    assert.deepEqual(results.get("x.1"), { text: "first ran", tokens: 0 });
    assert.deepEqual(results.get("x.2"), { text: "second ran", tokens: 0 });
    assert.equal(worker.stats().skippedCancelled, 0);
  });

  it("a caller's own early cancel still skips its queued call", async () => {
    const { worker, runs } = await serveCountingEcho(r);
    const caller = r.own(await MlmClient.connect(r.endpoint, { address: "caller-a" }));
    await caller.setProducer(CANCEL_STREAM);
    caller.send("qwen3vl/y.1", envelopeFrames({ kind: "cancel", deadline: Date.now() + 5000 }));
    await until(() => worker.stats().cancels === 1, "the early cancel");
    caller.sendFor("qwen3vl", "infer", envelopeFrames({ kind: "call", timeout: 5000, deadline: Date.now() + 5000 }, { prompt: "z" }), { tracker: "y.1", timeout: 5000 });
    const d = await caller.receive({ signal: AbortSignal.timeout(5000) });
    const { header, payload } = decodeEnvelope(d.content);
    assert.equal(header.kind, "error");
    assert.equal((payload as { code: string }).code, "RPC_CANCELLED");
    assert.equal(runs(), 0);
    assert.equal(worker.stats().skippedCancelled, 1);
  });
});

describe("rpc edge cases", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
  });
  afterEach(async () => {
    await r.close();
  });

  it("the worker enforces the deadline by itself: ctx.signal aborts and the reply is RPC_DEADLINE_EXCEEDED", async () => {
    r.own(await serve(r.endpoint, qwen3vl, {
      infer: async (_input, ctx) => {
        await aborted(ctx.signal);
        return { text: "too late", tokens: 0 };
      },
      tokens: noTokens,
    }));
    // A raw caller that never cancels: only the worker's own deadline can end the call.
    const raw = r.own(await MlmClient.connect(r.endpoint, { address: "raw-deadline" }));
    const call = envelopeFrames({ kind: "call", timeout: 50, deadline: Date.now() + 50 }, { prompt: "x" });
    raw.sendFor("qwen3vl", "infer", call, { tracker: "t-1", timeout: 50 });
    for (;;) {
      const d = await raw.receive({ signal: AbortSignal.timeout(5000) });
      const envelope = decodeEnvelope(d.content);
      if (envelope.header.kind !== "error") continue;
      assert.equal((envelope.payload as { code: string }).code, "RPC_DEADLINE_EXCEEDED");
      break;
    }
  });

  it("a call from an anonymous sender is confirmed without a reply, and the worker keeps serving", async () => {
    const { worker, runs } = await serveCountingEcho(r);
    const anon = r.own(await MlmClient.connect(r.endpoint));
    const call = envelopeFrames({ kind: "call", timeout: 5000, deadline: Date.now() + 5000 }, { prompt: "anon" });
    anon.sendFor("qwen3vl", "infer", call, { tracker: "a-1", timeout: 5000 });
    await until(() => worker.stats().succeeded === 1, "the anonymous call");
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    assert.deepEqual(await client.qwen3vl.infer({ prompt: "named" }), { text: "named", tokens: 0 });
    assert.equal(runs(), 2);
  });

  it("an onProgress callback that throws fails the call with its error as cause", async () => {
    r.own(await serve(r.endpoint, qwen3vl, {
      infer: async (_input, ctx) => {
        ctx.progress({ tokens: 1 });
        return { text: "", tokens: 1 };
      },
      tokens: noTokens,
    }));
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    const error = await rejection(client.qwen3vl.infer({ prompt: "x" }, {
      onProgress: () => {
        throw new Error("listener broke");
      },
    }));
    assert.equal(error.code, "RPC_INTERNAL");
    assert.equal((error.cause as Error).message, "listener broke");
  });

  it("a stream whose reader falls behind by more than maxBufferedChunks fails with RPC_RESOURCE_EXHAUSTED", async () => {
    const finished = gate();
    r.own(await serve(r.endpoint, qwen3vl, {
      infer: async () => ({ text: "", tokens: 0 }),
      tokens: async function* () {
        for (let i = 0; i < 50; i++) yield String(i);
        finished.open();
      },
    }));
    const client = r.own(await connect(r.endpoint, { qwen3vl }, { maxBufferedChunks: 10 }));
    const stream = client.qwen3vl.tokens({ prompt: "" });
    await finished.promise;
    await until(() => client.stats().pending === 0, "the stream to fail");
    const got: string[] = [];
    const error = await rejection((async () => {
      for await (const chunk of stream) got.push(chunk);
    })());
    assert.equal(error.code, "RPC_RESOURCE_EXHAUSTED");
    assert.deepEqual(got, Array.from({ length: 10 }, (_, i) => String(i)), "the buffered chunks are still delivered");
  });

  it("a stream can be iterated only once", async () => {
    r.own(await serve(r.endpoint, qwen3vl, {
      infer: async () => ({ text: "", tokens: 0 }),
      tokens: async function* () {
        yield "a";
      },
    }));
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    const stream = client.qwen3vl.tokens({ prompt: "" });
    for await (const _ of stream) { /* drain */ }
    assert.throws(() => stream[Symbol.asyncIterator](), RpcError);
  });

  it("an input its schema admits but msgpack cannot carry fails before sending with RpcValidationError", async () => {
    const loose = defineService("loose", { any: { input: Type.Any(), output: Type.Null() } });
    const client = r.own(await connect(r.endpoint, { loose }));
    const error = await rejection(client.loose.any({ s: Symbol("x") }));
    assert.ok(error instanceof RpcValidationError);
    assert.match(error.message, /cannot be encoded as msgpack/);
    assert.equal(client.stats().calls, 0);
  });

  it("a service key that would shadow a client member is refused", async () => {
    await assert.rejects(connect(r.endpoint, { close: qwen3vl }), /cannot name a service/);
  });
});

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { connect } from "../../src/rpc/client/client.ts";
import { RpcCancelledError, RpcDeadlineError, RpcError } from "../../src/rpc/errors.ts";
import { serve } from "../../src/rpc/worker/worker.ts";
import { qwen3vl } from "./contracts.ts";
import { aborted, gate, noTokens, rejection, rig, type Rig, serveBlocking, serveEndlessTokens, until } from "./harness.ts";

describe("rpc deadlines", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
  });
  afterEach(async () => {
    await r.close();
  });

  it("a handler slower than the deadline: the caller gets RpcDeadlineError and ctx.signal aborts", async () => {
    const reasons: unknown[] = [];
    const handlerSaw = gate();
    r.own(await serve(r.endpoint, qwen3vl, {
      infer: async (_input, ctx) => {
        reasons.push(await aborted(ctx.signal));
        handlerSaw.open();
        throw ctx.signal.reason;
      },
      tokens: noTokens,
    }));
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    const error = await rejection(client.qwen3vl.infer({ prompt: "slow" }, { timeout: 150 }));
    assert.ok(error instanceof RpcDeadlineError);
    assert.equal(error.code, "RPC_DEADLINE_EXCEEDED");
    await handlerSaw.promise;
    assert.equal((reasons[0] as RpcError).code, "RPC_DEADLINE_EXCEEDED");
  });

  it("a deadline already past fails at once, without sending", async () => {
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    const error = await rejection(client.qwen3vl.infer({ prompt: "x" }, { deadline: Date.now() - 1 }));
    assert.equal(error.code, "RPC_DEADLINE_EXCEEDED");
    assert.equal(client.stats().calls, 0);
  });

  it("a call that expires while queued in the broker is dropped there and never runs", async () => {
    const { prompts, release } = await serveBlocking(r);
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    const blocker = client.qwen3vl.infer({ prompt: "blocker" });
    await until(() => prompts.length === 1, "the blocker to start");
    const error = await rejection(client.qwen3vl.infer({ prompt: "queued" }, { timeout: 100 }));
    assert.equal(error.code, "RPC_DEADLINE_EXCEEDED");
    await until(() => r.broker.stats().counters.expired === 1, "the broker to expire the queued call");
    release();
    await blocker;
    assert.deepEqual(await client.qwen3vl.infer({ prompt: "after" }), { text: "after", tokens: 0 });
    assert.deepEqual(prompts, ["blocker", "after"]);
  });
});

describe("rpc cancellation", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
  });
  afterEach(async () => {
    await r.close();
  });

  it("aborting the caller's signal aborts the handler's ctx.signal on the worker running it", async () => {
    const started = gate();
    const handlerAborted = gate<unknown>();
    r.own(await serve(r.endpoint, qwen3vl, {
      infer: async (_input, ctx) => {
        started.open();
        handlerAborted.open(await aborted(ctx.signal));
        throw ctx.signal.reason;
      },
      tokens: noTokens,
    }));
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    const controller = new AbortController();
    const call = client.qwen3vl.infer({ prompt: "x" }, { signal: controller.signal });
    await started.promise;
    controller.abort(new Error("user pressed stop"));
    const error = await rejection(call);
    assert.ok(error instanceof RpcCancelledError);
    assert.equal(error.code, "RPC_CANCELLED");
    assert.equal((error.cause as Error).message, "user pressed stop");
    const reason = await handlerAborted.promise;
    assert.equal((reason as RpcError).code, "RPC_CANCELLED");
  });

  it("a call cancelled while still queued in the broker never runs: withdrawn from the queue, and cancelled on the stream", async () => {
    const { worker, prompts, release } = await serveBlocking(r);
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    const blocker = client.qwen3vl.infer({ prompt: "blocker" });
    await until(() => prompts.length === 1, "the blocker to start");
    const controller = new AbortController();
    const queued = client.qwen3vl.infer({ prompt: "queued" }, { signal: controller.signal, timeout: 10_000 });
    await until(() => (r.broker.stats().services.find((s) => s.name === "qwen3vl")?.queued ?? 0) === 1, "the call to queue");
    controller.abort();
    assert.equal((await rejection(queued)).code, "RPC_CANCELLED");
    await until(() => worker.stats().cancels === 1, "the worker to hear of the cancel");
    await until(() => r.broker.stats().counters.withdrawn === 1, "the broker to withdraw the call");
    assert.equal(client.stats().withdrawn, 1);
    release();
    await blocker;
    assert.deepEqual(prompts, ["blocker"]);
    assert.deepEqual(await client.qwen3vl.infer({ prompt: "next" }), { text: "next", tokens: 0 });
    assert.deepEqual(prompts, ["blocker", "next"]);
  });

  it("an already aborted signal fails at once without sending", async () => {
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    const error = await rejection(client.qwen3vl.infer({ prompt: "x" }, { signal: AbortSignal.abort("no") }));
    assert.ok(error instanceof RpcCancelledError);
    assert.equal(error.cause, "no");
    assert.equal(client.stats().calls, 0);
  });

  it("stream.cancel() ends the iteration with RpcCancelledError and stops the handler", async () => {
    const { stopped } = await serveEndlessTokens(r);
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    const stream = client.qwen3vl.tokens({ prompt: "" });
    const error = await rejection((async () => {
      for await (const chunk of stream) if (chunk === "2") stream.cancel("enough");
    })());
    assert.ok(error instanceof RpcCancelledError);
    assert.equal(((await stopped) as RpcError).code, "RPC_CANCELLED");
  });

  it("closing the client fails pending calls with RPC_UNAVAILABLE, and later calls too", async () => {
    r.own(await serve(r.endpoint, qwen3vl, {
      infer: (_input, ctx) => aborted(ctx.signal).then(() => ({ text: "", tokens: 0 })),
      tokens: noTokens,
    }, { drainTimeout: 10 }));
    const client = await connect(r.endpoint, { qwen3vl });
    const pending = rejection(client.qwen3vl.infer({ prompt: "x" }, { timeout: 1000 }));
    await client.close();
    assert.equal((await pending).code, "RPC_UNAVAILABLE");
    assert.equal((await rejection(client.qwen3vl.infer({ prompt: "y" }))).code, "RPC_UNAVAILABLE");
  });
});

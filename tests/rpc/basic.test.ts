import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import Type from "typebox";
import { connect } from "../../src/rpc/client/client.ts";
import { defineService } from "../../src/rpc/contract.ts";
import type { HandlerContext } from "../../src/rpc/types.ts";
import { serve } from "../../src/rpc/worker/worker.ts";
import { qwen3vl, zimage } from "./contracts.ts";
import { gate, noTokens, rig, type Rig, serveEndlessTokens, until } from "./harness.ts";

describe("rpc calls over a real broker", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
  });
  afterEach(async () => {
    await r.close();
  });

  it("a unary call resolves with the handler's output", async () => {
    r.own(await serve(r.endpoint, qwen3vl, {
      infer: async ({ prompt }) => ({ text: prompt.toUpperCase(), tokens: prompt.length }),
      tokens: noTokens,
    }));
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    assert.deepEqual(await client.qwen3vl.infer({ prompt: "hello" }), { text: "HELLO", tokens: 5 });
  });

  it("progress values reach onProgress in order, before the result", async () => {
    r.own(await serve(r.endpoint, qwen3vl, {
      infer: async (_input, ctx) => {
        for (let i = 1; i <= 5; i++) ctx.progress({ tokens: i });
        return { text: "done", tokens: 5 };
      },
      tokens: noTokens,
    }));
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    const seen: number[] = [];
    const out = await client.qwen3vl.infer({ prompt: "p" }, { onProgress: (p) => seen.push(p.tokens) });
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
    assert.equal(out.text, "done");
  });

  it("a streaming method yields the generator's chunks in order", async () => {
    r.own(await serve(r.endpoint, qwen3vl, {
      infer: async () => ({ text: "", tokens: 0 }),
      tokens: async function* ({ prompt }) {
        for (const word of prompt.split(" ")) yield word;
      },
    }));
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    const words: string[] = [];
    for await (const word of client.qwen3vl.tokens({ prompt: "the quick brown fox" })) words.push(word);
    assert.deepEqual(words, ["the", "quick", "brown", "fox"]);
  });

  it("a streaming handler may be a plain generator, and an empty stream ends cleanly", async () => {
    r.own(await serve(r.endpoint, qwen3vl, {
      infer: async () => ({ text: "", tokens: 0 }),
      tokens: function* ({ prompt }) {
        if (prompt !== "") yield* prompt.split("");
      },
    }));
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    const letters: string[] = [];
    for await (const c of client.qwen3vl.tokens({ prompt: "abc" })) letters.push(c);
    assert.deepEqual(letters, ["a", "b", "c"]);
    let count = 0;
    for await (const _ of client.qwen3vl.tokens({ prompt: "" })) count++;
    assert.equal(count, 0);
  });

  it("leaving a stream loop early cancels the handler on the worker", async () => {
    const { stopped } = await serveEndlessTokens(r);
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    for await (const chunk of client.qwen3vl.tokens({ prompt: "" })) {
      if (chunk === "3") break;
    }
    const reason = await stopped;
    assert.equal((reason as { code?: string }).code, "RPC_CANCELLED");
  });

  it("binary fields round-trip as Uint8Array", async () => {
    r.own(await serve(r.endpoint, zimage, {
      render: async ({ steps }) => ({ png: new Uint8Array(steps).map((_, i) => i * 7), seed: 42 }),
    }));
    const client = r.own(await connect(r.endpoint, { zimage }));
    const out = await client.zimage.render({ prompt: "cat", steps: 50 });
    assert.equal(out.png.constructor, Uint8Array);
    assert.deepEqual(out.png, new Uint8Array(50).map((_, i) => i * 7));
    assert.equal(out.seed, 42);
  });

  it("one client connection serves many concurrent calls to several services", async () => {
    let running = 0;
    let overlap = 0;
    r.own(await serve(r.endpoint, qwen3vl, {
      infer: async ({ prompt }) => {
        running++;
        overlap = Math.max(overlap, running);
        await new Promise((resolve) => setTimeout(resolve, 2));
        running--;
        return { text: prompt, tokens: 1 };
      },
      tokens: noTokens,
    }, { concurrency: 16 }));
    r.own(await serve(r.endpoint, zimage, {
      render: async ({ steps }) => ({ png: new Uint8Array([steps]), seed: steps }),
    }, { concurrency: 4 }));
    const client = r.own(await connect(r.endpoint, { qwen3vl, zimage }));
    const texts = Array.from({ length: 100 }, (_, i) => `call-${i}`);
    const [infers, renders] = await Promise.all([
      Promise.all(texts.map((prompt) => client.qwen3vl.infer({ prompt }))),
      Promise.all(Array.from({ length: 50 }, (_, i) => client.zimage.render({ prompt: "x", steps: i + 1 }))),
    ]);
    assert.deepEqual(infers.map((o) => o.text), texts);
    assert.deepEqual(renders.map((o) => o.seed), Array.from({ length: 50 }, (_, i) => i + 1));
    assert.ok(overlap > 1, "calls of one client ran concurrently");
    assert.equal(client.stats().pending, 0);
  });

  it("ctx carries the caller's address, the call id, the deadline and the metadata", async () => {
    let seen: HandlerContext<{ tokens: number }> | undefined;
    let now = 0;
    r.own(await serve(r.endpoint, qwen3vl, {
      infer: async (_input, ctx) => {
        seen = ctx;
        now = Date.now();
        return { text: "", tokens: 0 };
      },
      tokens: noTokens,
    }));
    const client = r.own(await connect(r.endpoint, { qwen3vl }, { address: "caller-1" }));
    await client.qwen3vl.infer({ prompt: "p" }, { timeout: 5000, meta: { traceparent: "00-abc-01" } });
    assert.ok(seen);
    assert.equal(seen.caller, "caller-1");
    assert.equal(seen.service, "qwen3vl");
    assert.equal(seen.method, "infer");
    assert.match(seen.callId, /^[0-9a-z]{1,7}\.[0-9a-z]+$/);
    assert.deepEqual(seen.meta, { traceparent: "00-abc-01" });
    assert.ok(seen.deadline > now && seen.deadline <= now + 5000, `deadline ${seen.deadline - now} ms ahead`);
    assert.equal(seen.signal.aborted, false);
  });

  it("the deadline defaults per method, then per client, and a call can override it", async () => {
    const svc = defineService("deadlines", {
      withDefault: { input: Type.Null(), output: Type.Number(), timeout: 120_000 },
      plain: { input: Type.Null(), output: Type.Number() },
    });
    const remaining = async (_: null, ctx: HandlerContext) => ctx.deadline - Date.now();
    r.own(await serve(r.endpoint, svc, { withDefault: remaining, plain: remaining }));
    const client = r.own(await connect(r.endpoint, { svc }, { defaultTimeout: 40_000 }));
    const method = await client.svc.withDefault(null);
    const fromClient = await client.svc.plain(null);
    const perCall = await client.svc.withDefault(null, { timeout: 3_000 });
    const absolute = await client.svc.plain(null, { deadline: Date.now() + 7_000 });
    assert.ok(method > 60_000 && method <= 120_000, `method default: ${method}`);
    assert.ok(fromClient > 20_000 && fromClient <= 40_000, `client default: ${fromClient}`);
    assert.ok(perCall > 0 && perCall <= 3_000, `per call: ${perCall}`);
    assert.ok(absolute > 3_000 && absolute <= 7_000, `absolute: ${absolute}`);
  });

  it("the worker reports its running calls and counters", async () => {
    const release = gate();
    const worker = r.own(await serve(r.endpoint, qwen3vl, {
      infer: async () => {
        await release.promise;
        return { text: "", tokens: 0 };
      },
      tokens: noTokens,
    }, { concurrency: 2 }));
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    const calls = [client.qwen3vl.infer({ prompt: "a" }), client.qwen3vl.infer({ prompt: "b" })];
    await until(() => worker.stats().running === 2, "two running calls");
    release.open();
    await Promise.all(calls);
    const stats = worker.stats();
    assert.equal(stats.received, 2);
    assert.equal(stats.succeeded, 2);
    assert.equal(stats.running, 0);
    assert.equal(stats.maxRunning, 2);
  });
});

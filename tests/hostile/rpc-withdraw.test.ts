// Issue 14, item 11: a call cancelled while no worker is connected never runs, even when a worker
// connects later: the client withdraws it from the broker's queue (WITHDRAW, docs/mlm-extensions.md).
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { connect } from "../../src/rpc/client/client.ts";
import { serve } from "../../src/rpc/worker/worker.ts";
import { qwen3vl } from "../rpc/contracts.ts";
import { noTokens, rejection, type Rig, rig } from "../rpc/harness.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("a call cancelled before any worker exists", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
  });
  afterEach(async () => {
    await r.close();
  });

  it("aborted at 50 ms, worker connects at 700 ms: the handler never runs it", async () => {
    const client = r.own(await connect(r.endpoint, { qwen3vl }));
    const start = performance.now();
    const cancelled = rejection(client.qwen3vl.infer({ prompt: "cancelled" }, { signal: AbortSignal.timeout(50), timeout: 10_000 }));
    assert.equal((await cancelled).code, "RPC_CANCELLED");
    await sleep(700 - (performance.now() - start));
    const prompts: string[] = [];
    r.own(await serve(r.endpoint, qwen3vl, {
      infer: async ({ prompt }) => {
        prompts.push(prompt);
        return { text: prompt, tokens: 0 };
      },
      tokens: noTokens,
    }));
    // A later call is served: the queue in front of it is empty.
    assert.deepEqual(await client.qwen3vl.infer({ prompt: "after" }), { text: "after", tokens: 0 });
    assert.deepEqual(prompts, ["after"]);
    assert.equal(r.broker.stats().counters.withdrawn, 1);
  });
});

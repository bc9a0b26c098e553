// Issue 14, item 10: cancels reach only workers of the call's service, and calls that merely
// expire before any ack send none. Two idle workers of an unrelated service hear nothing while
// 1,000 calls of another service expire or are cancelled.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import Type from "typebox";
import { MlmClient } from "../../src/client/client.ts";
import { connect } from "../../src/rpc/client/client.ts";
import { defineService } from "../../src/rpc/contract.ts";
import { CANCEL_STREAM } from "../../src/rpc/wire/envelope.ts";
import { RpcError } from "../../src/rpc/errors.ts";
import { serve } from "../../src/rpc/worker/worker.ts";
import { qwen3vl } from "../rpc/contracts.ts";
import { noTokens, type Rig, rig, until } from "../rpc/harness.ts";

const storm = defineService("storm.svc", {
  run: { input: Type.Object({ n: Type.Integer() }), output: Type.Object({ n: Type.Integer() }) },
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("cancel storm", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
  });
  afterEach(async () => {
    await r.close();
  });

  it("1,000 calls expire or are cancelled: unrelated workers get no cancel, expired calls send none", { timeout: 30_000 }, async () => {
    const idle = [
      r.own(await serve(r.endpoint, qwen3vl, { infer: async () => ({ text: "", tokens: 0 }), tokens: noTokens })),
      r.own(await serve(r.endpoint, qwen3vl, { infer: async () => ({ text: "", tokens: 0 }), tokens: noTokens })),
    ];
    // Watches the whole cancel stream.
    const watcher = r.own(await MlmClient.connect(r.endpoint, { address: "storm-watcher" }));
    const heard: string[] = [];
    watcher.onDelivery((d) => heard.push(d.subject));
    await watcher.setConsumer(CANCEL_STREAM, ".*");
    const client = r.own(await connect(r.endpoint, { storm }));
    // No worker of storm.svc: every call waits in the broker.
    const controller = new AbortController();
    const calls = Array.from({ length: 1000 }, (_, n) =>
      client.storm.run({ n }, n % 2 === 0 ? { timeout: 100 } : { signal: controller.signal, timeout: 60_000 })
        .then(() => "ok", (error: RpcError) => error.code));
    await sleep(20);
    controller.abort();
    const outcomes = await Promise.all(calls);
    assert.equal(outcomes.filter((c) => c === "RPC_DEADLINE_EXCEEDED").length, 500);
    assert.equal(outcomes.filter((c) => c === "RPC_CANCELLED").length, 500);
    await until(() => heard.length >= 500, "the cancels of the 500 cancelled calls");
    await sleep(50); // anything still on its way to the idle workers arrives
    assert.deepEqual(idle.map((w) => w.stats().cancels), [0, 0]);
    assert.equal(heard.length, 500, "calls that expired sent no cancel");
    assert.ok(heard.every((s) => s.startsWith("storm.svc/")));
    // The cancelled calls were also taken back from the queue.
    await until(() => r.broker.stats().counters.withdrawn === 500, "500 withdrawals");
    assert.equal(client.stats().withdrawn, 500);
  });
});

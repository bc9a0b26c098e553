import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connect } from "../../src/rpc/client/client.ts";
import { RpcUnavailableError } from "../../src/rpc/errors.ts";
import { qwen3vl } from "./contracts.ts";
import { rejection, rig, until } from "./harness.ts";

describe("rpc broker failure CONFIRMs reject the call", () => {
  it("CONFIRM 302 (service queue full) → RPC_RESOURCE_EXHAUSTED", async () => {
    const r = await rig({ serviceQueueMessages: 1 });
    try {
      const client = r.own(await connect(r.endpoint, { qwen3vl }));
      // No worker: the first call waits in the queue, the second finds it full.
      const first = rejection(client.qwen3vl.infer({ prompt: "a" }, { timeout: 60_000 }));
      const second = await rejection(client.qwen3vl.infer({ prompt: "b" }, { timeout: 60_000 }));
      assert.ok(second instanceof RpcUnavailableError);
      assert.equal(second.code, "RPC_RESOURCE_EXHAUSTED");
      assert.match(second.message, /broker limit/);
      await client.close();
      assert.equal((await first).code, "RPC_UNAVAILABLE");
    } finally {
      await r.close();
    }
  });

  it("CONFIRM 304 (broker shut down with the call queued) → RPC_UNAVAILABLE", async () => {
    const r = await rig();
    const client = await connect(r.endpoint, { qwen3vl }, { mlm: { reconnect: false } });
    try {
      const call = rejection(client.qwen3vl.infer({ prompt: "a" }, { timeout: 60_000 }));
      await until(() => (r.broker.stats().services.find((s) => s.name === "qwen3vl")?.queued ?? 0) === 1, "the call to queue");
      await r.broker.close();
      const error = await call;
      assert.equal(error.code, "RPC_UNAVAILABLE");
      assert.match(error.message, /status 304/);
    } finally {
      await client.close();
      await r.close();
    }
  });

  it("a call expiring in the broker queue → RPC_DEADLINE_EXCEEDED, counted as expired by the broker", async () => {
    const r = await rig();
    try {
      const client = r.own(await connect(r.endpoint, { qwen3vl }));
      const error = await rejection(client.qwen3vl.infer({ prompt: "a" }, { timeout: 50 }));
      assert.equal(error.code, "RPC_DEADLINE_EXCEEDED");
      await until(() => r.broker.stats().counters.expired === 1, "the broker expiry");
    } finally {
      await r.close();
    }
  });
});

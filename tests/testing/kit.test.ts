import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { connect } from "../../src/rpc/client/client.ts";
import { RpcError } from "../../src/rpc/errors.ts";
import { ForgeEvents } from "../../src/forge/events.ts";
import { MlmClient } from "../../src/client/client.ts";
import { delay, fail, mockService, recordForgeEvents, reply, stream, testBroker } from "../../src/testing/mod.ts";
import { qwen3vl } from "../rpc/contracts.ts";

describe("testing kit: testBroker", () => {
  it("gives each broker its own endpoint, closes what it owns first, and closes once", async () => {
    const a = await testBroker();
    const b = await testBroker();
    assert.notEqual(a.endpoint, b.endpoint);
    const client = a.own(await MlmClient.connect(a.endpoint, { ...a.options, address: "x" }));
    client.sendTo("x", "hi", "there");
    assert.equal((await client.receive()).subject, "hi");
    await Promise.all([a.close(), a.close()]);
    assert.equal(client.connected, false);
    await b.close();
  });
});

describe("testing kit: mockService", () => {
  it("records input, meta, deadline and outcome of each call", async () => {
    const t = await testBroker();
    try {
      const mock = await mockService(t, qwen3vl, { infer: reply({ text: "ok", tokens: 1 }) });
      const client = t.own(await connect(t.endpoint, { qwen3vl }, t.options));
      const deadline = Date.now() + 3_000;
      assert.deepEqual(await client.qwen3vl.infer({ prompt: "p" }, { deadline, meta: { user: "ada" } }), { text: "ok", tokens: 1 });
      const [call] = mock.callsOf("infer");
      assert.deepEqual(call?.input, { prompt: "p" });
      assert.deepEqual(call?.meta, { user: "ada" });
      assert.equal(call?.deadline, deadline);
      assert.equal(call?.outcome, "ok");
      assert.equal(call?.caller, client.address);
    } finally {
      await t.close();
    }
  });

  it("fails, delays past a deadline and streams on demand; next() serves one call only", async () => {
    const t = await testBroker();
    try {
      const mock = await mockService(t, qwen3vl, { infer: reply({ text: "fine", tokens: 0 }), tokens: stream(["a", "b"]) });
      const client = t.own(await connect(t.endpoint, { qwen3vl }, t.options));
      mock.next("infer", fail(new RpcError("MODEL_DOWN", "gpu lost")));
      await assert.rejects(client.qwen3vl.infer({ prompt: "1" }), { code: "MODEL_DOWN" });
      assert.equal((await client.qwen3vl.infer({ prompt: "2" })).text, "fine");
      mock.next("infer", delay(10_000, reply({ text: "late", tokens: 0 })));
      await assert.rejects(client.qwen3vl.infer({ prompt: "3" }, { timeout: 100 }), { code: "RPC_DEADLINE_EXCEEDED" });
      const chunks: string[] = [];
      for await (const c of client.qwen3vl.tokens({ prompt: "s" })) chunks.push(c);
      assert.deepEqual(chunks, ["a", "b"]);
      const calls = await mock.waitForCalls(4);
      // The delayed call is aborted on the worker by its deadline, not left running.
      for (let i = 0; i < 400 && calls[2]?.outcome === undefined; i++) await new Promise((r) => setTimeout(r, 5));
      assert.deepEqual(calls.map((c) => c.outcome), ["MODEL_DOWN", "ok", "RPC_DEADLINE_EXCEEDED", "ok"]);
    } finally {
      await t.close();
    }
  });

  it("answers a method left out with RPC_INTERNAL naming it, and waitForCalls times out", async () => {
    const t = await testBroker();
    try {
      const mock = await mockService(t, qwen3vl, {});
      const client = t.own(await connect(t.endpoint, { qwen3vl }, t.options));
      await assert.rejects(client.qwen3vl.infer({ prompt: "x" }), (e: RpcError) => e.code === "RPC_INTERNAL" && /qwen3vl\.infer is not mocked/.test(e.message));
      await assert.rejects(mock.waitForCalls(2, { timeoutMs: 50 }), { code: "RPC_DEADLINE_EXCEEDED" });
    } finally {
      await t.close();
    }
  });
});

describe("testing kit: recordForgeEvents", () => {
  it("keeps at most `limit` events, dropping the oldest, and counts the drops", async () => {
    const t = await testBroker();
    try {
      const events = await recordForgeEvents(t, { limit: 2 });
      const forge = t.own(await ForgeEvents.connect(t.endpoint, { ...t.options, progressIntervalMs: 0 }));
      const job = forge.job({ jobId: "j1", service: "s", method: "m", backend: "b" });
      job.progress({ done: 1, total: 2 });
      job.completed();
      await events.waitFor((e) => e.kind === "completed");
      assert.deepEqual(events.kinds("j1"), ["progress", "completed"]);
      assert.equal(events.dropped, 1);
      await assert.rejects(events.job("nope", { timeoutMs: 30 }), { code: "RPC_DEADLINE_EXCEEDED" });
    } finally {
      await t.close();
    }
  });

  it("refuses a limit below 1", async () => {
    const t = await testBroker();
    try {
      await assert.rejects(recordForgeEvents(t, { limit: 0 }), RangeError);
    } finally {
      await t.close();
    }
  });
});

describe("docs/testing.md", () => {
  it("shows tests/testing/forge-step.test.ts as it runs (imports aside)", () => {
    const root = new URL("../../", import.meta.url);
    const doc = readFileSync(new URL("docs/testing.md", root), "utf8");
    const block = doc.split("```ts\n")[1]?.split("```")[0] ?? "";
    const test = readFileSync(new URL("tests/testing/forge-step.test.ts", root), "utf8");
    const body = (s: string) => s.split("\n").filter((l) => !l.startsWith("import") && !l.startsWith("//")).join("\n").trim();
    assert.equal(body(block), body(test));
  });
});

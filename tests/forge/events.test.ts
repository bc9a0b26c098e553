import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startBroker, type Broker } from "../../src/broker/server.ts";
import { inproc } from "../../src/transport/inproc.ts";
import { ForgeError, ForgeEvents, watchForgeEvents, type ForgeEvent } from "../../src/forge/mod.ts";

let broker: Broker;
const endpoint = "inproc://forge-events-test";

before(async () => {
  // A journal in memory, so that a late watcher can replay (docs/durability.md).
  broker = await startBroker({ endpoints: [endpoint], transport: inproc, storage: { memory: true } });
});
after(async () => {
  await broker.close();
});

/** Takes `n` events from a feed. */
async function take(feed: AsyncIterable<ForgeEvent>, n: number): Promise<ForgeEvent[]> {
  const out: ForgeEvent[] = [];
  for await (const e of feed) {
    out.push(e);
    if (out.length === n) break;
  }
  return out;
}

describe("forge.events stream", () => {
  it("lets a watcher that starts late see the history of a running job, then live events", async () => {
    const events = await ForgeEvents.connect(endpoint, { transport: inproc, progressIntervalMs: 0 });
    const early = await watchForgeEvents(endpoint, { transport: inproc, pattern: "late\\..*" });
    try {
      const job = events.job({ jobId: "late-1", service: "late", method: "run", backend: "demo" });
      job.progress({ done: 1, total: 2 });
      // The early watcher has them: they went through the broker.
      assert.equal((await take(early, 2)).length, 2);
      const late = await watchForgeEvents(endpoint, { transport: inproc, pattern: "late\\..*", from: "first" });
      try {
        job.completed();
        const got = await take(late, 3);
        assert.deepEqual(got.map((e) => e.kind), ["started", "progress", "completed"]);
      } finally {
        await late.close();
      }
    } finally {
      await early.close();
      await events.close();
    }
  });

  it("publishes started, progress and completed events that any client can watch", async () => {
    const feed = await watchForgeEvents(endpoint, { transport: inproc });
    const events = await ForgeEvents.connect(endpoint, { transport: inproc, progressIntervalMs: 0 });
    try {
      const job = events.job({ jobId: "call-1", service: "zimage", method: "generate", backend: "demo-procedural", caller: "me" });
      job.progress({ done: 1, total: 2, stage: "sky" });
      job.progress({ done: 2, total: 2 });
      job.completed({ seed: 7, width: 64 });
      const got = await take(feed, 4);
      assert.deepEqual(got.map((e) => e.kind), ["started", "progress", "progress", "completed"]);
      for (const e of got) {
        assert.equal(e.jobId, "call-1");
        assert.equal(e.service, "zimage");
        assert.equal(e.backend, "demo-procedural");
        assert.equal(e.caller, "me");
      }
      assert.deepEqual(got[1]!.progress, { done: 1, total: 2, stage: "sky" });
      assert.deepEqual(got[3]!.summary, { seed: 7, width: 64 });
      assert.ok(typeof got[3]!.durationMs === "number" && got[3]!.durationMs >= 0);
      assert.equal(events.published, 4);
    } finally {
      await feed.close();
      await events.close();
    }
  });

  it("filters by subject pattern and reports failures and cancellations with their code", async () => {
    const failures = await watchForgeEvents(endpoint, { transport: inproc, pattern: ".*\\.(failed|cancelled)" });
    const events = await ForgeEvents.connect(endpoint, { transport: inproc });
    try {
      const a = events.job({ jobId: "a", service: "kokoro", method: "synthesize", backend: "demo-formant" });
      a.completed();
      const b = events.job({ jobId: "b", service: "kokoro", method: "synthesize", backend: "demo-formant" });
      b.failed(new ForgeError("FORGE_UNSUPPORTED", "no mp3"));
      const c = events.job({ jobId: "c", service: "sam3", method: "segment", backend: "demo-framediff" });
      c.failed(new ForgeError("RPC_CANCELLED", "stop"));
      const got = await take(failures, 2);
      assert.deepEqual(got.map((e) => [e.jobId, e.kind, e.error?.code]), [["b", "failed", "FORGE_UNSUPPORTED"], ["c", "cancelled", "RPC_CANCELLED"]]);
    } finally {
      await failures.close();
      await events.close();
    }
  });

  it("throttles progress events but always sends the last one", async () => {
    const feed = await watchForgeEvents(endpoint, { transport: inproc, pattern: "t\\.m\\..*" });
    const events = await ForgeEvents.connect(endpoint, { transport: inproc, progressIntervalMs: 60_000 });
    try {
      const job = events.job({ jobId: "t", service: "t", method: "m", backend: "x" });
      for (let i = 1; i <= 50; i++) job.progress({ done: i, total: 50 });
      job.completed();
      const got = await take(feed, 4);
      assert.deepEqual(got.map((e) => [e.kind, e.progress?.done]), [["started", undefined], ["progress", 1], ["progress", 50], ["completed", undefined]]);
    } finally {
      await feed.close();
      await events.close();
    }
  });

  it("never throws from a job reporter, even once its client is closed", async () => {
    const events = await ForgeEvents.connect(endpoint, { transport: inproc });
    const job = events.job({ jobId: "z", service: "s", method: "m", backend: "b" });
    await events.close();
    job.progress({ done: 1, total: 1 });
    job.completed();
    assert.ok(events.dropped >= 1);
    const none = ForgeEvents.none();
    none.job({ jobId: "n", service: "s", method: "m", backend: "b" }).completed();
    assert.equal(none.published, 0);
  });
});

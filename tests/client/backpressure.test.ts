// Credit gives real backpressure: a slow consumer with a small window makes the broker hold
// messages, its receive buffer never overflows, and nothing is lost.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startBroker } from "../../src/broker/server.ts";
import type { Broker } from "../../src/broker/server.ts";
import { MlmClient } from "../../src/client/client.ts";
import { sleep, str } from "./fixtures/fake-broker.ts";

const TOTAL = 300;

async function until(test: () => boolean, label: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (test()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${label}`);
}

describe("backpressure with a small credit window", () => {
  let broker: Broker;
  before(async () => {
    broker = await startBroker({ endpoints: ["tcp://127.0.0.1:0"] });
  });
  after(() => broker.close());

  it("mailbox: the broker holds what the slow consumer has no credit for; every message arrives, in order", async () => {
    const endpoint = broker.endpoints[0]!;
    // receiveBuffer = window: if the broker sent beyond the credit, deliveries would be dropped.
    const slow = await MlmClient.connect(endpoint, { address: "slow", credit: 4, receiveBuffer: 4 });
    const fast = await MlmClient.connect(endpoint, { address: "fast" });
    try {
      for (let i = 0; i < TOTAL; i++) fast.sendTo("slow", `m${i}`, String(i));
      const depth = () => broker.stats().mailboxes.find((m) => m.address === "slow")?.depth ?? 0;
      await until(() => slow.stats().received === 4 && depth() === TOTAL - 4, "the broker to hold the rest");
      await sleep(50); // while nothing is consumed, nothing more arrives
      assert.equal(slow.stats().received, 4);
      assert.equal(slow.stats().buffered, 4);
      for (let i = 0; i < TOTAL; i++) {
        const d = await slow.receive({ signal: AbortSignal.timeout(5000) });
        assert.equal(d.subject, `m${i}`);
        assert.equal(str(d.content[0]), String(i));
        assert.ok(slow.stats().buffered <= 4);
        if (i % 50 === 0) await sleep(5); // a slow consumer
      }
      assert.equal(slow.stats().droppedDeliveries, 0);
      assert.equal(depth(), 0);
    } finally {
      await Promise.all([slow.close(), fast.close()]);
    }
  });

  it("service: a manual-credit worker holds one job at a time; the rest wait queued in the broker", async () => {
    const endpoint = broker.endpoints[0]!;
    const worker = await MlmClient.connect(endpoint, { address: "bp-worker", credit: 1, manualCredit: true, receiveBuffer: 1 });
    const caller = await MlmClient.connect(endpoint, { address: "bp-caller" });
    try {
      await worker.setWorker("bp", ".*");
      for (let i = 0; i < 50; i++) caller.sendFor("bp", `job${i}`, "x", { tracker: `t${i}` });
      const queued = () => broker.stats().services.find((s) => s.name === "bp")?.queued ?? 0;
      await until(() => worker.stats().received === 1 && queued() === 49, "the broker to queue 49 jobs");
      for (let i = 0; i < 50; i++) {
        const job = await worker.receive({ signal: AbortSignal.timeout(5000) });
        assert.equal(job.subject, `job${i}`);
        worker.confirm(job);
        worker.addCredit(1);
      }
      assert.equal(worker.stats().droppedDeliveries, 0);
      await until(() => queued() === 0, "an empty queue");
    } finally {
      await Promise.all([worker.close(), caller.close()]);
    }
  });
});

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import Type from "typebox";
import { connect } from "../../src/rpc/client/client.ts";
import { defineService } from "../../src/rpc/contract.ts";
import { serve } from "../../src/rpc/worker/worker.ts";
import { type Rig, rig } from "./harness.ts";

const job = defineService("job", {
  run: { input: Type.Object({ n: Type.Integer() }), output: Type.Object({ n: Type.Integer(), worker: Type.String() }) },
});

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A worker that records how many of its calls overlap. */
async function countingWorker(r: Rig, name: string, concurrency: number) {
  const seen = { name, concurrency, calls: 0, running: 0, maxRunning: 0 };
  r.own(await serve(r.endpoint, job, {
    run: async ({ n }) => {
      seen.calls++;
      seen.running++;
      seen.maxRunning = Math.max(seen.maxRunning, seen.running);
      await tick(1 + (n % 3));
      seen.running--;
      return { n, worker: name };
    },
  }, { concurrency }));
  return seen;
}

describe("rpc concurrency becomes MLM credit", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
  });
  afterEach(async () => {
    await r.close();
  });

  it("a worker with concurrency 1 never gets a second job while busy", async () => {
    const gpu = await countingWorker(r, "gpu", 1);
    const client = r.own(await connect(r.endpoint, { job }));
    const results = await Promise.all(Array.from({ length: 20 }, (_, n) => client.job.run({ n })));
    assert.deepEqual(results.map((x) => x.n), Array.from({ length: 20 }, (_, n) => n));
    assert.equal(gpu.calls, 20);
    assert.equal(gpu.maxRunning, 1);
  });

  it("4 workers take 200 calls: each gets a share, none ever exceeds its concurrency", async () => {
    const workers = [
      await countingWorker(r, "w1", 1),
      await countingWorker(r, "w2", 2),
      await countingWorker(r, "w3", 3),
      await countingWorker(r, "w4", 4),
    ];
    const client = r.own(await connect(r.endpoint, { job }));
    const results = await Promise.all(Array.from({ length: 200 }, (_, n) => client.job.run({ n })));
    assert.deepEqual(results.map((x) => x.n), Array.from({ length: 200 }, (_, n) => n));
    const byWorker = new Map<string, number>();
    for (const x of results) byWorker.set(x.worker, (byWorker.get(x.worker) ?? 0) + 1);
    for (const w of workers) {
      assert.ok(w.calls > 0, `${w.name} got no call`);
      assert.equal(byWorker.get(w.name), w.calls);
      assert.ok(w.maxRunning <= w.concurrency, `${w.name} ran ${w.maxRunning} at once, concurrency ${w.concurrency}`);
    }
    assert.equal(workers.reduce((sum, w) => sum + w.calls, 0), 200);
  });
});

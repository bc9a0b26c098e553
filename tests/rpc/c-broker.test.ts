// The typed worker and client on a broker that behaves like C malamute (no HELLO, no CONFIRM,
// no credit): the scripted fake broker of the client tests in mode "c", with routing.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import Type from "typebox";
import { connect } from "../../src/rpc/client/client.ts";
import { defineService } from "../../src/rpc/contract.ts";
import { serve } from "../../src/rpc/worker/worker.ts";
import { inproc } from "../../src/transport/inproc.ts";
import { FakeBroker } from "../client/fixtures/fake-broker.ts";
import { gate, rejection, until, closer } from "./harness.ts";

const job = defineService("cjob", {
  run: { input: Type.Object({ n: Type.Integer() }), output: Type.Object({ n: Type.Integer() }) },
});

describe("rpc on a C-like broker", () => {
  let broker: FakeBroker;
  const { own, closeAll } = closer();
  beforeEach(async () => {
    broker = await FakeBroker.start();
    broker.mode = "c";
    broker.route = true;
  });
  afterEach(async () => {
    await closeAll();
    await broker.close();
  });

  it("200 calls to a worker with concurrency 1: every reply arrives, never two calls at once, no CONFIRM sent", async () => {
    // The calls finish in a burst once all are delivered: replies and confirmations then leave
    // back to back, and on C malamute any reply written after a first CONFIRM would be lost.
    const allDelivered = gate();
    let running = 0;
    let maxRunning = 0;
    const worker = own(await serve(broker.endpoint, job, {
      run: async ({ n }) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await allDelivered.promise;
        running--;
        return { n };
      },
    }, { concurrency: 1, transport: inproc }));
    const client = own(await connect(broker.endpoint, { job }, { transport: inproc, defaultTimeout: 5000 }));
    assert.equal(client.mlm.brokerFeatures.extended, false);
    const calls = Promise.allSettled(Array.from({ length: 200 }, (_, n) => client.job.run({ n })));
    await until(() => worker.stats().received === 200, "every call to reach the worker");
    allDelivered.open();
    const results = await calls;
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 200, "replies lost");
    assert.deepEqual(results.map((r) => (r as PromiseFulfilledResult<{ n: number }>).value.n), Array.from({ length: 200 }, (_, n) => n));
    assert.equal(broker.cErrors.confirm300, 0, "no CONFIRM reached the broker");
    assert.equal(broker.cErrors.reopen500, 0);
    assert.equal(maxRunning, 1);
    assert.equal(worker.stats().maxRunning, 1);
    assert.equal(worker.stats().succeeded, 200);
  });

  it("a call waiting in the worker past its deadline is answered RPC_DEADLINE_EXCEEDED without running; a cancelled one never runs", async () => {
    const release = gate();
    const ran: number[] = [];
    const worker = own(await serve(broker.endpoint, job, {
      run: async ({ n }) => {
        ran.push(n);
        if (n === 0) await release.promise;
        return { n };
      },
    }, { concurrency: 1, transport: inproc }));
    const client = own(await connect(broker.endpoint, { job }, { transport: inproc }));
    const blocker = client.job.run({ n: 0 });
    await until(() => ran.length === 1, "the blocker to start");
    const late = rejection(client.job.run({ n: 1 }, { timeout: 150 }));
    const controller = new AbortController();
    const cancelled = rejection(client.job.run({ n: 2 }, { signal: controller.signal }));
    const kept = client.job.run({ n: 3 });
    await until(() => worker.stats().waiting === 3, "three calls to wait in the worker");
    controller.abort();
    assert.equal((await cancelled).code, "RPC_CANCELLED");
    await until(() => worker.stats().waiting === 2 && worker.stats().skippedCancelled === 1, "the worker to drop the cancelled call");
    assert.equal((await late).code, "RPC_DEADLINE_EXCEEDED");
    await until(() => worker.stats().waiting === 1 && worker.stats().failed === 2, "the worker to answer the late call");
    release.open();
    assert.deepEqual(await blocker, { n: 0 });
    assert.deepEqual(await kept, { n: 3 });
    assert.deepEqual(ran, [0, 3]);
  });

  it("calls queued before any worker, delivered with a stale tracker, each get their own result (the call header carries the id)", async () => {
    broker.staleTrackers = true;
    const client = own(await connect(broker.endpoint, { job }, { transport: inproc }));
    const calls = [1, 2, 3].map((n) => client.job.run({ n }, { timeout: 3000 }));
    // The three SERVICE-SENDs wait in the broker's queue before a worker offers the service.
    await broker.waitForNth("SERVICE_SEND", 3);
    own(await serve(broker.endpoint, job, { run: async ({ n }) => ({ n }) }, { concurrency: 3, transport: inproc }));
    assert.deepEqual(await Promise.all(calls), [{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it("calls beyond maxWaiting are answered RPC_RESOURCE_EXHAUSTED at once", async () => {
    const release = gate();
    const worker = own(await serve(broker.endpoint, job, {
      run: async ({ n }) => {
        await release.promise;
        return { n };
      },
    }, { concurrency: 1, maxWaiting: 2, transport: inproc }));
    const client = own(await connect(broker.endpoint, { job }, { transport: inproc }));
    const calls = [0, 1, 2].map((n) => client.job.run({ n }));
    const refused = await rejection(client.job.run({ n: 3 }));
    assert.equal(refused.code, "RPC_RESOURCE_EXHAUSTED");
    assert.equal(worker.stats().refusedBusy, 1);
    release.open();
    assert.deepEqual((await Promise.all(calls)).map((r) => r.n), [0, 1, 2]);
  });
});

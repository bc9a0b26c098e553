// Issue 14, item 7: calls in flight when the broker process dies (SIGKILL) and comes back on the
// same port 1 s later. Default: they are re-sent after the re-open and all resolve soon after the
// restart; with `resendOnReconnect: false` they fail at once with RPC_UNAVAILABLE.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import Type from "typebox";
import { connect } from "../../src/rpc/client/client.ts";
import { defineService } from "../../src/rpc/contract.ts";
import { RpcError } from "../../src/rpc/errors.ts";
import { serve } from "../../src/rpc/worker/worker.ts";
import { type BrokerProcess, spawnBroker } from "../client/fixtures/broker-process.ts";
import { until } from "../rpc/harness.ts";

const job = defineService("restartjob", {
  run: { input: Type.Object({ n: Type.Integer() }), output: Type.Object({ n: Type.Integer() }) },
});

const CALLS = 40;
const DEADLINE = 15_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("rpc calls in flight across a broker kill -9 and restart", () => {
  let broker: BrokerProcess | undefined;
  const owned: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const thing of owned.splice(0).reverse()) await thing.close().catch(() => {});
    await broker?.kill();
    broker = undefined;
  });

  /** A broker child process, a worker (8 at once, 50 ms a call) and 40 calls in flight, some running, most queued. */
  async function inFlight(resendOnReconnect: boolean) {
    broker = await spawnBroker();
    const endpoint = broker.endpoint;
    const started: number[] = [];
    const worker = await serve(endpoint, job, {
      run: async ({ n }) => {
        started.push(n);
        await sleep(50);
        return { n };
      },
    }, { concurrency: 8 });
    owned.push(worker);
    const client = await connect(endpoint, { job }, { resendOnReconnect });
    owned.push(client);
    const settled: Array<{ at: number; value?: number; error?: RpcError }> = [];
    const calls = Array.from({ length: CALLS }, (_, n) =>
      client.job.run({ n }, { timeout: DEADLINE }).then(
        (r) => void settled.push({ at: performance.now(), value: r.n }),
        (error: RpcError) => void settled.push({ at: performance.now(), error }),
      ));
    await until(() => started.length >= 8, "the first calls to start");
    return { endpoint, client, worker, settled, all: Promise.all(calls) };
  }

  it("re-sent after the re-open (default): all 40 resolve within a few seconds of the restart, none waits out its deadline", { timeout: 30_000 }, async () => {
    const { endpoint, client, settled, all } = await inFlight(true);
    await broker!.kill();
    await sleep(1000);
    broker = await spawnBroker(endpoint);
    const restartedAt = performance.now();
    await all;
    const last = Math.max(...settled.map((s) => s.at)) - restartedAt;
    console.log(`40 in-flight calls all resolved ${Math.round(last)} ms after the broker restarted`);
    assert.equal(settled.filter((s) => s.error !== undefined).length, 0, `failed: ${settled.find((s) => s.error)?.error?.message}`);
    assert.deepEqual(settled.map((s) => s.value).sort((a, b) => a! - b!), Array.from({ length: CALLS }, (_, n) => n));
    assert.ok(client.stats().resent >= 1);
    assert.ok(last < 5000, `the last call resolved ${Math.round(last)} ms after the restart`);
  });

  it("resendOnReconnect: false: every call in flight fails at once with RPC_UNAVAILABLE", { timeout: 30_000 }, async () => {
    const { client, settled, all } = await inFlight(false);
    const killedAt = performance.now();
    await broker!.kill();
    await all;
    const last = Math.max(...settled.map((s) => s.at)) - killedAt;
    assert.ok(settled.every((s) => s.error?.code === "RPC_UNAVAILABLE" || s.value !== undefined));
    assert.ok(settled.filter((s) => s.error !== undefined).length >= CALLS - 8);
    assert.equal(client.stats().failedOnLoss, settled.filter((s) => s.error !== undefined).length);
    assert.ok(last < 2000, `the last call failed ${Math.round(last)} ms after the kill`);
  });
});

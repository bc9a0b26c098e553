// Issue 14, item 9: an RPC client never confirms its replies, so without NO_MAILBOX_CONFIRMS the
// broker kept a confirmation route per reply (up to 10,000 per connection, ~1.9 MB). Measured
// in a broker child process: heap after GC with N idle RPC clients, then after each made 10,000 calls.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import Type from "typebox";
import { connect, type RpcClient } from "../../src/rpc/client/client.ts";
import { defineService } from "../../src/rpc/contract.ts";
import { type RpcWorker, serve } from "../../src/rpc/worker/worker.ts";
import { type HeapBroker, startHeapBroker } from "./fixtures/heap-broker-process.ts";

const echo = defineService("heapecho", {
  run: { input: Type.Object({ n: Type.Integer() }), output: Type.Object({ n: Type.Integer() }) },
});

const CLIENTS = 10;
const CALLS = 10_000;
const BOUND = 64 * 1024;

/** Makes the client's calls from `from` up to CALLS, 100 at a time. */
async function calls(c: RpcClient<{ echo: typeof echo }>, from: number): Promise<void> {
  for (let done = from; done < CALLS; done += 100) {
    await Promise.all(Array.from({ length: Math.min(100, CALLS - done) }, (_, i) => c.echo.run({ n: done + i })));
  }
}

describe("broker heap per idle RPC client", () => {
  let broker: HeapBroker;
  let worker: RpcWorker;
  const clients: Array<RpcClient<{ echo: typeof echo }>> = [];
  before(async () => {
    broker = await startHeapBroker();
    worker = await serve(broker.endpoint, echo, { run: ({ n }) => Promise.resolve({ n }) }, { concurrency: 64 });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await worker.close();
    await broker.stop();
  });

  it(`stays under 64 KiB after ${CALLS} calls each`, { timeout: 60_000 }, async () => {
    // A first client warms the broker up (compiled code, grown pools and queues count as heap
    // too, once), then leaves: what the others add after it is their own cost.
    const warm = await connect(broker.endpoint, { echo });
    await calls(warm, 0);
    await warm.close();
    for (let i = 0; i < CLIENTS; i++) clients.push(await connect(broker.endpoint, { echo }));
    // One call each first, so that what every client costs anyway (its service, its mailbox) is in the baseline.
    await Promise.all(clients.map((c) => c.echo.run({ n: 0 })));
    const idle = await broker.memory();
    await Promise.all(clients.map((c) => calls(c, 1)));
    const busy = await broker.memory();
    const perClient = (busy.heap - idle.heap) / CLIENTS;
    console.log(`broker heap per idle RPC client after ${CALLS} calls: ${(perClient / 1024).toFixed(1)} KiB`);
    assert.equal(busy.clients, idle.clients);
    assert.ok(perClient < BOUND, `broker heap grew ${(perClient / 1024).toFixed(1)} KiB per client`);
  });
});

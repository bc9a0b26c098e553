// Issue 14, item 8: a broker process stalled (SIGSTOP) past the clients' expiry, then resumed.
// The clients declare their sessions lost while their connections are still up; they re-open on
// fresh connections, so no stale answer on the old one (a PONG, or the ERROR 500 a second OPEN
// earns) can be taken for the new OPEN's, and the sessions are back as soon as the broker runs.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { MlmClient } from "../../src/client/client.ts";
import { type BrokerProcess, spawnBroker } from "../client/fixtures/broker-process.ts";
import { nextEvent } from "../client/fixtures/fake-broker.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("clients of a broker that stalls and resumes", () => {
  let broker: BrokerProcess | undefined;
  const clients: MlmClient[] = [];
  afterEach(async () => {
    try {
      broker?.resume();
    } catch {
      // Already gone.
    }
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await broker?.kill();
    broker = undefined;
  });

  it("sessions are back soon after SIGCONT, and they work", { timeout: 30_000 }, async () => {
    broker = await spawnBroker();
    // Expiry 1 s and a 2.5 s stall: the shape of the issue (4 s expiry, 5 s stall), shorter.
    for (let i = 0; i < 5; i++) {
      clients.push(await MlmClient.connect(broker.endpoint, { address: `stall-${i}`, heartbeat: 250, expiry: 1000 }));
    }
    const [worker, caller] = clients as [MlmClient, MlmClient];
    await worker.setWorker("stallsvc", ".*");
    const lost = Promise.all(clients.map((c) => nextEvent(c, "disconnected", 10_000)));
    broker.pause();
    await lost;
    await sleep(1500); // the sessions were lost a while ago: every client has tried to re-open by now
    const back = Promise.all(clients.map((c) => nextEvent(c, "connected", 10_000).then(() => performance.now())));
    const resumedAt = performance.now();
    broker.resume();
    const times = await back;
    const slowest = Math.max(...times) - resumedAt;
    console.log(`sessions back ${Math.round(slowest)} ms after the broker resumed (slowest of ${clients.length})`);
    assert.ok(slowest < 1500, `a session came back ${Math.round(slowest)} ms after the broker resumed`);
    // The replayed offer works: a request reaches the worker.
    caller.sendFor("stallsvc", "job", "x");
    const job = await worker.receive({ signal: AbortSignal.timeout(5000) });
    assert.equal(job.subject, "job");
  });
});

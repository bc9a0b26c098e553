// Two clients with one address: the newest OPEN wins and the displaced client stops (issue 20 #11).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startBroker } from "../../src/broker/server.ts";
import type { Broker } from "../../src/broker/server.ts";
import { MlmClient } from "../../src/client/client.ts";
import { MlmError } from "../../src/client/errors.ts";
import { inproc } from "../../src/transport/inproc.ts";
import { nextEvent, sleep } from "./fixtures/fake-broker.ts";

describe("MlmClient: a second client with the same address", () => {
  let broker: Broker;
  const transport = inproc;

  before(async () => {
    broker = await startBroker({ endpoints: ["inproc://address-taken"], transport });
  });
  after(() => broker.close());

  it("displaces the first, which gets MLM_ADDRESS_TAKEN, closes, and does not take the address back", async () => {
    const options = { transport, reconnect: { interval: 10, max: 20 } };
    const first = await MlmClient.connect("inproc://address-taken", { address: "alice", ...options });
    const failed = nextEvent(first, "error");
    const second = await MlmClient.connect("inproc://address-taken", { address: "alice", ...options });
    try {
      const [error] = await failed;
      assert.ok(error instanceof MlmError);
      assert.equal(error.code, "MLM_ADDRESS_TAKEN");
      assert.equal(error.status, 500);
      assert.equal(first.connected, false);
      await assert.rejects(first.receive(), (e: unknown) => e instanceof MlmError && e.code === "MLM_CLOSED");
      // Long enough for several re-opens at this backoff: none happens, the mail stays with the newest.
      await sleep(150);
      assert.equal(first.stats().reopens, 0);
      assert.equal(second.connected, true);
      assert.equal(second.stats().reopens, 0);
      const bob = await MlmClient.connect("inproc://address-taken", { address: "bob", ...options });
      for (let i = 0; i < 3; i++) bob.sendTo("alice", `m${i}`, "x");
      for (let i = 0; i < 3; i++) assert.equal((await second.receive()).subject, `m${i}`);
      await bob.close();
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });
});

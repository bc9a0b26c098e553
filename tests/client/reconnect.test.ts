// Reconnect after the broker PROCESS is killed (SIGKILL) and restarted on the same port:
// every client re-opens with its address and replays its registrations, which work again.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { MlmClient } from "../../src/client/client.ts";
import type { MlmClientOptions } from "../../src/client/types.ts";
import { spawnBroker } from "./fixtures/broker-process.ts";
import type { BrokerProcess } from "./fixtures/broker-process.ts";
import { nextEvent, str } from "./fixtures/fake-broker.ts";

describe("reconnect after the broker process is killed and restarted", () => {
  const clients: MlmClient[] = [];
  let broker: BrokerProcess | undefined;
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await broker?.kill();
  });

  it("re-opens every client and replays producer, consumer and worker registrations, which work again", async () => {
    broker = await spawnBroker();
    const endpoint = broker.endpoint;
    const options: MlmClientOptions = { reconnect: { interval: 50, max: 400 }, heartbeat: 200, credit: 10 };
    const connect = async (address: string) => {
      const c = await MlmClient.connect(endpoint, { ...options, address });
      clients.push(c);
      return c;
    };
    const [worker, reader, writer, caller] = await Promise.all(["worker", "reader", "writer", "caller"].map(connect)) as [MlmClient, MlmClient, MlmClient, MlmClient];
    await worker.setWorker("svc", ".*");
    await reader.setConsumer("news", ".*");
    await reader.setConsumer("gone", ".*");
    await reader.removeConsumer("gone");
    await writer.setProducer("news");

    const check = async (round: string) => {
      caller.sendFor("svc", `job-${round}`, "x", { tracker: `t-${round}` });
      const job = await worker.receive({ signal: AbortSignal.timeout(5000) });
      assert.equal(job.subject, `job-${round}`);
      worker.confirm(job);
      writer.send(`item-${round}`, round);
      const item = await reader.receive({ signal: AbortSignal.timeout(5000) });
      assert.equal(item.subject, `item-${round}`);
      assert.equal(str(item.content[0]), round);
    };
    await check("before");

    const lost = Promise.all(clients.map((c) => nextEvent(c, "disconnected", 10_000)));
    const back = Promise.all(clients.map((c) => nextEvent(c, "connected", 30_000)));
    await broker.kill();
    await lost;
    assert.ok(clients.every((c) => !c.connected));
    // Made while no broker exists: held by the client and written after the re-open.
    caller.sendTo("worker", "while-down", "kept");
    broker = await spawnBroker(endpoint);
    await back;
    assert.ok(clients.every((c) => c.connected));

    const mail = await worker.receive({ signal: AbortSignal.timeout(5000) });
    assert.equal(mail.kind, "mailbox");
    assert.equal(mail.subject, "while-down");
    await check("after");
    // The cancelled subscription was not replayed: a writer on "gone" reaches nobody.
    await writer.setProducer("gone");
    writer.send("ghost", "boo");
    await writer.setProducer("news");
    writer.send("item-last", "last");
    const next = await reader.receive({ signal: AbortSignal.timeout(5000) });
    assert.equal(next.subject, "item-last");
  });
});

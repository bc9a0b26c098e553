// Every client method against our broker over TCP (the default zmtp transport).
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startBroker } from "../../src/broker/server.ts";
import type { Broker } from "../../src/broker/server.ts";
import { MlmClient } from "../../src/client/client.ts";
import { MlmError } from "../../src/client/errors.ts";
import type { Confirmation, Delivery, MlmClientOptions } from "../../src/client/types.ts";
import { nextEvent, sleep, str } from "./fixtures/fake-broker.ts";

describe("MlmClient against the malamute broker over TCP", () => {
  let broker: Broker;
  let endpoint: string;
  const clients: MlmClient[] = [];
  let n = 0;

  const connect = async (options: MlmClientOptions = {}): Promise<MlmClient> => {
    const client = await MlmClient.connect(endpoint, { address: `tcp-client-${++n}`, ...options });
    clients.push(client);
    return client;
  };

  before(async () => {
    broker = await startBroker({ endpoints: ["tcp://127.0.0.1:0"] });
    endpoint = broker.endpoints[0]!;
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  after(() => broker.close());

  it("connect() opens a session (the broker lists the client) and close() ends it", async () => {
    const client = await connect({ address: "listed" });
    assert.equal(client.connected, true);
    assert.ok(broker.stats().clients >= 1);
    await client.close();
    assert.equal(client.connected, false);
    for (let i = 0; i < 50 && broker.stats().clients > 0; i++) await sleep(10);
    assert.equal(broker.stats().clients, 0);
  });

  it("sendTo delivers to a mailbox with sender, subject, tracker and frames; stored mail arrives on connect", async () => {
    const alice = await connect({ address: "alice" });
    const bob = await connect({ address: "bob" });
    alice.sendTo("bob", "hello", ["hi", new Uint8Array([0, 255])], { tracker: "t-1" });
    const d = await bob.receive();
    assert.equal(d.kind, "mailbox");
    assert.equal(d.sender, "alice");
    assert.equal(d.address, "bob");
    assert.equal(d.subject, "hello");
    assert.equal(d.tracker, "t-1");
    assert.equal(str(d.content[0]), "hi");
    assert.deepEqual([...d.content[1]!], [0, 255]);
    alice.sendTo("carol", "stored", "for later");
    await sleep(20);
    const carol = await connect({ address: "carol" });
    const stored = await carol.receive();
    assert.equal(stored.subject, "stored");
    assert.equal(stored.sender, "alice");
  });

  it("setProducer + send reach setConsumer readers whose pattern matches; removeConsumer stops them", async () => {
    const writer = await connect();
    const reader = await connect();
    await writer.setProducer("weather");
    await reader.setConsumer("weather", "^temp\\.");
    writer.send("wind.north", "5");
    writer.send("temp.moscow", "-5.5");
    const d = await reader.receive();
    assert.deepEqual({ ...d, content: d.content.map(str) }, {
      kind: "stream", sender: writer.address, address: "weather", subject: "temp.moscow", tracker: "", content: ["-5.5"],
    });
    await reader.removeConsumer("weather");
    writer.send("temp.paris", "12");
    await sleep(30);
    assert.equal(reader.stats().buffered, 0);
  });

  it("setWorker + sendFor reach the worker; its CONFIRM reaches the requester as a \"confirm\" event", async () => {
    const caller = await connect({ address: "caller" });
    const worker = await connect({ credit: 2, manualCredit: true });
    await worker.setWorker("echo", ".*");
    const confirmed = nextEvent(caller, "confirm");
    caller.sendFor("echo", "ping", "payload", { tracker: "call-1", timeout: 5000 });
    const job = await worker.receive();
    assert.equal(job.kind, "service");
    assert.equal(job.sender, "caller");
    assert.equal(job.address, "echo");
    assert.equal(job.tracker, "call-1");
    worker.sendTo(job.sender, job.subject, job.content, { tracker: job.tracker });
    worker.confirm(job);
    const [c] = await confirmed;
    assert.deepEqual(c, { tracker: "call-1", code: 200, reason: "" });
    const reply = await caller.receive();
    assert.equal(reply.tracker, "call-1");
    assert.equal(str(reply.content[0]), "payload");
  });

  it("manualCredit worker (the RPC pattern): one job at a time until addCredit(1)", async () => {
    const caller = await connect();
    const worker = await connect({ credit: 1, manualCredit: true });
    await worker.setWorker("slow", ".*");
    const jobs: Delivery[] = [];
    worker.onDelivery((d) => jobs.push(d));
    for (let i = 0; i < 3; i++) caller.sendFor("slow", `job${i}`, "x", { tracker: `j${i}` });
    await sleep(50);
    assert.deepEqual(jobs.map((j) => j.subject), ["job0"]);
    for (let i = 1; i < 3; i++) {
      worker.confirm(jobs[i - 1]!);
      worker.addCredit(1);
      for (let k = 0; k < 100 && jobs.length <= i; k++) await sleep(5);
      assert.deepEqual(jobs.map((j) => j.subject), ["job0", "job1", "job2"].slice(0, i + 1));
    }
  });

  it("a tracked message the broker cannot deliver in time comes back as a failure CONFIRM", async () => {
    const sender = await connect();
    const confirmations: Confirmation[] = [];
    sender.on("confirm", (c) => confirmations.push(c));
    sender.sendTo("nobody-home", "hello", "x", { tracker: "lost-1", timeout: 30 });
    for (let i = 0; i < 200 && confirmations.length === 0; i++) await sleep(10);
    assert.equal(confirmations.length, 1);
    assert.equal(confirmations[0]!.tracker, "lost-1");
    assert.ok(confirmations[0]!.code >= 300, `failure code, got ${confirmations[0]!.code}`);
  });

  it("for await and onDelivery both receive over TCP; close ends the loop", async () => {
    const a = await connect({ address: "iter-a" });
    const b = await connect({ address: "iter-b" });
    for (const s of ["1", "2", "3"]) a.sendTo("iter-b", s, s);
    const seen: string[] = [];
    for await (const d of b) {
      seen.push(d.subject);
      if (seen.length === 3) break;
    }
    assert.deepEqual(seen, ["1", "2", "3"]);
    const pushed: string[] = [];
    b.onDelivery((d) => pushed.push(d.subject));
    a.sendTo("iter-b", "4", "4");
    for (let i = 0; i < 100 && pushed.length === 0; i++) await sleep(5);
    assert.deepEqual(pushed, ["4"]);
  });

  it("connect() to a port where nothing listens rejects with MLM_UNREACHABLE at once, or MLM_TIMEOUT with waitForBroker", async () => {
    const probe = await startBroker({ endpoints: ["tcp://127.0.0.1:0"] });
    const dead = probe.endpoints[0]!;
    await probe.close();
    await assert.rejects(
      MlmClient.connect(dead, { timeout: 200 }),
      (e: unknown) => e instanceof MlmError && e.code === "MLM_UNREACHABLE",
    );
    await assert.rejects(
      MlmClient.connect(dead, { timeout: 200, waitForBroker: true }),
      (e: unknown) => e instanceof MlmError && e.code === "MLM_TIMEOUT",
    );
  });

  it("PINGs keep the session alive past the broker's client expiry", async () => {
    const shortLived = await startBroker({ endpoints: ["tcp://127.0.0.1:0"], timeout: 200 });
    try {
      const client = await MlmClient.connect(shortLived.endpoints[0]!, { address: "pinger", heartbeat: 50 });
      const disconnected: string[] = [];
      client.on("disconnected", (r) => disconnected.push(r));
      await sleep(500);
      assert.deepEqual(disconnected, []);
      assert.equal(shortLived.stats().clients, 1);
      await client.close();
    } finally {
      await shortLived.close();
    }
  });
});

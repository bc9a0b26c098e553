// HELLO (docs/mlm-extensions.md): the feature probe before every CONNECTION-OPEN, what the client
// does with the answer (CONFIRM, WITHDRAW), and re-opening on a fresh connection.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MlmClient } from "../../src/client/client.ts";
import type { MlmMessage } from "../../src/proto/mod.ts";
import { inproc } from "../../src/transport/inproc.ts";
import { connectFake, eachTestWithFakeBroker, FakeBroker, hex, isHello, nextEvent, sleep } from "./fixtures/fake-broker.ts";
import type { Received } from "./fixtures/fake-broker.ts";

const service = (tracker: string): MlmMessage =>
  ({ type: "SERVICE_DELIVER", sender: "caller", address: "svc", subject: "job", tracker, content: [] });

describe("HELLO", () => {
  let broker!: FakeBroker;
  eachTestWithFakeBroker((b) => (broker = b));

  it("is sent before OPEN without waiting for its answer; ours answers with its features", async () => {
    // Hold the HELLO's answer until the OPEN has arrived: a client waiting for it would hang.
    let hello: Received | undefined;
    broker.handle = (b, r) => {
      if (isHello(r)) {
        hello = r;
        return;
      }
      if (r.message.type === "CONNECTION_OPEN" && hello !== undefined) b.answer(hello);
      return "default";
    };
    const { client } = await connectFake(broker, { address: "probe" });
    const first = broker.received.slice(0, 2).map((r) => r.message);
    assert.deepEqual(first, [
      { type: "CONFIRM", tracker: "", code: 2, reason: "" }, // STORED_CONFIRMS by default
      { type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address: "probe" },
    ]);
    assert.deepEqual(client.brokerFeatures, { extended: true, version: "malamute-ext/1", features: ["confirm", "credit", "withdraw"] });
    await client.close();
  });

  it("noMailboxConfirms sets flag 1 in the HELLO's code; STORED_CONFIRMS (2) is set unless storedConfirms is false", async () => {
    await connectFake(broker, { address: "rpc", noMailboxConfirms: true });
    await connectFake(broker, { address: "lean", noMailboxConfirms: true, storedConfirms: false });
    await connectFake(broker, { address: "plain", storedConfirms: false });
    assert.deepEqual(broker.received.filter(isHello).map((r) => (r.message as { code: number }).code), [3, 1, 0]);
  });

  it("a C broker (ERROR 500 to HELLO): connected, classic features, and confirm() never sends CONFIRM (counted as skipped)", async () => {
    broker.mode = "c";
    const { client, mine, peer } = await connectFake(broker, { address: "worker", credit: false });
    assert.equal(broker.cErrors.before500, 1, "the HELLO got ERROR 500");
    assert.deepEqual(client.brokerFeatures, { extended: false, version: "", features: [] });
    await client.setWorker("svc", ".*");
    for (let i = 0; i < 5; i++) broker.reply(peer(), service(`t${i}`));
    for (let i = 0; i < 5; i++) client.confirm(await client.receive());
    client.confirm("t-x", { code: 300, reason: "bad" });
    await client.setWorker("svc2", ".*"); // a round trip: anything sent before it has arrived
    assert.equal(broker.received.filter((r) => mine(r) && r.message.type === "CONFIRM").length, 0);
    assert.equal(broker.cErrors.confirm300, 0);
    assert.equal(client.stats().skippedConfirms, 6);
    assert.equal(client.connected, true);
    assert.equal(client.stats().reopens, 0);
  });

  it("HELLO is repeated on every new connection, and the features follow the broker", async () => {
    broker.mode = "c";
    const { client, peer } = await connectFake(broker, { address: "follow", heartbeat: 10 });
    assert.equal(client.brokerFeatures.extended, false);
    broker.mode = "ours";
    const reopened = nextEvent(client, "connected");
    broker.sessions.delete(hex(peer())); // the broker forgets us: the next PING gets ERROR 500
    broker.handle = (b, r) => {
      if (r.message.type === "CONNECTION_PING" && !b.sessions.has(hex(r.peer))) {
        b.reply(r.peer, { type: "ERROR", code: 500, reason: "" });
        return;
      }
      return "default";
    };
    await reopened;
    assert.equal(client.brokerFeatures.extended, true);
    assert.equal(broker.received.filter(isHello).length, 2);
  });
});

describe("withdraw()", () => {
  let broker!: FakeBroker;
  eachTestWithFakeBroker((b) => (broker = b));

  it("sends CONFIRM tracker 305 to a broker with the withdraw feature", async () => {
    const { client, mine } = await connectFake(broker);
    client.sendFor("svc", "job", "x", { tracker: "call-1", timeout: 1000 });
    assert.equal(client.withdraw("call-1"), true);
    const r = await broker.waitFor((x) => mine(x) && x.message.type === "CONFIRM", "WITHDRAW");
    assert.deepEqual(r.message, { type: "CONFIRM", tracker: "call-1", code: 305, reason: "" });
  });

  it("sends nothing to a C broker and says so", async () => {
    broker.mode = "c";
    const { client, mine } = await connectFake(broker);
    client.sendFor("svc", "job", "x", { tracker: "call-1", timeout: 1000 });
    assert.equal(client.withdraw("call-1"), false);
    await client.setProducer("s");
    assert.equal(broker.received.filter((r) => mine(r) && r.message.type === "CONFIRM").length, 0);
    assert.equal(client.connected, true);
  });

  it("drops a request still held while the session is down; it is never written", async () => {
    let silent = false;
    broker.handle = (_b, r) => (silent ? undefined : "default");
    const { client, mine } = await connectFake(broker, { heartbeat: 10, expiry: 40 });
    silent = true;
    await nextEvent(client, "disconnected");
    client.sendFor("svc", "job", "x", { tracker: "held-1" });
    client.sendFor("svc", "job", "y", { tracker: "held-2" });
    assert.equal(client.stats().pendingSends, 2);
    assert.equal(client.withdraw("held-1"), true);
    assert.equal(client.stats().pendingSends, 1);
    silent = false;
    await nextEvent(client, "connected");
    await client.setProducer("s");
    const sent = broker.received.filter((r) => mine(r) && r.message.type === "SERVICE_SEND").map((r) => (r.message as { tracker: string }).tracker);
    assert.deepEqual(sent, ["held-2"]);
  });
});

describe("re-open on a fresh connection", () => {
  let broker!: FakeBroker;
  eachTestWithFakeBroker((b) => (broker = b));

  /** Makes the broker stop answering (it queues what arrives) until `resume()`, like a SIGSTOPped process. */
  function stall(b: FakeBroker): { resume: () => void } {
    const queued: Received[] = [];
    b.handle = (_b, r) => {
      queued.push(r);
    };
    return {
      resume: () => {
        b.handle = () => "default";
        for (const r of queued.splice(0)) b.answer(r);
      },
    };
  }

  it("after a C broker stalls past the expiry, the session comes back at once on a new connection, never by a second OPEN on the old one", async () => {
    broker.mode = "c";
    const { client, mine } = await connectFake(broker, { address: "stalled", heartbeat: 20, expiry: 80, timeout: 5000 });
    const lost = nextEvent(client, "disconnected");
    const { resume } = stall(broker);
    await lost;
    await sleep(100); // the old client re-sent OPEN on the old connection by now
    const back = nextEvent(client, "connected", 4000);
    const resumedAt = performance.now();
    resume();
    await back;
    const took = performance.now() - resumedAt;
    assert.equal(broker.cErrors.reopen500, 0, "a second OPEN was sent on a connection that had a session");
    const opens = broker.received.filter((r) => mine(r) && r.message.type === "CONNECTION_OPEN");
    assert.equal(new Set(opens.map((r) => hex(r.peer))).size, opens.length, "every OPEN on its own connection");
    assert.ok(took < 1500, `session back ${Math.round(took)} ms after the broker resumed`);
    assert.equal(client.connected, true);
  });

  it("ERROR 500 to a PING: the old connection is closed and the new session is on a new connection", async () => {
    const { client, peer } = await connectFake(broker, { address: "forgotten", heartbeat: 10 });
    const before = hex(peer());
    broker.handle = (b, r) => {
      if (r.message.type === "CONNECTION_PING" && hex(r.peer) === before) {
        b.reply(r.peer, { type: "ERROR", code: 500, reason: "" });
        return;
      }
      return "default";
    };
    await nextEvent(client, "connected");
    assert.notEqual(hex(peer()), before);
  });

  it("close() while a replaced connection is still closing leaves nothing open", async () => {
    const client = await MlmClient.connect(broker.endpoint, { transport: inproc, address: "c1", heartbeat: 5, expiry: 15 });
    broker.handle = () => undefined;
    await nextEvent(client, "disconnected");
    await client.close();
    assert.equal(client.connected, false);
  });
});

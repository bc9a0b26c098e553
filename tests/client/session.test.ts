// Heartbeats, expiry, re-open with replay, sends while disconnected, C-broker reactions.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MlmError } from "../../src/client/errors.ts";
import type { MlmMessage } from "../../src/proto/mod.ts";
import { connectFake, eachTestWithFakeBroker, FakeBroker, hex, nextEvent, sleep, str } from "./fixtures/fake-broker.ts";
import type { Received } from "./fixtures/fake-broker.ts";

/** A fake broker that, like C malamute, forgets a peer (ERROR 500 to anything but OPEN) when told to. */
function forgetful(broker: FakeBroker): { forget: (peer: Uint8Array) => void } {
  const forgotten = new Set<string>();
  broker.handle = (b, r) => {
    const key = hex(r.peer);
    if (r.message.type === "CONNECTION_OPEN") {
      forgotten.delete(key);
      return "default";
    }
    if (forgotten.has(key)) {
      b.reply(r.peer, { type: "ERROR", code: 500, reason: "" });
      return;
    }
    return "default";
  };
  return { forget: (peer) => forgotten.add(hex(peer)) };
}

const after = (broker: FakeBroker, index: number, test: (r: Received) => boolean): MlmMessage[] =>
  broker.received.slice(index).filter(test).map((r) => r.message);

describe("heartbeats and expiry", () => {
  let broker!: FakeBroker;
  eachTestWithFakeBroker((b) => (broker = b));

  it("sends CONNECTION-PING every heartbeat interval", async () => {
    const { client, mine } = await connectFake(broker, { credit: false, heartbeat: 10 });
    await broker.waitFor((r) => mine(r) && r.message.type === "CONNECTION_PING" && broker.received.filter((x) => mine(x) && x.message.type === "CONNECTION_PING").length >= 3, "3 PINGs");
    await client.close();
  });

  it("a broker silent past the expiry makes the client emit \"disconnected\" and re-open with the same address", async () => {
    let silent = false;
    broker.handle = (_b, r) => (silent && r.message.type !== "CONNECTION_OPEN" ? undefined : "default");
    const { client, mine } = await connectFake(broker, { address: "quiet", credit: false, heartbeat: 10, expiry: 60 });
    silent = true;
    const [reason] = await nextEvent(client, "disconnected");
    assert.match(reason, /silent/);
    assert.equal(client.connected, false);
    silent = false;
    await nextEvent(client, "connected");
    const opens = broker.received.filter((r) => mine(r) && r.message.type === "CONNECTION_OPEN").map((r) => r.message);
    assert.equal(opens.length, 2);
    assert.deepEqual(opens[1], { type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address: "quiet" });
    assert.equal(client.connected, true);
    assert.equal(client.stats().reopens, 1);
    await client.close();
  });
});

describe("re-open and replay", () => {
  let broker!: FakeBroker;
  eachTestWithFakeBroker((b) => (broker = b));

  it("ERROR 500 (\"I don't know you\") re-opens and replays producer, consumers and workers exactly once, without removed consumers", async () => {
    const { forget } = forgetful(broker);
    const { client, mine, peer } = await connectFake(broker, { address: "replayer", credit: false, heartbeat: 10 });
    await client.setProducer("out");
    await client.setConsumer("s1", "a.*");
    await client.setConsumer("s1", "a.*"); // same subscription twice: one entry in the replay set
    await client.setConsumer("s2", "b");
    await client.removeConsumer("s2");
    await client.setWorker("svc", ".*");
    for (let round = 1; round <= 2; round++) {
      const mark = broker.received.length;
      const disconnected = nextEvent(client, "disconnected");
      const connected = nextEvent(client, "connected");
      forget(peer()); // the next PING gets ERROR 500
      const [reason] = await disconnected;
      assert.match(reason, /500/);
      await connected;
      await sleep(30); // a few heartbeats: a broken replay would repeat itself here
      const replayed = after(broker, mark, (r) => mine(r) && r.message.type !== "CONNECTION_PING");
      assert.deepEqual(replayed, [
        { type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address: "replayer" },
        { type: "STREAM_WRITE", stream: "out" },
        { type: "STREAM_READ", stream: "s1", pattern: "a.*" },
        { type: "SERVICE_OFFER", address: "svc", pattern: ".*" },
      ], `round ${round}`);
    }
    await client.close();
  });

  it("a replayed registration the broker refuses is reported as an \"error\" event and not replayed again", async () => {
    const { forget } = forgetful(broker);
    const inner = broker.handle;
    let refuse = false;
    broker.handle = (b, r) => {
      if (refuse && r.message.type === "SERVICE_OFFER") {
        b.reply(r.peer, { type: "ERROR", code: 300, reason: "no more" });
        return;
      }
      return inner(b, r);
    };
    const { client, mine, peer } = await connectFake(broker, { credit: false, heartbeat: 10 });
    await client.setWorker("svc", ".*");
    await client.setConsumer("s", "x");
    refuse = true;
    const error = nextEvent(client, "error");
    const connected = nextEvent(client, "connected");
    forget(peer());
    const [e] = await error;
    assert.ok(e instanceof MlmError && e.status === 300);
    await connected;
    const mark = broker.received.length;
    const again = nextEvent(client, "connected");
    forget(peer());
    await again;
    const replayed = after(broker, mark, (r) => mine(r) && r.message.type !== "CONNECTION_PING").map((m) => m.type);
    assert.deepEqual(replayed, ["CONNECTION_OPEN", "STREAM_READ"]);
  });

  it("a command waiting for its answer when the session drops is re-sent after the replay, not lost", async () => {
    const { forget } = forgetful(broker);
    let hold = true;
    const held: Received[] = [];
    const inner = broker.handle;
    broker.handle = (b, r) => {
      if (hold && r.message.type === "SERVICE_OFFER") {
        held.push(r);
        return;
      }
      return inner(b, r);
    };
    const { client, mine, peer } = await connectFake(broker, { credit: false, heartbeat: 10 });
    await client.setProducer("p");
    const offer = client.setWorker("svc", "x");
    await broker.waitFor((r) => r.message.type === "SERVICE_OFFER", "OFFER");
    hold = false;
    forget(peer());
    await offer;
    const offers = broker.received.filter((r) => mine(r) && r.message.type === "SERVICE_OFFER");
    assert.equal(offers.length, 2, "first OFFER unanswered, then re-sent once after re-open");
    await client.close();
  });

  it("a transport reconnect re-opens; sends made while down are held and written after the replay, in order", async () => {
    const { client, mine, peer } = await connectFake(broker, { credit: false, reconnect: { interval: 20, max: 40 } });
    await client.setWorker("svc", ".*");
    const disconnected = nextEvent(client, "disconnected");
    broker.router.disconnectPeer(peer());
    await disconnected;
    assert.equal(client.connected, false);
    client.sendTo("bob", "m1", "one");
    client.sendFor("svc", "m2", "two");
    client.sendTo("bob", "m3", "three");
    assert.equal(client.stats().pendingSends, 3);
    await nextEvent(client, "connected");
    await broker.waitFor((r) => mine(r) && r.message.type === "MAILBOX_SEND" && r.message.subject === "m3", "m3");
    const second = broker.received.map((r, i) => ({ r, i })).filter(({ r }) => mine(r) && r.message.type === "CONNECTION_OPEN")[1]!.i;
    const types = after(broker, second, mine).map((m) => m.type === "MAILBOX_SEND" || m.type === "SERVICE_SEND" ? `${m.type}:${m.subject}` : m.type);
    assert.deepEqual(types, ["CONNECTION_OPEN", "SERVICE_OFFER", "MAILBOX_SEND:m1", "SERVICE_SEND:m2", "MAILBOX_SEND:m3"]);
    assert.equal(client.stats().pendingSends, 0);
    await client.close();
  });

  it("sends while down beyond sendBuffer throw MLM_NOT_CONNECTED", async () => {
    broker.handle = (_b, r) => (r.message.type === "CONNECTION_OPEN" && broker.ofType("CONNECTION_OPEN").length > 1 ? undefined : "default");
    const { client, peer } = await connectFake(broker, { credit: false, sendBuffer: 2, reconnect: { interval: 20, max: 40 } });
    const disconnected = nextEvent(client, "disconnected");
    broker.router.disconnectPeer(peer());
    await disconnected;
    client.sendTo("bob", "a", "1");
    client.sendTo("bob", "b", "2");
    assert.throws(() => client.sendTo("bob", "c", "3"), (e: unknown) => e instanceof MlmError && e.code === "MLM_NOT_CONNECTED");
    await client.close();
  });

  it("a held send whose timeout passes before the re-open is dropped, counted, and its tracker gets a failure CONFIRM event", async () => {
    const { client, mine, peer } = await connectFake(broker, { credit: false, reconnect: { interval: 30, max: 60 } });
    const disconnected = nextEvent(client, "disconnected");
    broker.router.disconnectPeer(peer());
    await disconnected;
    const confirmed = nextEvent(client, "confirm");
    client.sendTo("bob", "late", "x", { tracker: "t-1", timeout: 1 });
    client.sendTo("bob", "keep", "y", { tracker: "t-2", timeout: 60_000 });
    const [c] = await confirmed;
    assert.equal(c.tracker, "t-1");
    assert.equal(c.code, 301); // the broker's EXPIRED code for the same situation
    const kept = await broker.waitFor((r) => mine(r) && r.message.type === "MAILBOX_SEND", "kept send");
    assert.equal((kept.message as { subject: string }).subject, "keep");
    const timeout = (kept.message as { timeout: number }).timeout;
    assert.ok(timeout > 0 && timeout <= 60_000, `timeout passed on: ${timeout}`);
    assert.equal(client.stats().expiredSends, 1);
    await client.close();
  });

  it("reconnect: false closes the client when the session is lost; pending receive() rejects with MLM_CLOSED", async () => {
    const { client, peer } = await connectFake(broker, { credit: false, reconnect: false });
    const pending = client.receive();
    const disconnected = nextEvent(client, "disconnected");
    broker.router.disconnectPeer(peer());
    await disconnected;
    await assert.rejects(pending, (e: unknown) => e instanceof MlmError && e.code === "MLM_CLOSED");
    assert.throws(() => client.sendTo("a", "b", "c"), (e: unknown) => e instanceof MlmError && e.code === "MLM_CLOSED");
    await client.close();
  });
});

describe("C broker behaviour", () => {
  let broker!: FakeBroker;
  eachTestWithFakeBroker((b) => (broker = b));

  it("a broker that announced `confirm` but answers CONFIRM with ERROR 300: \"error\" event, session re-opened, and no more CONFIRMs sent", async () => {
    const { forget } = forgetful(broker);
    const inner = broker.handle;
    broker.handle = (b, r) => {
      if (r.message.type === "CONFIRM" && r.message.tracker !== "") {
        // C malamute: "message confirmations are not implemented" → ERROR 300, client dropped.
        b.reply(r.peer, { type: "ERROR", code: 300, reason: "" });
        forget(r.peer);
        return;
      }
      return inner(b, r);
    };
    const { client, mine, peer } = await connectFake(broker, { address: "worker", credit: false, heartbeat: 1000 });
    await client.setWorker("svc", ".*");
    broker.reply(peer(), { type: "SERVICE_DELIVER", sender: "caller", address: "svc", subject: "job", tracker: "trk-1", content: [] });
    const job = await client.receive();
    const error = nextEvent(client, "error");
    const reopened = nextEvent(client, "connected");
    client.confirm(job);
    const [e] = await error;
    assert.ok(e instanceof MlmError);
    assert.equal(e.code, "MLM_FAILED");
    assert.equal(e.status, 300);
    await reopened; // the probe PING got ERROR 500: re-opened and the worker offer replayed
    assert.equal(broker.received.filter((r) => mine(r) && r.message.type === "SERVICE_OFFER").length, 2);
    client.confirm(job);
    client.confirm("trk-2", { code: 300 });
    await sleep(10);
    assert.equal(broker.received.filter((r) => mine(r) && r.message.type === "CONFIRM").length, 1);
    assert.equal(client.stats().skippedConfirms, 2);
    await client.close();
  });

  it("a broker that ignores credit: every delivery still reaches the application", async () => {
    const { client, peer } = await connectFake(broker, { credit: 3 });
    for (let i = 0; i < 40; i++) {
      broker.reply(peer(), { type: "MAILBOX_DELIVER", sender: "x", address: "me", subject: `m${i}`, tracker: "", content: [] });
    }
    for (let i = 0; i < 40; i++) assert.equal((await client.receive()).subject, `m${i}`);
    assert.equal(client.stats().droppedDeliveries, 0);
    await client.close();
  });

  it("streams, mailbox and service deliveries keep working when the broker never sends OK after sends", async () => {
    const { client, peer } = await connectFake(broker, { credit: false });
    await client.setProducer("s");
    for (let i = 0; i < 5; i++) client.send("x", String(i));
    broker.reply(peer(), { type: "STREAM_DELIVER", address: "s", sender: "other", subject: "x", content: [new TextEncoder().encode("hi")] });
    const d = await client.receive();
    assert.equal(str(d.content[0]), "hi");
    await client.setConsumer("s", "y"); // an OK still resolves the right command
    await client.close();
  });
});

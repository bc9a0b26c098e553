// Durable sends (docs/mlm-extensions.md §3): sendTo/sendFor with `durable: true` wait for
// CONFIRM 202 "stored", fail on a failure CONFIRM, refuse at once where it cannot work, survive
// a re-open, are bounded, and a 202 never reaches `confirm` listeners.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MlmError } from "../../src/client/errors.ts";
import type { Confirmation } from "../../src/client/types.ts";
import { connectFake, eachTestWithFakeBroker, FakeBroker, nextEvent } from "./fixtures/fake-broker.ts";
import { speakExtensions } from "./fixtures/extensions-broker.ts";
import type { ExtensionsBroker } from "./fixtures/extensions-broker.ts";

function isMlmError(code: string, status?: number): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof MlmError, `expected an MlmError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (status !== undefined) assert.equal(error.status, status);
    return true;
  };
}

const tracked = (broker: FakeBroker) => broker.received.filter((r) => (r.message.type === "MAILBOX_SEND" || r.message.type === "SERVICE_SEND") && r.message.tracker !== "");

describe("durable sends", () => {
  let broker!: FakeBroker;
  let ext!: ExtensionsBroker;
  eachTestWithFakeBroker((b) => {
    broker = b;
    ext = speakExtensions(b);
  });

  it("sendTo and sendFor resolve on CONFIRM 202; the features stored and replay are learned", async () => {
    const { client } = await connectFake(broker, { address: "producer" });
    assert.deepEqual(client.brokerFeatures.features, ["confirm", "credit", "withdraw", "stored", "replay"]);
    const done: unknown[] = await Promise.all([
      client.sendTo("bob", "hello", "hi", { tracker: "m1", durable: true }),
      client.sendFor("svc", "job", "x", { tracker: "s1", timeout: 5000, durable: true }),
    ]);
    assert.deepEqual(done, [undefined, undefined]);
    assert.equal(client.stats().pendingDurable, 0);
  });

  it("a failure CONFIRM rejects with MLM_NOT_STORED and its status; it is not also a confirm event", async () => {
    const { client } = await connectFake(broker);
    const seen: Confirmation[] = [];
    client.on("confirm", (c) => seen.push(c));
    ext.stored = 306;
    await assert.rejects(client.sendTo("bob", "hello", "hi", { tracker: "m1", durable: true }), isMlmError("MLM_NOT_STORED", 306));
    await assert.rejects(client.sendFor("svc", "job", "x", { tracker: "s1", durable: true }), isMlmError("MLM_NOT_STORED", 306));
    assert.deepEqual(seen, []);
  });

  it("a 202 never reaches confirm listeners (with or without a waiter); the recipient's CONFIRM after it does", async () => {
    const { client, peer } = await connectFake(broker);
    const seen: Confirmation[] = [];
    client.on("confirm", (c) => seen.push(c));
    await client.sendTo("bob", "hello", "hi", { tracker: "m1", durable: true });
    client.sendTo("bob", "plain", "hi", { tracker: "m2" }); // not durable: its 202 has no waiter
    broker.reply(peer(), { type: "CONFIRM", tracker: "nobody", code: 202, reason: "stored" }); // no waiter: dropped
    broker.reply(peer(), { type: "CONFIRM", tracker: "m1", code: 200, reason: "" });
    broker.reply(peer(), { type: "CONFIRM", tracker: "m2", code: 200, reason: "" });
    await client.setProducer("x"); // a round trip: both CONFIRMs were handled before its OK
    assert.deepEqual(seen.map((c) => [c.tracker, c.code]), [["m1", 200], ["m2", 200]]);
  });

  it("refused at once, nothing sent: C broker, a broker without `stored`, storedConfirms false, empty or duplicate tracker", async () => {
    broker.mode = "c";
    const c = (await connectFake(broker, { address: "on-c", credit: false })).client;
    await assert.rejects(c.sendTo("bob", "s", "x", { tracker: "t", durable: true }), isMlmError("MLM_UNSUPPORTED"));
    broker.mode = "ours";
    broker.features = "confirm credit withdraw";
    const old = (await connectFake(broker, { address: "on-old" })).client;
    await assert.rejects(old.sendFor("svc", "s", "x", { tracker: "t", durable: true }), isMlmError("MLM_UNSUPPORTED"));
    ext = speakExtensions(broker);
    const lean = (await connectFake(broker, { address: "lean", storedConfirms: false })).client;
    await assert.rejects(lean.sendTo("bob", "s", "x", { tracker: "t", durable: true }), isMlmError("MLM_UNSUPPORTED"));
    const client = (await connectFake(broker, { address: "ok" })).client;
    await assert.rejects(client.sendTo("bob", "s", "x", { tracker: "", durable: true }), isMlmError("MLM_BAD_ARGUMENT"));
    ext.stored = "none";
    const first = client.sendTo("bob", "s", "x", { tracker: "dup", durable: true });
    await assert.rejects(client.sendTo("bob", "s", "x", { tracker: "dup", durable: true }), isMlmError("MLM_BAD_ARGUMENT"));
    await c.setProducer("x"); // a round trip for each connection: what they sent has arrived
    await old.setProducer("x");
    await lean.setProducer("x");
    await client.setProducer("x");
    assert.deepEqual(tracked(broker).map((r) => (r.message as { tracker: string }).tracker), ["dup"]);
    await client.close();
    await assert.rejects(first, isMlmError("MLM_CLOSED"));
  });

  it("closing the client rejects every waiting durable send with MLM_CLOSED", async () => {
    ext.stored = "none";
    const { client } = await connectFake(broker);
    const sends = [1, 2, 3].map((i) => client.sendTo("bob", "s", "x", { tracker: `t${i}`, durable: true }));
    await broker.waitForNth("MAILBOX_SEND", 3);
    assert.equal(client.stats().pendingDurable, 3);
    await client.close();
    for (const send of sends) await assert.rejects(send, isMlmError("MLM_CLOSED"));
  });

  it("maxDurableSends: at the limit MLM_LIMIT (counted), room again once an answer came", async () => {
    ext.stored = "none";
    const { client, peer } = await connectFake(broker, { maxDurableSends: 2 });
    const a = client.sendTo("bob", "s", "x", { tracker: "a", durable: true });
    const b = client.sendTo("bob", "s", "x", { tracker: "b", durable: true });
    await assert.rejects(client.sendTo("bob", "s", "x", { tracker: "c", durable: true }), isMlmError("MLM_LIMIT"));
    assert.equal(client.stats().limitRefusals, 1);
    await broker.waitForNth("MAILBOX_SEND", 2);
    broker.reply(peer(), { type: "CONFIRM", tracker: "a", code: 202, reason: "stored" });
    await a;
    ext.stored = "202";
    await client.sendTo("bob", "s", "x", { tracker: "c", durable: true });
    broker.reply(peer(), { type: "CONFIRM", tracker: "b", code: 202, reason: "stored" });
    await b;
  });

  it("a send written but unanswered when the session is lost is sent again after the re-open and resolves there", async () => {
    ext.stored = "none";
    const { client, peer } = await connectFake(broker, { heartbeat: 10 });
    const send = client.sendFor("svc", "job", "x", { tracker: "j1", timeout: 60_000, durable: true });
    const first = await broker.waitForNth("SERVICE_SEND", 1);
    const reopened = nextEvent(client, "connected");
    ext.stored = "202";
    ext.forget(peer());
    await reopened;
    await send;
    const sends = broker.ofType("SERVICE_SEND");
    assert.equal(sends.length, 2);
    assert.equal(sends[1]!.tracker, "j1");
    assert.notEqual(hexOf(first.peer), hexOf(peer()), "sent again on the new connection");
  });

  it("a durable send made while the session is down is held, then sent and resolved after the re-open", async () => {
    const { client, peer } = await connectFake(broker, { heartbeat: 10 });
    const lost = nextEvent(client, "disconnected");
    const reopened = nextEvent(client, "connected");
    // Hold back the re-open: OPENs from the new connection get no answer until released.
    let release: (() => void) | undefined;
    const handle = broker.handle;
    broker.handle = (b, r) => {
      if (r.message.type === "CONNECTION_OPEN" && release === undefined && b.received.filter((x) => x.message.type === "CONNECTION_OPEN").length > 1) {
        release = () => b.answer(r);
        return;
      }
      return handle(b, r);
    };
    ext.forget(peer());
    await lost;
    const send = client.sendTo("bob", "later", "x", { tracker: "h1", durable: true });
    assert.equal(client.stats().pendingSends, 1);
    let settled = false;
    void send.then(() => (settled = true));
    while (release === undefined) await new Promise((r) => setTimeout(r, 5));
    ext.stored = "none";
    release();
    await reopened;
    const written = await broker.waitForNth("MAILBOX_SEND", 1);
    assert.equal(settled, false, "sent, not stored yet");
    broker.reply(written.peer, { type: "CONFIRM", tracker: "h1", code: 202, reason: "stored" });
    await send;
    assert.deepEqual(broker.ofType("MAILBOX_SEND").map((m) => m.tracker), ["h1"]);
  });
});

const hexOf = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

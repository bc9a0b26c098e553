// Journal consumers (docs/mlm-extensions.md §4) against a scripted broker: READ through
// malamute.stream and its answer, the sequence frame, batched ACKs of durable consumers, and
// the READ that resumes a consumer after a re-open.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ACK_BATCH } from "../../src/client/streams/consumers.ts";
import { MlmError } from "../../src/client/errors.ts";
import type { Delivery } from "../../src/client/types.ts";
import { connectFake, eachTestWithFakeBroker, FakeBroker, nextEvent, sleep, str } from "./fixtures/fake-broker.ts";
import { speakExtensions } from "./fixtures/extensions-broker.ts";
import type { ExtensionsBroker } from "./fixtures/extensions-broker.ts";

function isMlmError(code: string, brokerCode?: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof MlmError, `expected an MlmError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (brokerCode !== undefined) assert.equal(error.brokerCode, brokerCode);
    return true;
  };
}

async function until(test: () => boolean, label: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${label}`);
    await sleep(5);
  }
}

async function receiveN(client: { receive(o?: { signal?: AbortSignal }): Promise<Delivery> }, n: number): Promise<Delivery[]> {
  const out: Delivery[] = [];
  for (let i = 0; i < n; i++) out.push(await client.receive({ signal: AbortSignal.timeout(3000) }));
  return out;
}

describe("journal consumers", () => {
  let broker!: FakeBroker;
  let ext!: ExtensionsBroker;
  eachTestWithFakeBroker((b) => {
    broker = b;
    ext = speakExtensions(b);
  });

  it("setConsumer with options sends READ to malamute.stream and resolves with { next, head }; without options it is a plain STREAM-READ", async () => {
    const { client } = await connectFake(broker, { address: "dash" });
    ext.heads.set("jobs", 42);
    assert.deepEqual(await client.setConsumer("jobs", "^job\\.", { from: "first", durable: "dashboard" }), { next: 1, head: 42 });
    assert.deepEqual(await client.setConsumer("logs", ".*", { from: { last: 10 } }), { next: 1, head: 0 });
    assert.equal(await client.setConsumer("plain", ".*"), undefined);
    const reads = ext.of("READ").map((c) => c.body);
    assert.deepEqual(reads, [
      { stream: "jobs", pattern: "^job\\.", from: "first", consumer: "dashboard" },
      { stream: "logs", pattern: ".*", from: { last: 10 } },
    ]);
    assert.equal(broker.ofType("STREAM_READ").length, 1);
    assert.equal(client.stats().consumers, 2);
    assert.equal(client.stats().buffered, 0, "the answers are not deliveries");
  });

  it("every from form goes on the wire as the spec says; bad ones are refused before anything is sent", async () => {
    const { client } = await connectFake(broker);
    const at = new Date("2026-01-02T03:04:05.678Z");
    await client.setConsumer("a", ".*", { from: { seq: 7 } });
    await client.setConsumer("b", ".*", { from: { time: at } });
    await client.setConsumer("c", ".*", { from: { time: 1234 } });
    await client.setConsumer("d", ".*", {});
    assert.deepEqual(ext.of("READ").map((c) => c.body.from), [{ seq: 7 }, { time: at.getTime() }, { time: 1234 }, "new"]);
    for (const from of [{ seq: 0 }, { last: -1 }, { time: Number.NaN }, "oldest", { seq: 1, last: 2 }]) {
      await assert.rejects(client.setConsumer("e", ".*", { from: from as never }), isMlmError("MLM_BAD_ARGUMENT"));
    }
    await assert.rejects(client.setConsumer("e", ".*", { durable: "" }), isMlmError("MLM_BAD_ARGUMENT"));
    assert.equal(ext.of("READ").length, 4);
  });

  it("refusals: {ok:false} → MLM_CONSUMER_REFUSED with brokerCode; no `replay` → MLM_UNSUPPORTED; plain and consumer on one stream → MLM_BAD_ARGUMENT", async () => {
    const { client } = await connectFake(broker);
    ext.refuseRead = { code: "NO_JOURNAL", error: "no journal for stream x" };
    await assert.rejects(client.setConsumer("x", ".*", { from: "first" }), isMlmError("MLM_CONSUMER_REFUSED", "NO_JOURNAL"));
    assert.equal(client.stats().consumers, 0);
    ext.refuseRead = undefined;
    await client.setConsumer("plain", ".*");
    await assert.rejects(client.setConsumer("plain", ".*", { from: "first" }), isMlmError("MLM_BAD_ARGUMENT"));
    await client.setConsumer("y", ".*", { from: "first" });
    await assert.rejects(client.setConsumer("y", ".*"), isMlmError("MLM_BAD_ARGUMENT"));
    broker.features = "confirm credit withdraw";
    const old = (await connectFake(broker)).client;
    await assert.rejects(old.setConsumer("y", ".*", { from: "first" }), isMlmError("MLM_UNSUPPORTED"));
  });

  it("maxConsumers: at the limit MLM_LIMIT (counted); replacing a stream's consumer is not a new one", async () => {
    const { client } = await connectFake(broker, { maxConsumers: 2 });
    await client.setConsumer("a", ".*", {});
    await client.setConsumer("b", ".*", {});
    await assert.rejects(client.setConsumer("c", ".*", {}), isMlmError("MLM_LIMIT"));
    assert.equal(client.stats().limitRefusals, 1);
    await client.setConsumer("a", ".*", { from: "first" });
    await client.cancelConsumer("b");
    await client.setConsumer("c", ".*", {});
    assert.equal(client.stats().consumers, 2);
    // A consumer whose CANCEL is still in flight is not held: the limit counts what is.
    const handle = broker.handle;
    broker.handle = (bk, r) => (r.message.type === "SERVICE_SEND" && r.message.subject === "CANCEL" ? undefined : handle(bk, r));
    void client.cancelConsumer("a").catch(() => {});
    await client.setConsumer("d", ".*", {});
    await assert.rejects(client.setConsumer("a", ".*", {}), isMlmError("MLM_LIMIT"));
    assert.equal(client.stats().consumers, 2);
  });

  it("deliveries lose the sequence frame and carry `seq`; plain stream deliveries carry none; a frame that is not 8 bytes is dropped as malformed", async () => {
    const { client, peer } = await connectFake(broker);
    await client.setConsumer("jobs", ".*", { from: "first" });
    await client.setConsumer("plain", ".*");
    ext.deliver(peer(), "jobs", 1, "job.one", ["a", "b"]);
    broker.reply(peer(), { type: "STREAM_DELIVER", address: "plain", sender: "w", subject: "p", content: [new Uint8Array(8)] });
    broker.reply(peer(), { type: "STREAM_DELIVER", address: "jobs", sender: "w", subject: "bad", content: [new Uint8Array(3)] });
    ext.deliver(peer(), "jobs", 2, "job.two");
    const errors: Error[] = [];
    client.on("error", (e) => errors.push(e));
    const [one, plain, two] = await receiveN(client, 3);
    assert.deepEqual([one!.seq, one!.subject, one!.content.map(str)], [1, "job.one", ["a", "b"]]);
    assert.equal(plain!.seq, undefined);
    assert.equal(plain!.content[0]!.byteLength, 8, "plain deliveries keep all their frames");
    assert.deepEqual([two!.seq, two!.subject], [2, "job.two"]);
    assert.equal(client.stats().malformed, 1);
    assert.equal((errors[0] as MlmError).code, "MLM_MALFORMED");
  });

  it("durable auto-ack: batched, one ACK per 100 ms at most unless 256 entries are handed over, each for the highest seq; nothing acked before the application takes it", async () => {
    const { client, peer } = await connectFake(broker, { credit: 2000 });
    await client.setConsumer("jobs", ".*", { from: "first", durable: "idx" });
    for (let seq = 1; seq <= ACK_BATCH + 10; seq++) ext.deliver(peer(), "jobs", seq, "s");
    await until(() => client.stats().buffered === ACK_BATCH + 10, "the deliveries");
    await sleep(150);
    assert.equal(ext.of("ACK").length, 0, "buffered deliveries are not acknowledged");
    await receiveN(client, ACK_BATCH);
    await until(() => ext.of("ACK").length === 1, "the batch ACK");
    assert.deepEqual(ext.of("ACK")[0]!.body, { stream: "jobs", consumer: "idx", seq: ACK_BATCH });
    await receiveN(client, 10);
    assert.equal(ext.of("ACK").length, 1, "the rest waits for the timer");
    await until(() => ext.of("ACK").length === 2, "the timed ACK", 1000);
    assert.deepEqual(ext.of("ACK")[1]!.body, { stream: "jobs", consumer: "idx", seq: ACK_BATCH + 10 });
    assert.equal(ext.of("ACK")[1]!.tracker, "", "ACKs have no answer: untracked");
  });

  it("autoAck false: only client.ack() acknowledges; close() flushes what is due; non-durable deliveries are never acked", async () => {
    const { client, peer } = await connectFake(broker);
    await client.setConsumer("jobs", ".*", { durable: "manual", autoAck: false });
    await client.setConsumer("live", ".*", { from: "new" });
    for (let seq = 1; seq <= 3; seq++) ext.deliver(peer(), "jobs", seq, "s");
    ext.deliver(peer(), "live", 9, "s");
    const got = await receiveN(client, 4);
    await sleep(150);
    assert.equal(ext.of("ACK").length, 0);
    assert.equal(client.ack(got[3]!), false, "not from a durable consumer");
    assert.equal(client.ack(got[1]!), true);
    await client.close();
    assert.deepEqual(ext.of("ACK").map((c) => c.body), [{ stream: "jobs", consumer: "manual", seq: 2 }]);
  });

  it("onDelivery handlers count as handing over for auto-ack", async () => {
    const { client, peer } = await connectFake(broker);
    await client.setConsumer("jobs", ".*", { durable: "h" });
    const seen: number[] = [];
    client.onDelivery((d) => seen.push(d.seq!));
    ext.deliver(peer(), "jobs", 5, "s");
    await until(() => ext.of("ACK").length === 1, "the ACK");
    assert.deepEqual(seen, [5]);
    assert.equal(ext.of("ACK")[0]!.body.seq, 5);
  });

  it("after a re-open: a plain consumer re-READs from lastSeen + 1 and a duplicate is dropped; a durable one sends its name, then its held ACK", async () => {
    const { client, peer } = await connectFake(broker, { heartbeat: 10 });
    ext.heads.set("live", 4);
    assert.deepEqual(await client.setConsumer("live", "^a", { from: "new" }), { next: 5, head: 4 });
    await client.setConsumer("jobs", ".*", { from: "first", durable: "idx" });
    ext.deliver(peer(), "live", 5, "a1");
    ext.deliver(peer(), "live", 6, "a2");
    ext.deliver(peer(), "jobs", 1, "j1");
    await receiveN(client, 3); // jobs #1 handed over: its ACK waits for the 100 ms timer
    const reopened = nextEvent(client, "connected");
    ext.forget(peer());
    await reopened;
    const reads = ext.of("READ").slice(2);
    assert.deepEqual(reads.map((c) => c.body), [
      { stream: "live", pattern: "^a", from: { seq: 7 } },
      { stream: "jobs", pattern: ".*", from: { seq: 1 }, consumer: "idx" },
    ]);
    await until(() => ext.of("ACK").length === 1, "the held ACK");
    const ack = ext.of("ACK")[0]!;
    assert.deepEqual(ack.body, { stream: "jobs", consumer: "idx", seq: 1 });
    assert.equal(Buffer.from(ack.peer).equals(Buffer.from(peer())), true, "sent on the new connection, after its READ");
    assert.ok(broker.received.findIndex((r) => r.message.type === "SERVICE_SEND" && r.message.subject === "ACK") >
      broker.received.findIndex((r) => r.message.type === "SERVICE_SEND" && r.message.subject === "READ" && r.peer === reads[1]!.peer));
    // At least once from the broker, exactly once to the application.
    ext.deliver(peer(), "jobs", 1, "j1-again");
    ext.deliver(peer(), "live", 7, "a3");
    ext.deliver(peer(), "jobs", 2, "j2");
    const after = await receiveN(client, 2);
    assert.deepEqual(after.map((d) => [d.address, d.seq]), [["live", 7], ["jobs", 2]]);
    assert.equal(client.stats().duplicateDeliveries, 1);
  });

  it("a consumer that saw nothing re-READs from the `next` of its answer (no gap after `new`)", async () => {
    const { client, peer } = await connectFake(broker, { heartbeat: 10 });
    ext.heads.set("live", 10);
    await client.setConsumer("live", ".*", {});
    const reopened = nextEvent(client, "connected");
    ext.heads.set("live", 20);
    ext.forget(peer());
    await reopened;
    assert.deepEqual(ext.of("READ")[1]!.body.from, { seq: 11 });
  });

  it("cancelConsumer sends CANCEL and ends the consumer; removeConsumer ends it too; later deliveries of the stream are plain", async () => {
    const { client, peer } = await connectFake(broker);
    await client.setConsumer("a", ".*", { durable: "n" });
    ext.deliver(peer(), "a", 1, "s");
    await receiveN(client, 1);
    await client.cancelConsumer("a");
    assert.deepEqual(ext.of("ACK").map((c) => c.body.seq), [1], "acks flushed before CANCEL");
    assert.deepEqual(ext.of("CANCEL").map((c) => c.body), [{ stream: "a" }]);
    assert.equal(client.stats().consumers, 0);
    await client.setConsumer("b", ".*", {});
    await client.removeConsumer("b");
    assert.equal(client.stats().consumers, 0);
    broker.reply(peer(), { type: "STREAM_DELIVER", address: "b", sender: "w", subject: "p", content: [new Uint8Array([1])] });
    const [plain] = await receiveN(client, 1);
    assert.equal(plain!.seq, undefined);
    assert.equal(plain!.content[0]![0], 1);
  });

  it("READ/CANCEL answers cost no credit (the broker sends them outside credit): the balance announced after a re-open is whole", async () => {
    const { client, peer } = await connectFake(broker, { heartbeat: 10, credit: 4, manualCredit: true });
    await client.setConsumer("a", ".*", { from: "first" });
    await client.cancelConsumer("a");
    const reopened = nextEvent(client, "connected");
    ext.forget(peer());
    await reopened;
    const credits = broker.ofType("CREDIT").map((m) => m.amount);
    assert.deepEqual(credits, [4, 4]);
  });

  it("close() rejects a setConsumer still waiting for its answer", async () => {
    const { client } = await connectFake(broker);
    const handle = broker.handle;
    broker.handle = (b, r) => (r.message.type === "SERVICE_SEND" ? undefined : handle(b, r));
    const pending = client.setConsumer("a", ".*", { from: "first" });
    await broker.waitFor((r) => r.message.type === "SERVICE_SEND", "READ");
    await client.close();
    await assert.rejects(pending, isMlmError("MLM_CLOSED"));
  });
});

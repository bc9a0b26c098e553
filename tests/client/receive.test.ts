// Deliveries, CONFIRM events, push mode, buffer bounds, credit and close, against a scripted broker.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MlmError } from "../../src/client/errors.ts";
import type { Delivery } from "../../src/client/types.ts";
import type { MlmMessage } from "../../src/proto/mod.ts";
import { connectFake, eachTestWithFakeBroker, FakeBroker, nextEvent, sleep, str, text } from "./fixtures/fake-broker.ts";

const mailbox = (subject: string, tracker = ""): MlmMessage => ({
  type: "MAILBOX_DELIVER", sender: "alice", address: "me", subject, tracker, content: [text(subject)],
});

describe("receiving", () => {
  let broker!: FakeBroker;
  eachTestWithFakeBroker((b) => (broker = b));

  it("deliveries are typed {kind, sender, address, subject, tracker, content}, content frames not copied", async () => {
    const { client, peer } = await connectFake(broker, { credit: false });
    const frames = [text("a"), new Uint8Array([0, 1, 2]), new Uint8Array(0)];
    broker.reply(peer(), { type: "STREAM_DELIVER", address: "weather", sender: "w", subject: "temp", content: frames });
    broker.reply(peer(), { type: "MAILBOX_DELIVER", sender: "bob", address: "me", subject: "hi", tracker: "t1", content: [frames[0]!] });
    broker.reply(peer(), { type: "SERVICE_DELIVER", sender: "carol", address: "echo", subject: "ping", tracker: "t2", content: [] });
    const s = await client.receive();
    const m = await client.receive();
    const v = await client.receive();
    assert.deepEqual({ ...s, content: undefined }, { kind: "stream", sender: "w", address: "weather", subject: "temp", tracker: "", content: undefined });
    assert.deepEqual({ ...m, content: undefined }, { kind: "mailbox", sender: "bob", address: "me", subject: "hi", tracker: "t1", content: undefined });
    assert.deepEqual(v, { kind: "service", sender: "carol", address: "echo", subject: "ping", tracker: "t2", content: [] });
    // inproc hands frames over by reference, so identity proves the client did not copy them.
    assert.equal(s.content.length, 3);
    for (let i = 0; i < 3; i++) assert.equal(s.content[i], frames[i]);
    assert.equal(m.content[0], frames[0]);
    await client.close();
  });

  it("string content is sent as UTF-8 frames and Uint8Array content as the very same arrays", async () => {
    const { client, mine } = await connectFake(broker, { credit: false });
    const bytes = new Uint8Array([9, 8, 7]);
    client.sendTo("bob", "s", ["héllo", bytes]);
    client.sendFor("svc", "s", bytes);
    const mail = await broker.waitFor((r) => mine(r) && r.message.type === "MAILBOX_SEND", "MAILBOX_SEND");
    const svc = await broker.waitFor((r) => mine(r) && r.message.type === "SERVICE_SEND", "SERVICE_SEND");
    assert.equal(str(mail.frames[1]), "héllo");
    assert.equal(mail.frames[2], bytes);
    assert.equal(svc.frames[1], bytes);
    await client.close();
  });

  it("a CONFIRM from the broker arrives as a \"confirm\" event", async () => {
    const { client, peer } = await connectFake(broker, { credit: false });
    const confirmed = nextEvent(client, "confirm");
    broker.reply(peer(), { type: "CONFIRM", tracker: "call-7", code: 300, reason: "Timeout expired" });
    const [c] = await confirmed;
    assert.deepEqual(c, { tracker: "call-7", code: 300, reason: "Timeout expired" });
    await client.close();
  });

  it("confirm(delivery, status) sends CONFIRM with the delivery's tracker (default 200); untracked deliveries need none", async () => {
    const { client, mine, peer } = await connectFake(broker, { credit: false });
    broker.reply(peer(), mailbox("a", "trk-a"));
    broker.reply(peer(), mailbox("b"));
    client.confirm(await client.receive());
    client.confirm(await client.receive()); // tracker "": nothing to confirm
    client.confirm("trk-x", { code: 300, reason: "bad" });
    await broker.waitFor((r) => mine(r) && r.message.type === "CONFIRM" && r.message.tracker === "trk-x", "CONFIRM trk-x");
    assert.deepEqual(broker.received.filter((r) => mine(r) && r.message.type === "CONFIRM").map((r) => r.message), [
      { type: "CONFIRM", tracker: "trk-a", code: 200, reason: "" },
      { type: "CONFIRM", tracker: "trk-x", code: 300, reason: "bad" },
    ]);
    await client.close();
  });

  it("for await iterates deliveries in order and ends when the client closes", async () => {
    const { client, peer } = await connectFake(broker, { credit: false });
    for (const s of ["a", "b", "c"]) broker.reply(peer(), mailbox(s));
    const seen: string[] = [];
    for await (const d of client) {
      seen.push(d.subject);
      if (seen.length === 3) void client.close();
    }
    assert.deepEqual(seen, ["a", "b", "c"]);
  });

  it("onDelivery handlers get buffered deliveries first, then new ones, in order; unsubscribing returns to receive()", async () => {
    const { client, peer } = await connectFake(broker, { credit: false });
    broker.reply(peer(), mailbox("1"));
    broker.reply(peer(), mailbox("2"));
    await sleep(5);
    const seen: string[] = [];
    const stop = client.onDelivery((d) => seen.push(d.subject));
    broker.reply(peer(), mailbox("3"));
    await sleep(5);
    assert.deepEqual(seen, ["1", "2", "3"]);
    stop();
    broker.reply(peer(), mailbox("4"));
    assert.equal((await client.receive()).subject, "4");
    assert.deepEqual(seen, ["1", "2", "3"]);
    await client.close();
  });

  it("a throwing handler is reported as an \"error\" event and does not stop later deliveries", async () => {
    const { client, peer } = await connectFake(broker, { credit: false });
    const seen: string[] = [];
    client.onDelivery((d) => {
      seen.push(d.subject);
      if (d.subject === "boom") throw new Error("handler failed");
    });
    const error = nextEvent(client, "error");
    broker.reply(peer(), mailbox("boom"));
    broker.reply(peer(), mailbox("after"));
    const [e] = await error;
    assert.match(e.message, /handler failed/);
    await sleep(5);
    assert.deepEqual(seen, ["boom", "after"]);
    await client.close();
  });

  it("receive({ signal }) rejects with the signal's reason when aborted", async () => {
    const { client } = await connectFake(broker, { credit: false });
    const ac = new AbortController();
    const pending = client.receive({ signal: ac.signal });
    ac.abort(new Error("stop waiting"));
    await assert.rejects(pending, /stop waiting/);
    await assert.rejects(client.receive({ signal: ac.signal }), /stop waiting/);
    await client.close();
  });

  it("a full receive buffer drops new deliveries, counts them and emits MLM_BUFFER_FULL; buffered ones stay", async () => {
    const { client, peer } = await connectFake(broker, { credit: false, receiveBuffer: 2 });
    const errors: Error[] = [];
    client.on("error", (e) => errors.push(e));
    for (const s of ["a", "b", "c", "d", "e"]) broker.reply(peer(), mailbox(s));
    await sleep(10);
    assert.equal(client.stats().droppedDeliveries, 3);
    assert.equal(client.stats().buffered, 2);
    assert.equal(errors.length, 3);
    assert.ok(errors.every((e) => e instanceof MlmError && e.code === "MLM_BUFFER_FULL"));
    assert.equal((await client.receive()).subject, "a");
    assert.equal((await client.receive()).subject, "b");
    await client.close();
  });

  it("close() sends CONNECTION-CLOSE, waits for OK, rejects pending receive() with MLM_CLOSED", async () => {
    const { client, mine } = await connectFake(broker, { credit: false });
    const pending = client.receive();
    await client.close();
    await assert.rejects(pending, (e: unknown) => e instanceof MlmError && e.code === "MLM_CLOSED");
    await assert.rejects(client.receive(), (e: unknown) => e instanceof MlmError && e.code === "MLM_CLOSED");
    assert.equal(broker.received.filter((r) => mine(r) && r.message.type === "CONNECTION_CLOSE").length, 1);
  });

  it("close() still finishes when the broker never answers CONNECTION-CLOSE", async () => {
    broker.handle = (_b, r) => (r.message.type === "CONNECTION_CLOSE" ? undefined : "default");
    const { client } = await connectFake(broker, { credit: false, timeout: 30 });
    await client.close();
    assert.equal(client.connected, false);
  });
});

describe("credit", () => {
  let broker!: FakeBroker;
  eachTestWithFakeBroker((b) => (broker = b));

  const credits = (mine: (r: never) => boolean) =>
    broker.received.filter((r) => mine(r as never) && r.message.type === "CREDIT").map((r) => (r.message as { amount: number }).amount);

  it("the initial credit window is sent right after OPEN's OK, before any other command", async () => {
    const { client, mine } = await connectFake(broker, { credit: 7 });
    await client.setConsumer("s", "x");
    const types = broker.received.filter(mine).map((r) => r.message.type);
    assert.deepEqual(types.slice(0, 3), ["CONNECTION_OPEN", "CREDIT", "STREAM_READ"]);
    assert.deepEqual(credits(mine), [7]);
    await client.close();
  });

  it("credit is topped up as the application consumes deliveries, and only then", async () => {
    const { client, mine, peer } = await connectFake(broker, { credit: 8 });
    for (let i = 0; i < 8; i++) broker.reply(peer(), mailbox(`m${i}`));
    await sleep(10);
    assert.deepEqual(credits(mine), [8], "nothing consumed yet: no top-up");
    for (let i = 0; i < 8; i++) await client.receive();
    await sleep(10);
    const granted = credits(mine).slice(1).reduce((a, b) => a + b, 0);
    assert.equal(granted, 8);
    await client.close();
  });

  it("push-mode handlers count as consumption for credit", async () => {
    const { client, mine, peer } = await connectFake(broker, { credit: 4 });
    const got: Delivery[] = [];
    client.onDelivery((d) => got.push(d));
    for (let i = 0; i < 4; i++) broker.reply(peer(), mailbox(`m${i}`));
    await sleep(10);
    assert.equal(got.length, 4);
    assert.equal(credits(mine).slice(1).reduce((a, b) => a + b, 0), 4);
    await client.close();
  });

  it("manualCredit never tops up by itself; addCredit(n) sends CREDIT(n)", async () => {
    const { client, mine, peer } = await connectFake(broker, { credit: 2, manualCredit: true });
    broker.reply(peer(), mailbox("a"));
    broker.reply(peer(), mailbox("b"));
    await client.receive();
    await client.receive();
    await sleep(10);
    assert.deepEqual(credits(mine), [2]);
    client.addCredit(1);
    client.addCredit(3);
    await sleep(10);
    assert.deepEqual(credits(mine), [2, 1, 3]);
    await client.close();
  });

  it("credit: false never sends CREDIT (C client behaviour), and addCredit is refused", async () => {
    const { client, mine, peer } = await connectFake(broker, { credit: false });
    broker.reply(peer(), mailbox("a"));
    await client.receive();
    await sleep(10);
    assert.deepEqual(credits(mine), []);
    assert.throws(() => client.addCredit(1), (e: unknown) => e instanceof MlmError && e.code === "MLM_BAD_ARGUMENT");
    await client.close();
  });

  it("a window above 65535 is announced as several CREDIT messages", async () => {
    const { client, mine } = await connectFake(broker, { credit: 100_000 });
    await broker.waitFor((r) => mine(r) && r.message.type === "CREDIT" && credits(mine).length === 2, "2 CREDITs");
    assert.deepEqual(credits(mine), [65535, 100_000 - 65535]);
    await client.close();
  });

  it("a re-opened session announces only the room left: window minus unconsumed deliveries", async () => {
    const { client, mine, peer } = await connectFake(broker, { credit: 4, reconnect: { interval: 10, max: 20 } });
    for (const s of ["a", "b", "c"]) broker.reply(peer(), mailbox(s));
    await sleep(10);
    const reopened = nextEvent(client, "connected");
    broker.router.disconnectPeer(peer());
    await reopened;
    await sleep(5);
    assert.deepEqual(credits(mine), [4, 1]);
    assert.equal((await client.receive()).subject, "a");
    await client.close();
  });
});

// Congestion (issue 14 item 3): the transport reports a peer's backlog with congested/drained
// events; the core stops pushing deliveries to it meanwhile. Driven here with synthetic events.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfirmStatus } from "../../src/broker/status.ts";
import { confirm, credit, Harness, mail, OK, offer, ping, PONG, publish, read, request, subjects, write } from "./harness.ts";

const congested = (conn: string) => ({ type: "congested", conn } as const);
const drained = (conn: string) => ({ type: "drained", conn } as const);

function streamSetup(h: Harness, reader: string): void {
  h.open("p", "producer");
  h.ok("p", write("s"));
  h.open(reader, reader);
  h.ok(reader, read("s", ".*"));
}

describe("broker core: congested peers (issue 14 item 3)", () => {
  it("hands a backlog out at most peerSendMessages / 4 per turn, the rest on the continue turns it asks for, in order", () => {
    // The transport reports congestion only after a batch was sent: one batch beyond its
    // high-water mark would be dropped there while counted delivered here.
    const h = new Harness({ limits: { peerSendMessages: 8 } });
    h.open("a", "alice");
    for (let i = 0; i < 5; i++) h.send("a", mail("bob", `m${i}`, "x"));
    h.open("w", "worker");
    for (let i = 0; i < 3; i++) h.send("a", request("svc", `r${i}`, "x"));
    h.actions = [];
    assert.deepEqual(subjects(h.open("b", "bob")), ["m0", "m1"], "a burst of 8 / 4 after the OK");
    assert.equal(h.continueAsked(), true);
    assert.deepEqual(h.send("a", mail("bob", "late", "x")), [], "queued behind the mailbox");
    assert.deepEqual(subjects(h.event({ type: "continue" })), ["m2", "m3"]);
    assert.deepEqual(subjects(h.event({ type: "continue" })), ["m4", "late"]);
    const offered = h.send("w", offer("svc", ".*"));
    assert.deepEqual(offered[0]?.message, OK);
    assert.deepEqual(subjects(offered.slice(1)), ["r0", "r1"], "a worker without CREDIT too");
    assert.deepEqual(subjects(h.event({ type: "continue" })), ["r2"]);
    assert.equal(h.core.stats().counters.dropped, 0);
  });

  it("stream deliveries to a congested reader without credit are dropped and counted; replies still go out", () => {
    const h = new Harness();
    streamSetup(h, "r");
    h.event(congested("r"));
    assert.deepEqual(h.send("p", publish("m1")), []);
    assert.deepEqual(h.send("p", publish("m2")), []);
    const { counters, clientList } = h.core.stats();
    assert.equal(counters.droppedCongested, 2);
    assert.equal(counters.dropped, 2);
    assert.equal(clientList.find((c) => c.conn === "r")?.congested, true);
    assert.deepEqual(h.send("r", ping()).map((s) => s.message), [PONG], "replies are still sent");
    h.event(drained("r"));
    assert.deepEqual(subjects(h.send("p", publish("m3"))), ["m3"]);
  });

  it("a congested credit-aware reader keeps its deliveries in its bounded buffer, flushed in order on drained", () => {
    const h = new Harness({ limits: { streamBufferMessages: 2 } });
    streamSetup(h, "r");
    h.send("r", credit(10));
    h.event(congested("r"));
    for (const s of ["m1", "m2", "m3"]) assert.deepEqual(h.send("p", publish(s)), []);
    assert.equal(h.core.stats().counters.dropped, 1, "beyond the buffer: dropped");
    assert.deepEqual(subjects(h.event(drained("r"))), ["m1", "m2"]);
    assert.deepEqual(subjects(h.send("p", publish("m4"))), ["m4"]);
  });

  it("mailbox messages for a congested client stay in its mailbox and go out on drained", () => {
    const h = new Harness({ limits: { mailboxMessages: 2 } });
    h.open("a", "alice");
    h.open("b", "bob");
    h.event(congested("b"));
    assert.deepEqual(h.send("a", mail("bob", "x1", "1", "t1")), []);
    assert.deepEqual(h.send("a", mail("bob", "x2", "2", "t2")), []);
    assert.deepEqual(h.core.stats().mailboxes, [{ address: "bob", depth: 2, bytes: 2 }]);
    assert.deepEqual(h.send("a", mail("bob", "x3", "3", "t3")).map((s) => [s.conn, s.message]), [
      ["a", { type: "CONFIRM", tracker: "t3", code: ConfirmStatus.LIMIT, reason: "mailbox full" }],
    ], "a tracked message that cannot be stored gets its failure CONFIRM");
    assert.deepEqual(subjects(h.event(drained("b"))), ["x1", "x2"]);
    assert.deepEqual(h.core.stats().mailboxes, []);
  });

  it("CONFIRMs forwarded to a congested sender are still sent", () => {
    const h = new Harness();
    h.open("a", "alice");
    h.hello("b");
    h.open("b", "bob");
    h.send("a", mail("bob", "x", "1", "t1"));
    h.event(congested("a"));
    assert.deepEqual(h.send("b", confirm("t1")).map((s) => s.conn), ["a"]);
  });

  it("service requests are not dispatched to a congested worker; they wait, or go to another worker", () => {
    const h = new Harness();
    h.worker("w1", "w1", "svc");
    h.open("c", "client");
    h.event(congested("w1"));
    assert.deepEqual(h.send("c", request("svc", "r1", "x")), []);
    assert.equal(h.core.stats().services[0]?.queued, 1);
    h.open("w2", "w2");
    assert.deepEqual(h.send("w2", offer("svc", ".*")).map((s) => s.conn), ["w2", "w2"], "OK, then the queued request");
    assert.deepEqual(h.send("c", request("svc", "r2", "x")).map((s) => s.conn), ["w2"]);
    h.event(congested("w2"));
    h.send("c", request("svc", "r3", "x"));
    assert.deepEqual(h.event(drained("w1")).map((s) => [s.conn, (s.message as { subject: string }).subject]), [["w1", "r3"]]);
  });

  it("congested/drained for unknown connections, and drained without congested, change nothing", () => {
    const h = new Harness();
    streamSetup(h, "r");
    assert.deepEqual(h.event(congested("nobody")), []);
    assert.deepEqual(h.event(drained("r")), []);
    assert.deepEqual(subjects(h.send("p", publish("m1"))), ["m1"]);
  });
});

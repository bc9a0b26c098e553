import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfirmStatus } from "../../src/broker/status.ts";
import { confirm, credit, Harness, mail, subjects, utf8 } from "./harness.ts";

describe("broker core: mailboxes (mlm-protocol §6, design §3)", () => {
  it("a message to a connected recipient is delivered at once as MAILBOX-DELIVER with the original tracker", () => {
    const h = new Harness();
    h.open("a", "alice");
    h.open("b", "bob");
    const body = utf8.encode("hi");
    const out = h.send("a", { type: "MAILBOX_SEND", address: "bob", subject: "greet", tracker: "t-1", timeout: 0, content: [body] });
    assert.equal(out.length, 1);
    assert.equal(out[0]?.conn, "b");
    assert.deepEqual(out[0]?.message, {
      type: "MAILBOX_DELIVER", sender: "alice", address: "bob", subject: "greet", tracker: "t-1", content: [body],
    });
    assert.equal(out[0]?.frames[1], body);
  });

  it("messages to an absent recipient are stored, then delivered in order right after its OPEN's OK", () => {
    const h = new Harness();
    h.open("a", "alice");
    for (let i = 0; i < 3; i++) assert.deepEqual(h.send("a", mail("bob", `m${i}`, "x", `trk${i}`)), []);
    assert.deepEqual(h.core.stats().mailboxes, [{ address: "bob", depth: 3, bytes: 3 }]);
    const after = h.open("b", "bob");
    assert.deepEqual(subjects(after), ["m0", "m1", "m2"]);
    assert.deepEqual(after.map((s) => (s.message as { tracker: string }).tracker), ["trk0", "trk1", "trk2"]);
    assert.deepEqual(h.core.stats().mailboxes, [], "an empty mailbox is reclaimed");
  });

  it("stored deliveries keep their own trackers when other traffic happens in between (C stale-tracker quirk fixed)", () => {
    const h = new Harness();
    h.open("a", "alice");
    h.send("a", mail("bob", "s", "x", "trk2"));
    h.send("a", mail("carol", "s", "x", "trkOther"));
    const after = h.open("b", "bob");
    assert.equal((after[0]?.message as { tracker: string }).tracker, "trk2");
  });

  it("new messages wait behind stored ones so order is kept", () => {
    const h = new Harness();
    h.open("a", "alice");
    h.open("b", "bob");
    h.send("b", credit(0));
    h.send("a", mail("bob", "m1", "x"));
    h.send("b", credit(1));
    h.send("a", mail("bob", "m2", "x"));
    assert.deepEqual(h.core.stats().mailboxes[0]?.depth, 1);
    assert.deepEqual(subjects(h.send("b", credit(5))), ["m2"]);
  });

  it("anonymous clients send with an empty sender", () => {
    const h = new Harness();
    h.open("x", "");
    h.open("b", "bob");
    const out = h.send("x", mail("bob", "s", "b"));
    assert.equal((out[0]?.message as { sender: string }).sender, "");
  });

  it("a MAILBOX-SEND to the empty address cannot be routed: failure CONFIRM 303 to a tracked sender", () => {
    const h = new Harness();
    h.open("a", "alice");
    const out = h.send("a", mail("", "s", "b", "t1"));
    assert.deepEqual(out.map((s) => s.message), [
      { type: "CONFIRM", tracker: "t1", code: ConfirmStatus.NO_ROUTE, reason: "no route: empty address" },
    ]);
    assert.deepEqual(h.send("a", mail("", "s", "b")), [], "untracked: nothing to tell");
    assert.equal(h.core.stats().counters.dropped, 2);
    assert.deepEqual(h.core.stats().mailboxes, []);
  });

  it("mailbox limit by count: further messages are refused with CONFIRM 302 to the tracked sender", () => {
    const h = new Harness({ limits: { mailboxMessages: 3 } });
    h.open("a", "alice");
    const replies = [];
    for (let i = 0; i < 5; i++) replies.push(...h.send("a", mail("bob", `m${i}`, "x", `t${i}`)));
    assert.deepEqual(replies.map((s) => s.message), [
      { type: "CONFIRM", tracker: "t3", code: ConfirmStatus.LIMIT, reason: "mailbox full" },
      { type: "CONFIRM", tracker: "t4", code: ConfirmStatus.LIMIT, reason: "mailbox full" },
    ]);
    assert.equal(h.core.stats().counters.dropped, 2);
    assert.deepEqual(subjects(h.open("b", "bob")), ["m0", "m1", "m2"]);
  });

  it("mailbox limit by bytes counts content bytes", () => {
    const h = new Harness({ limits: { mailboxBytes: 10 } });
    h.open("a", "alice");
    assert.deepEqual(h.send("a", mail("bob", "m0", "123456", "t0")), []);
    const refused = h.send("a", mail("bob", "m1", "12345", "t1"));
    assert.equal((refused[0]?.message as { code: number }).code, ConfirmStatus.LIMIT);
    assert.deepEqual(h.send("a", mail("bob", "m2", "1234", "t2")), [], "exactly at the limit fits");
    assert.deepEqual(subjects(h.open("b", "bob")), ["m0", "m2"]);
  });

  it("a message larger than maxMessageSize is refused with CONFIRM 302", () => {
    const h = new Harness({ limits: { maxMessageSize: 4 } });
    h.open("a", "alice");
    h.open("b", "bob");
    const out = h.send("a", mail("bob", "s", "12345", "big"));
    assert.deepEqual(out.map((s) => s.message), [
      { type: "CONFIRM", tracker: "big", code: ConfirmStatus.LIMIT, reason: "message too large" },
    ]);
  });

  it("a stored message whose timeout passes is discarded with CONFIRM 301 to its tracked sender", () => {
    const h = new Harness({ timeout: 0 });
    h.open("a", "alice");
    h.send("a", mail("bob", "short", "x", "t-short", 500));
    h.send("a", mail("bob", "long", "x", "t-long", 5000));
    h.send("a", mail("bob", "forever", "x", "t-forever", 0));
    assert.equal(h.core.nextDeadline(), h.now + 500);
    assert.deepEqual(h.advance(499), []);
    assert.deepEqual(h.advance(1).map((s) => s.message), [
      { type: "CONFIRM", tracker: "t-short", code: ConfirmStatus.EXPIRED, reason: "expired" },
    ]);
    assert.equal(h.core.stats().counters.expired, 1);
    assert.deepEqual(subjects(h.open("b", "bob")), ["long", "forever"]);
    assert.equal(h.core.nextDeadline(), undefined, "delivered messages leave the deadline heap");
    assert.deepEqual(h.advance(10_000), []);
  });

  it("an untracked stored message that expires is counted but nobody is told", () => {
    const h = new Harness({ timeout: 0 });
    h.open("a", "alice");
    h.send("a", mail("bob", "s", "x", "", 100));
    assert.deepEqual(h.advance(100), []);
    assert.equal(h.core.stats().counters.expired, 1);
    assert.deepEqual(h.core.stats().mailboxes, []);
  });

  it("a recipient's CONFIRM is forwarded to the original sender with its code and reason", () => {
    const h = new Harness();
    h.open("a", "alice");
    h.hello("b");
    h.open("b", "bob");
    h.send("a", mail("bob", "s", "x", "t9"));
    const out = h.send("b", confirm("t9", 200, "read it"));
    assert.deepEqual(out.map((s) => [s.conn, s.message]), [
      ["a", { type: "CONFIRM", tracker: "t9", code: 200, reason: "read it" }],
    ]);
    assert.deepEqual(h.send("b", confirm("t9")), [], "a tracker is confirmed once");
    assert.equal(h.core.stats().counters.confirmed, 1);
  });

  it("a CONFIRM reaches the sender's current connection after it reconnected with the same address", () => {
    const h = new Harness();
    h.open("a1", "alice");
    h.send("a1", mail("bob", "s", "x", "t1"));
    h.disconnect("a1");
    h.open("a2", "alice");
    h.hello("b");
    const after = h.open("b", "bob");
    assert.equal(after.length, 1);
    assert.deepEqual(h.send("b", confirm("t1")).map((s) => s.conn), ["a2"]);
  });

  it("CONFIRMs for the same tracker from different senders are routed oldest first", () => {
    const h = new Harness();
    h.open("a", "alice");
    h.open("c", "carol");
    h.hello("b");
    h.open("b", "bob");
    h.send("a", mail("bob", "s", "x", "same"));
    h.send("c", mail("bob", "s", "x", "same"));
    assert.deepEqual(h.send("b", confirm("same")).map((s) => s.conn), ["a"]);
    assert.deepEqual(h.send("b", confirm("same")).map((s) => s.conn), ["c"]);
  });

  it("a recipient that never said HELLO (a C client) gets no CONFIRM routes: its CONFIRM is ignored", () => {
    const h = new Harness();
    h.open("a", "alice");
    h.open("b", "bob");
    h.worker("w", "worker", "svc");
    h.send("a", mail("bob", "s", "x", "t1"));
    h.send("a", { type: "SERVICE_SEND", address: "svc", subject: "s", tracker: "t2", timeout: 0, content: [] });
    assert.deepEqual(h.send("b", confirm("t1")), [], "no route for the mailbox delivery");
    assert.deepEqual(h.send("w", confirm("t2")), [], "no route for the service delivery");
    assert.equal(h.core.stats().counters.confirmed, 0);
    assert.equal(h.core.stats().clients, 3, "the sessions stay");
  });

  it("a CONFIRM with an unknown tracker is ignored and the session stays", () => {
    const h = new Harness();
    h.open("b", "bob");
    assert.deepEqual(h.send("b", confirm("nothing")), []);
    assert.equal(h.core.stats().clients, 1);
  });

  it("pending CONFIRM routes per connection are bounded (recipients need not confirm)", () => {
    const h = new Harness({ limits: { pendingConfirms: 2 } });
    h.open("a", "alice");
    h.hello("b");
    h.open("b", "bob");
    for (const t of ["t1", "t2", "t3"]) h.send("a", mail("bob", "s", "x", t));
    assert.deepEqual(h.send("b", confirm("t1")), [], "oldest route was evicted");
    assert.equal(h.send("b", confirm("t3")).length, 1);
  });
});

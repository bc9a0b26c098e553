// Issue 14: what all queues hold together, and offers per connection, are bounded too, so
// messages to many mailboxes or services (each within its own limit) cannot grow the broker
// without bound, nor can a flood of SERVICE-OFFERs.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfirmStatus, OFFER_REFUSED, STORE_FULL } from "../../src/broker/status.ts";
import { Harness, mail, offer, OK, ping, PONG, request } from "./harness.ts";

const confirmsOf = (out: ReturnType<Harness["send"]>) =>
  out.map((s) => s.message).filter((m) => m.type === "CONFIRM");

describe("broker core: storage across every queue (storedMessages, storedBytes)", () => {
  it("exactly storedMessages are stored across mailboxes and services; one more is refused with CONFIRM 302", () => {
    const h = new Harness({ limits: { storedMessages: 4 } });
    h.open("s", "sender");
    for (let i = 0; i < 2; i++) assert.deepEqual(confirmsOf(h.send("s", mail(`box-${i}`, "x", "b", `m${i}`))), []);
    for (let i = 0; i < 2; i++) assert.deepEqual(confirmsOf(h.send("s", request(`svc-${i}`, "x", "b", `r${i}`))), []);
    assert.deepEqual(confirmsOf(h.send("s", mail("box-9", "x", "b", "m9"))), [
      { type: "CONFIRM", tracker: "m9", code: ConfirmStatus.LIMIT, reason: STORE_FULL },
    ]);
    assert.deepEqual(confirmsOf(h.send("s", request("svc-9", "x", "b", "r9"))), [
      { type: "CONFIRM", tracker: "r9", code: ConfirmStatus.LIMIT, reason: STORE_FULL },
    ]);
    const stats = h.core.stats();
    assert.equal(stats.mailboxes.reduce((n, m) => n + m.depth, 0) + stats.services.reduce((n, s) => n + s.queued, 0), 4);
    // Delivering one frees room for one more.
    h.open("b0", "box-0");
    assert.deepEqual(confirmsOf(h.send("s", mail("box-9", "x", "b", "m10"))), []);
  });

  it("storedBytes bounds content bytes across queues; a delivered message needs no room", () => {
    const h = new Harness({ limits: { storedBytes: 10 } });
    h.open("s", "sender");
    h.open("r", "reader");
    assert.deepEqual(confirmsOf(h.send("s", mail("a", "x", "12345", "t1"))), []);
    assert.deepEqual(confirmsOf(h.send("s", request("svc", "x", "12345", "t2"))), []);
    assert.deepEqual(confirmsOf(h.send("s", mail("b", "x", "1", "t3"))), [
      { type: "CONFIRM", tracker: "t3", code: ConfirmStatus.LIMIT, reason: STORE_FULL },
    ]);
    // Straight to a connected recipient: not stored, not limited.
    assert.equal(h.send("s", mail("reader", "x", "1234567890", "t4")).filter((o) => o.conn === "r").length, 1);
  });

  it("the totals follow every way out of a queue: delivery, expiry, worker arrival", () => {
    const h = new Harness({ limits: { storedMessages: 2 } });
    h.open("s", "sender");
    h.send("s", mail("gone", "x", "b", "e1", 100));
    h.send("s", request("svc", "x", "b", "q1"));
    assert.equal(confirmsOf(h.send("s", mail("other", "x", "b", "full"))).length, 1);
    h.advance(100); // the mail expires
    h.open("w", "worker");
    h.send("w", offer("svc", ".*")); // the request is delivered
    for (let i = 0; i < 2; i++) assert.deepEqual(confirmsOf(h.send("s", mail("later", "x", "b", `l${i}`))), []);
    assert.equal(confirmsOf(h.send("s", mail("later", "x", "b", "l2"))).length, 1);
  });
});

describe("broker core: offers per connection (offersPerConnection)", () => {
  it("exactly offersPerConnection SERVICE-OFFERs are accepted; more get ERROR 300 and the session stays", () => {
    const h = new Harness({ limits: { offersPerConnection: 3 } });
    h.open("w", "worker");
    for (let i = 0; i < 3; i++) assert.deepEqual(h.send("w", offer(`svc-${i}`, ".*")).map((s) => s.message), [OK]);
    assert.deepEqual(h.send("w", offer("svc-9", ".*")).map((s) => s.message), [
      { type: "ERROR", code: 300, reason: OFFER_REFUSED },
    ]);
    assert.equal(h.core.stats().counters.subscriptionsRefused, 1);
    assert.deepEqual(h.send("w", ping()).map((s) => s.message), [PONG]);
    assert.equal(h.core.stats().services.length, 3);
  });
});

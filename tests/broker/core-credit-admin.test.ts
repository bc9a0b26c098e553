import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ADMIN_SERVICE, ConfirmStatus } from "../../src/broker/status.ts";
import type { BrokerStats } from "../../src/broker/types.ts";
import { credit, Harness, mail, offer, publish, read, request, subjects, text, write } from "./harness.ts";

describe("broker core: credit (design §3)", () => {
  it("a connection is unlimited until its first CREDIT (C clients never send one)", () => {
    const h = new Harness();
    h.open("a", "alice");
    h.open("b", "bob");
    let delivered = 0;
    for (let i = 0; i < 5000; i++) {
      delivered += h.send("a", mail("bob", "s", "x")).length;
      // As the server does: the turns the core asks for (at most peerSendMessages / 4 deliveries per connection each).
      delivered += h.event({ type: "continue" }).length;
    }
    assert.equal(delivered, 5000);
  });

  it("after CREDIT each delivery (stream, mailbox, service) spends one credit", () => {
    const h = new Harness();
    h.open("p", "producer");
    h.ok("p", write("s"));
    h.open("x", "x");
    h.ok("x", read("s", ".*"));
    h.ok("x", offer("svc", ".*"));
    h.send("x", credit(3));
    assert.equal(h.send("p", publish("stream")).length, 1);
    assert.equal(h.send("p", mail("x", "mail", "b")).length, 1);
    assert.equal(h.send("p", request("svc", "svc", "b")).length, 1);
    assert.deepEqual(h.send("p", mail("x", "mail2", "b")), [], "no credit left");
    assert.deepEqual(h.send("p", publish("stream2")), []);
    assert.deepEqual(h.send("p", request("svc", "svc2", "b")), []);
    assert.equal(h.send("x", credit(3)).length, 3);
  });

  it("mailbox messages wait in the broker until the recipient has credit", () => {
    const h = new Harness();
    h.open("a", "alice");
    h.open("b", "bob");
    h.send("b", credit(1));
    assert.equal(h.send("a", mail("bob", "m1", "x")).length, 1);
    assert.deepEqual(h.send("a", mail("bob", "m2", "x")), []);
    assert.deepEqual(h.send("a", mail("bob", "m3", "x")), []);
    assert.equal(h.core.stats().mailboxes[0]?.depth, 2);
    assert.deepEqual(subjects(h.send("b", credit(1))), ["m2"]);
    assert.deepEqual(subjects(h.send("b", credit(1))), ["m3"]);
  });

  it("CREDIT 0 makes a connection credit-aware with nothing to spend", () => {
    const h = new Harness();
    h.open("a", "alice");
    h.open("b", "bob");
    h.send("b", credit(0));
    assert.deepEqual(h.send("a", mail("bob", "m", "x")), []);
  });

  it("credit belongs to the connection: a new connection with the same address starts unlimited", () => {
    const h = new Harness();
    h.open("a", "alice");
    h.open("b1", "bob");
    h.send("b1", credit(0));
    h.send("a", mail("bob", "m1", "x"));
    h.send("a", mail("bob", "m2", "x"));
    assert.deepEqual(subjects(h.open("b2", "bob").filter((s) => s.conn === "b2")), ["m1", "m2"]);
  });
});

describe("broker core: admin service malamute.admin", () => {
  it("SERVICE-SEND malamute.admin STATS is answered with a MAILBOX-DELIVER carrying JSON stats", () => {
    const h = new Harness();
    h.worker("w", "worker", "svc");
    h.open("c", "ops");
    const out = h.send("c", request(ADMIN_SERVICE, "STATS", "", "adm-1"));
    assert.equal(out.length, 1);
    const m = out[0]?.message;
    assert.equal(out[0]?.conn, "c");
    assert.ok(m?.type === "MAILBOX_DELIVER");
    assert.equal(m.sender, ADMIN_SERVICE);
    assert.equal(m.address, "ops");
    assert.equal(m.subject, "STATS");
    assert.equal(m.tracker, "adm-1");
    assert.equal(m.content.length, 1);
    const stats = JSON.parse(text(m.content[0])) as BrokerStats;
    assert.equal(stats.clients, 2);
    assert.deepEqual(stats.services, [{ name: "svc", workers: 1, queued: 0, bytes: 0, inflight: 0 }]);
    assert.deepEqual(stats.clientList.map((c) => [c.address, c.offers]), [["worker", ["svc"]], ["ops", []]]);
  });

  it("stats list every client: address, idle time, credit, streams read and written, services offered", () => {
    const h = new Harness();
    h.open("p", "producer");
    h.ok("p", write("weather"));
    h.open("x", "reader");
    h.ok("x", read("weather", "^a"));
    h.ok("x", read("news", ".*"));
    h.ok("x", offer("svc", ".*"));
    h.send("x", credit(2));
    h.send("p", publish("a1"));
    h.send("p", publish("a2"));
    h.send("p", publish("a3")); // no credit left: buffered
    h.raw("q", []); // a connection that never opened
    h.now += 250;
    const list = h.core.stats().clientList;
    assert.equal(list.length, 3);
    const [p, x, q] = list;
    assert.deepEqual(
      { ...p, idleMs: undefined },
      {
        conn: "p", address: "producer", opened: true, idleMs: undefined, creditAware: false, credit: 0,
        writes: "weather", reads: [], offers: [], inflight: 0, buffered: 0, congested: false,
      },
    );
    assert.equal(x?.creditAware, true);
    assert.equal(x?.credit, 0);
    assert.equal(x?.buffered, 1);
    assert.deepEqual(x?.reads.sort(), ["news", "weather"]);
    assert.deepEqual(x?.offers, ["svc"]);
    assert.equal(q?.opened, false);
    // Idle time is measured against the `now` given (default: the last event's time).
    assert.equal(h.core.stats(h.now).clientList[0]?.idleMs, 250);
    assert.equal(h.core.stats().clientList[0]?.idleMs, 0);
    assert.equal(h.core.stats(h.now, 2).clientList.length, 2, "maxClients bounds the list");
  });

  it("the admin STATS answer lists at most 1,000 clients", () => {
    const h = new Harness({ limits: { maxConnections: 2000 } });
    for (let i = 0; i < 1100; i++) h.open(`c${i}`, `client-${i}`);
    const out = h.send("c0", request(ADMIN_SERVICE, "STATS", "", "adm"));
    const m = out[0]?.message;
    assert.ok(m?.type === "MAILBOX_DELIVER");
    const stats = JSON.parse(text(m.content[0])) as BrokerStats;
    assert.equal(stats.connections, 1100);
    assert.equal(stats.clientList.length, 1000);
  });

  it("an anonymous requester cannot receive the admin reply: CONFIRM 303", () => {
    const h = new Harness();
    h.open("c", "");
    const out = h.send("c", request(ADMIN_SERVICE, "STATS", "", "adm"));
    assert.deepEqual(out.map((s) => s.message), [
      { type: "CONFIRM", tracker: "adm", code: ConfirmStatus.NO_ROUTE, reason: "no route: anonymous requester" },
    ]);
  });

  it("an unknown admin command gets CONFIRM 300", () => {
    const h = new Harness();
    h.open("c", "ops");
    const out = h.send("c", request(ADMIN_SERVICE, "REBOOT", "", "adm"));
    assert.equal((out[0]?.message as { code: number }).code, ConfirmStatus.FAILED);
  });
});

describe("broker core: stats, shutdown and memory", () => {
  it("stats report clients, mailboxes with depths, streams with readers, services with workers and queue depth, counters", () => {
    const h = new Harness();
    h.open("p", "producer");
    h.ok("p", write("news"));
    h.open("r", "reader");
    h.ok("r", read("news", ".*"));
    h.open("anon", "");
    h.send("p", mail("away", "s", "abc"));
    h.send("p", request("svc", "s", "abcd"));
    h.send("p", publish("x"));
    h.raw("p", [new Uint8Array([1, 2, 3])]);
    const stats = h.core.stats();
    assert.equal(stats.clients, 3);
    assert.equal(stats.connections, 3);
    assert.deepEqual(stats.mailboxes, [{ address: "away", depth: 1, bytes: 3 }]);
    assert.deepEqual(stats.streams, [{ name: "news", readers: 1, writers: 1 }]);
    assert.deepEqual(stats.services, [{ name: "svc", workers: 0, queued: 1, bytes: 4, inflight: 0 }]);
    assert.equal(stats.counters.delivered, 1);
    assert.equal(stats.counters.queued, 2);
    assert.equal(stats.counters.malformed, 1);
  });

  it("shutdown tells the senders of queued and in-flight tracked messages with CONFIRM 304", () => {
    const h = new Harness();
    h.open("a", "alice");
    h.send("a", mail("bob", "s", "x", "m-1"));
    h.send("a", request("svc", "s", "x", "q-1"));
    h.open("w", "worker");
    h.send("w", credit(1));
    h.ok("w", offer("busy", ".*"));
    h.send("a", request("busy", "s", "x", "f-1"));
    const out = h.shutdown();
    assert.deepEqual(out.map((s) => [s.conn, (s.message as { tracker: string; code: number }).tracker, (s.message as { code: number }).code]), [
      ["a", "m-1", ConfirmStatus.SHUTDOWN],
      ["a", "q-1", ConfirmStatus.SHUTDOWN],
      ["a", "f-1", ConfirmStatus.SHUTDOWN],
    ]);
    assert.deepEqual(h.send("a", { type: "CONNECTION_PING" }), [], "input after shutdown is ignored");
  });

  it("idle empty streams, services and mailboxes are reclaimed; nothing stays behind a departed client", () => {
    const h = new Harness();
    for (let i = 0; i < 50; i++) {
      const c = `c${i}`;
      h.open(c, `client${i}`);
      h.ok(c, write(`w${i}`));
      h.ok(c, read(`s${i}`, ".*"));
      h.ok(c, offer(`svc${i}`, ".*"));
      h.send(c, mail(`client${i}`, "self", "x"));
      h.disconnect(c);
    }
    const stats = h.core.stats();
    assert.equal(stats.connections, 0);
    assert.deepEqual(stats.streams, []);
    assert.deepEqual(stats.services, []);
    assert.deepEqual(stats.mailboxes, []);
  });
});

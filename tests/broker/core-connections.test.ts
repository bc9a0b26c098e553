import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  close, credit, FAILED, Harness, hex, INVALID, mail, OK, offer, ping, PONG, publish, read, request, unhex, write,
} from "./harness.ts";
import { ADDRESS_TAKEN } from "../../src/proto/mod.ts";
import type { MlmMessage } from "../../src/proto/mod.ts";

describe("broker core: connections (mlm-protocol §4, §5, §10)", () => {
  it("CONNECTION-OPEN is answered with OK 200 and an empty reason, byte for byte", () => {
    const h = new Harness();
    const out = h.send("c1", { type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address: "w1" });
    assert.equal(out.length, 1);
    assert.equal(out[0]?.conn, "c1");
    assert.equal(hex(out[0]?.frames[0]), "aaa80e00c800");
    assert.equal(out[0]?.frames.length, 1);
  });

  it("CONNECTION-PING is answered with CONNECTION-PONG when connected", () => {
    const h = new Harness();
    h.open("c1", "a");
    const out = h.send("c1", ping());
    assert.deepEqual(out.map((s) => s.message), [PONG]);
    assert.equal(hex(out[0]?.frames[0]), "aaa803");
  });

  it("every command before CONNECTION-OPEN gets ERROR 500 and the context stays in start", () => {
    const h = new Harness();
    const commands: MlmMessage[] = [
      ping(), write("s"), read("s", ".*"), publish("x", "y"), mail("a", "s", "b"), request("svc", "s", "b"),
      offer("svc", ".*"), credit(5), { type: "CONFIRM", tracker: "t", code: 200, reason: "" },
      { type: "STREAM_CANCEL", stream: "s" }, { type: "CONNECTION_PONG" },
      { type: "OK", code: 200, reason: "" }, { type: "ERROR", code: 500, reason: "" },
      { type: "STREAM_DELIVER", address: "s", sender: "x", subject: "y", content: [] },
      { type: "MAILBOX_DELIVER", sender: "x", address: "y", subject: "z", tracker: "", content: [] },
      { type: "SERVICE_DELIVER", sender: "x", address: "y", subject: "z", tracker: "", content: [] },
    ];
    for (const command of commands) {
      const out = h.send("c1", command);
      assert.deepEqual(out.map((s) => s.message), [INVALID], `${command.type} before OPEN`);
      assert.equal(hex(out[0]?.frames[0]), "aaa80f01f400");
    }
    assert.equal(h.core.stats().connections, 1);
    assert.equal(h.core.stats().clients, 0);
    h.open("c1", "late");
    assert.deepEqual(h.send("c1", ping()).map((s) => s.message), [PONG]);
  });

  it("CONNECTION-CLOSE without a session is answered with OK and the broker keeps serving", () => {
    const h = new Harness();
    h.open("other", "o");
    assert.deepEqual(h.send("c1", close()).map((s) => s.message), [OK]);
    assert.deepEqual(h.send("other", ping()).map((s) => s.message), [PONG]);
    assert.deepEqual(h.send("c1", ping()).map((s) => s.message), [INVALID]);
  });

  it("CONNECTION-CLOSE is answered with OK, then the client is forgotten", () => {
    const h = new Harness();
    h.worker("c1", "a", "svc");
    assert.deepEqual(h.send("c1", close()).map((s) => s.message), [OK]);
    assert.equal(h.core.stats().clients, 0);
    assert.deepEqual(h.core.stats().services, []);
    assert.deepEqual(h.send("c1", ping()).map((s) => s.message), [INVALID]);
  });

  it("a second CONNECTION-OPEN on an open connection gets ERROR 500 and drops the session", () => {
    const h = new Harness();
    h.open("c1", "a");
    const out = h.send("c1", { type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address: "a" });
    assert.deepEqual(out.map((s) => s.message), [INVALID]);
    assert.deepEqual(h.send("c1", ping()).map((s) => s.message), [INVALID]);
  });

  for (const message of [
    { type: "CONNECTION_PONG" },
    { type: "STREAM_DELIVER", address: "s", sender: "x", subject: "y", content: [] },
    { type: "MAILBOX_DELIVER", sender: "x", address: "y", subject: "z", tracker: "", content: [] },
    { type: "SERVICE_DELIVER", sender: "x", address: "y", subject: "z", tracker: "", content: [] },
    { type: "OK", code: 200, reason: "" },
    { type: "ERROR", code: 300, reason: "" },
  ] as MlmMessage[]) {
    it(`${message.type} sent by a client is out of state: ERROR 500 and the session is dropped`, () => {
      const h = new Harness();
      h.open("c1", "a");
      assert.deepEqual(h.send("c1", message).map((s) => s.message), [INVALID]);
      assert.equal(h.core.stats().clients, 0);
      assert.deepEqual(h.send("c1", ping()).map((s) => s.message), [INVALID]);
    });
  }

  it("MAILBOX-SEND, SERVICE-SEND, STREAM-SEND and CREDIT get no reply", () => {
    const h = new Harness();
    h.open("c1", "a");
    h.ok("c1", write("s"));
    assert.deepEqual(h.send("c1", mail("nobody", "s", "b")), []);
    assert.deepEqual(h.send("c1", request("svc", "s", "b")), []);
    assert.deepEqual(h.send("c1", publish("s", "b")), []);
    assert.deepEqual(h.send("c1", credit(10)), []);
  });

  it("STREAM-SEND without a writer stream gets ERROR 300 and the session is dropped", () => {
    const h = new Harness();
    h.open("c1", "a");
    const out = h.send("c1", publish("s", "b"));
    assert.deepEqual(out.map((s) => s.message), [FAILED]);
    assert.equal(hex(out[0]?.frames[0]), "aaa80f012c00");
    assert.deepEqual(h.send("c1", ping()).map((s) => s.message), [INVALID]);
  });

  it("same address: the newest connection wins, the old one loses its session and subscriptions", () => {
    const h = new Harness();
    h.open("old", "alice");
    h.ok("old", read("news", ".*"));
    h.ok("old", offer("svc", ".*"));
    h.open("new", "alice");
    assert.deepEqual(h.core.stats().streams, [], "old subscriptions are gone");
    assert.deepEqual(h.core.stats().services, [], "old offers are gone");
    h.open("bob", "bob");
    const out = h.send("bob", mail("alice", "hi", "x"));
    assert.deepEqual(out.map((s) => s.conn), ["new"]);
    assert.deepEqual(h.send("old", ping()).map((s) => s.message), [INVALID], "old connection must re-open");
  });

  it("same address: the displaced connection is told at once with ERROR 500 `address taken`", () => {
    const h = new Harness();
    h.open("old", "alice");
    const out = h.open("new", "alice");
    assert.deepEqual(out.map((s) => [s.conn, s.message]), [["old", { type: "ERROR", code: 500, reason: ADDRESS_TAKEN }]]);
    assert.equal(hex(out[0]?.frames[0]), "aaa80f01f40d616464726573732074616b656e");
  });

  it("same address: the mailbox's stored messages stay and go to the new owner", () => {
    const h = new Harness();
    h.open("bob", "bob");
    h.open("c1", "alice");
    h.send("c1", credit(0)); // alice cannot take deliveries: messages are stored
    h.send("bob", mail("alice", "m1", "x"));
    assert.equal(h.core.stats().mailboxes[0]?.depth, 1);
    const after = h.open("c2", "alice").filter((s) => s.conn === "c2");
    assert.deepEqual(after.map((s) => [s.conn, (s.message as { subject: string }).subject]), [["c2", "m1"]]);
  });

  it("expiry follows the server timeout: silent, then the next PING gets ERROR 500", () => {
    const h = new Harness({ timeout: 3000 });
    h.open("c1", "a");
    h.now += 2000;
    h.send("c1", ping());
    assert.equal(h.core.nextDeadline(), h.now + 3000);
    assert.deepEqual(h.advance(2999), []);
    assert.equal(h.core.stats().clients, 1);
    assert.deepEqual(h.advance(1), [], "expiry sends nothing");
    assert.equal(h.core.stats().clients, 0);
    assert.equal(h.core.stats().counters.connectionsExpired, 1);
    assert.deepEqual(h.send("c1", ping()).map((s) => s.message), [INVALID]);
  });

  it("the default server timeout is 10 s", () => {
    const h = new Harness();
    h.open("c1", "a");
    h.advance(9999);
    assert.equal(h.core.stats().clients, 1);
    h.advance(1);
    assert.equal(h.core.stats().clients, 0);
  });

  it("an unopened connection also expires after the timeout", () => {
    const h = new Harness({ timeout: 1000 });
    h.send("c1", ping());
    assert.equal(h.core.stats().connections, 1);
    h.advance(1000);
    assert.equal(h.core.stats().connections, 0);
  });

  it("expiry releases the address so a new client can take it and its offers are removed", () => {
    const h = new Harness({ timeout: 1000 });
    h.worker("w", "worker", "svc");
    h.advance(1000);
    assert.deepEqual(h.core.stats().services, []);
    h.open("w2", "worker");
    assert.equal(h.core.stats().clients, 1);
  });

  it("a transport disconnect deregisters the client at once", () => {
    const h = new Harness();
    h.open("c1", "a");
    h.ok("c1", read("s", ".*"));
    h.disconnect("c1");
    assert.equal(h.core.stats().connections, 0);
    assert.deepEqual(h.core.stats().streams, []);
  });

  it("connections beyond maxConnections are disconnected", () => {
    const h = new Harness({ limits: { maxConnections: 2 } });
    h.open("c1", "a");
    h.open("c2", "b");
    assert.deepEqual(h.send("c3", ping()), []);
    assert.deepEqual(h.disconnects(), ["c3"]);
    assert.equal(h.core.stats().counters.connectionsRefused, 1);
  });

  it("nextDeadline is undefined when nothing can expire", () => {
    const h = new Harness({ timeout: 0 });
    h.open("c1", "a");
    assert.equal(h.core.nextDeadline(), undefined);
    h.advance(1e9);
    assert.equal(h.core.stats().clients, 1);
  });
});

describe("broker core: malformed input (design §3 decode)", () => {
  const bad = [
    ["bad signature", ["aaa9050378797a"]],
    ["unknown id 99", ["aaa863"]],
    ["unknown id 0", ["aaa800"]],
    ["truncated header (1 byte)", ["aa"]],
    ["empty frame", [""]],
    ["string past the end", ["aaa8050a666f6f"]],
    ["bad protocol name", ["aaa801084d414c414d555458000103626164"]],
    ["surplus frame after PING", ["aaa802", "6a756e6b"]],
  ] as const;
  for (const [name, frames] of bad) {
    it(`${name} is dropped without reply, counted, and the connection keeps working`, () => {
      const h = new Harness();
      h.open("c1", "a");
      assert.deepEqual(h.raw("c1", frames.map(unhex)), []);
      assert.equal(h.core.stats().counters.malformed, 1);
      assert.deepEqual(h.send("c1", ping()).map((s) => s.message), [PONG]);
    });
  }

  it("an empty frame list is malformed, not a crash", () => {
    const h = new Harness();
    assert.deepEqual(h.raw("c1", []), []);
    assert.equal(h.core.stats().counters.malformed, 1);
  });

  it("malformed input resets the connection's activity timer", () => {
    const h = new Harness({ timeout: 1000 });
    h.open("c1", "a");
    h.now += 900;
    h.raw("c1", [unhex("aaa9")]);
    h.advance(500);
    assert.equal(h.core.stats().clients, 1);
    h.advance(500);
    assert.equal(h.core.stats().clients, 0);
  });

  it("a connection that keeps sending malformed messages is disconnected", () => {
    const h = new Harness({ limits: { maxMalformed: 3 } });
    h.open("c1", "a");
    h.open("c2", "b");
    for (let i = 0; i < 3; i++) h.raw("c1", [unhex("aaa9")]);
    assert.deepEqual(h.disconnects(), []);
    h.raw("c1", [unhex("aaa9")]);
    assert.deepEqual(h.disconnects(), ["c1"]);
    assert.equal(h.core.stats().clients, 1);
    assert.deepEqual(h.send("c2", ping()).map((s) => s.message), [PONG]);
  });
});

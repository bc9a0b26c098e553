import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { HELLO_ANSWER, HelloFlag } from "../../src/broker/extensions.ts";
import { ConfirmStatus } from "../../src/broker/status.ts";
import { confirm, credit, Harness, INVALID, mail, OK, ping, PONG, request, subjects } from "./harness.ts";
import type { Sent } from "./harness.ts";

const hello = (flags = 0) => confirm("", flags);
const withdraw = (tracker: string) => confirm(tracker, ConfirmStatus.WITHDRAWN);
const WITHDRAWN = (tracker: string) => ({ type: "CONFIRM", tracker, code: ConfirmStatus.WITHDRAWN, reason: "withdrawn" });

function messages(out: Sent[]): [string, unknown][] {
  return out.map((s) => [s.conn, s.message]);
}

describe("broker core: HELLO (docs/mlm-extensions.md §1)", () => {
  it("a CONFIRM with an empty tracker before OPEN gets OK 200 with the feature list, and OPEN works after it", () => {
    const h = new Harness();
    assert.deepEqual(h.send("c", hello()).map((s) => s.message), [{ type: "OK", code: 200, reason: HELLO_ANSWER }]);
    assert.equal(HELLO_ANSWER, "malamute-ext/1 confirm credit withdraw stored");
    h.open("c", "client");
    assert.deepEqual(h.send("c", ping()).map((s) => s.message), [PONG]);
  });

  it("matches the documented answer bytes", () => {
    const h = new Harness();
    const [answer] = h.send("c", hello(HelloFlag.NO_MAILBOX_CONFIRMS));
    const expected = "aaa80e00c82d" + Buffer.from(HELLO_ANSWER).toString("hex");
    assert.equal(Buffer.from(answer?.frames[0] as Uint8Array).toString("hex"), expected);
  });

  it("after OPEN it is an ordinary CONFIRM for an unknown tracker: ignored, the session stays", () => {
    const h = new Harness();
    h.open("c", "client");
    assert.deepEqual(h.send("c", hello(1)), []);
    assert.deepEqual(h.send("c", ping()).map((s) => s.message), [PONG]);
  });

  it("a CONFIRM with a tracker before OPEN is still out of state (ERROR 500)", () => {
    const h = new Harness();
    assert.deepEqual(h.send("c", confirm("t1")).map((s) => s.message), [INVALID]);
  });

  it("NO_MAILBOX_CONFIRMS: no CONFIRM route for tracked mailbox deliveries to that connection", () => {
    const h = new Harness({ limits: { pendingConfirms: 2 } });
    h.send("rpc", hello(HelloFlag.NO_MAILBOX_CONFIRMS));
    h.open("rpc", "rpc-client");
    h.open("w", "worker");
    for (let i = 0; i < 5; i++) assert.equal(h.send("w", mail("rpc-client", "reply", "r", `call-${i}`)).length, 1);
    assert.deepEqual(h.send("rpc", confirm("call-4")), [], "no route was kept: the CONFIRM goes nowhere");
    // Without the flag the route is kept and the CONFIRM is forwarded.
    h.hello("plain");
    h.open("plain", "plain");
    h.send("w", mail("plain", "reply", "r", "t-plain"));
    assert.deepEqual(messages(h.send("plain", confirm("t-plain"))), [["w", { type: "CONFIRM", tracker: "t-plain", code: 200, reason: "" }]]);
  });

  it("NO_MAILBOX_CONFIRMS leaves the sender's failure CONFIRMs alone", () => {
    const h = new Harness({ limits: { mailboxMessages: 1 } });
    h.send("rpc", hello(HelloFlag.NO_MAILBOX_CONFIRMS));
    h.open("w", "worker");
    h.send("w", mail("rpc-client", "reply", "a", "t1"));
    assert.deepEqual(messages(h.send("w", mail("rpc-client", "reply", "b", "t2"))), [
      ["w", { type: "CONFIRM", tracker: "t2", code: ConfirmStatus.LIMIT, reason: "mailbox full" }],
    ]);
  });

  it("a repeated HELLO replaces the flags; reserved bits are ignored", () => {
    const h = new Harness();
    h.send("rpc", hello(HelloFlag.NO_MAILBOX_CONFIRMS | 0x8000));
    h.send("rpc", hello(0x8000));
    h.open("rpc", "rpc-client");
    h.open("w", "worker");
    h.send("w", mail("rpc-client", "reply", "r", "t1"));
    assert.equal(h.send("rpc", confirm("t1")).length, 1, "the route is kept again");
  });
});

describe("broker core: WITHDRAW (docs/mlm-extensions.md §2)", () => {
  it("a queued request is removed and confirmed 305 to its sender; it is never delivered", () => {
    const h = new Harness();
    h.open("c", "client");
    h.send("c", request("svc", "s", "x", "call-1"));
    h.send("c", request("svc", "s", "y", "call-2"));
    assert.deepEqual(messages(h.send("c", withdraw("call-1"))), [["c", WITHDRAWN("call-1")]]);
    assert.equal(h.core.stats().counters.withdrawn, 1);
    h.open("w", "worker");
    assert.deepEqual(subjects(h.send("w", { type: "SERVICE_OFFER", address: "svc", pattern: ".*" }).slice(1)), ["s"]);
    assert.equal(h.core.stats().held, 0);
  });

  it("is matched by sender: another client's 305 with the same tracker is an ordinary CONFIRM", () => {
    const h = new Harness();
    h.open("c", "client");
    h.open("m", "mallory");
    h.send("c", request("svc", "s", "x", "call-1"));
    assert.deepEqual(h.send("m", withdraw("call-1")), []);
    assert.equal(h.core.stats().services[0]?.queued, 1);
  });

  it("a named sender that reconnected withdraws what it sent on its previous connection", () => {
    const h = new Harness();
    h.open("c1", "client");
    h.send("c1", request("svc", "s", "x", "call-1"));
    h.disconnect("c1");
    h.open("c2", "client");
    assert.deepEqual(messages(h.send("c2", withdraw("call-1"))), [["c2", WITHDRAWN("call-1")]]);
  });

  it("an anonymous sender is matched by its connection", () => {
    const h = new Harness();
    h.open("a1", "");
    h.open("a2", "");
    h.send("a1", request("svc", "s", "x", "call-1"));
    assert.deepEqual(h.send("a2", withdraw("call-1")), []);
    assert.deepEqual(messages(h.send("a1", withdraw("call-1"))), [["a1", WITHDRAWN("call-1")]]);
  });

  it("in flight at a credit-aware worker: it stays there, and is dropped with 305 (not requeued) if the worker leaves", () => {
    const h = new Harness();
    h.worker("w1", "w1", "svc", 1);
    h.open("c", "client");
    assert.deepEqual(h.send("c", request("svc", "s", "x", "call-1")).map((s) => s.conn), ["w1"]);
    assert.deepEqual(h.send("c", withdraw("call-1")), [], "nothing is sent while the worker holds it");
    h.worker("w2", "w2", "svc", 1);
    assert.deepEqual(messages(h.disconnect("w1")), [["c", WITHDRAWN("call-1")]]);
    assert.equal(h.core.stats().counters.requeued, 0);
    assert.equal(h.core.stats().held, 0);
  });

  it("in flight and then confirmed by the worker: the worker's CONFIRM is forwarded as usual", () => {
    const h = new Harness();
    h.worker("w1", "w1", "svc", 1);
    h.open("c", "client");
    h.send("c", request("svc", "s", "x", "call-1"));
    h.send("c", withdraw("call-1"));
    assert.deepEqual(messages(h.send("w1", confirm("call-1"))), [["c", { type: "CONFIRM", tracker: "call-1", code: 200, reason: "" }]]);
    assert.deepEqual(h.disconnect("w1"), []);
    assert.equal(h.core.stats().held, 0);
  });

  it("unknown or already delivered to a C worker: nothing is sent, handled as an ordinary CONFIRM", () => {
    const h = new Harness();
    h.worker("w", "w", "svc");
    h.open("c", "client");
    h.send("c", request("svc", "s", "x", "call-1"));
    assert.deepEqual(h.send("c", withdraw("call-1")), []);
    assert.deepEqual(h.send("c", withdraw("nothing")), []);
    assert.deepEqual(h.send("c", ping()).map((s) => s.message), [PONG]);
  });

  it("a 305 from a recipient for its delivery is still forwarded to the sender", () => {
    const h = new Harness();
    h.open("a", "alice");
    h.hello("b");
    h.open("b", "bob");
    h.send("a", mail("bob", "s", "x", "t1"));
    assert.deepEqual(messages(h.send("b", confirm("t1", 305, "gave up"))), [
      ["a", { type: "CONFIRM", tracker: "t1", code: 305, reason: "gave up" }],
    ]);
  });

  it("the index stays consistent on every path (deliver, settle, expire, requeue, withdraw, limits, shutdown)", () => {
    // A seeded random walk over the operations that add or remove held requests; after each
    // step the index holds exactly the tracked requests queued or in flight.
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const h = new Harness({ timeout: 0, limits: { serviceQueueMessages: 20, pendingConfirms: 5, inflightBytes: 8 } });
    const clients = ["c0", "c1", ""];
    h.open("c0", "c0");
    h.open("c1", "c1");
    h.open("anon", "");
    const workers = new Set<string>();
    const sent: [string, string][] = [];
    let nextWorker = 0;
    for (let step = 0; step < 3000; step++) {
      const op = random(9);
      if (op <= 2) {
        const from = clients[random(3)] === "" ? "anon" : `c${random(2)}`;
        const tracker = `t${random(40)}`;
        h.send(from, request(`svc${random(2)}`, "s", "x", tracker, random(3) === 0 ? 0 : 1 + random(50)));
        sent.push([from, tracker]);
      } else if (op === 3 && sent.length > 0) {
        const [from, tracker] = sent[random(sent.length)] as [string, string];
        h.send(from, withdraw(tracker));
      } else if (op === 4) {
        const w = `w${nextWorker++}`;
        h.open(w, w);
        h.send(w, { type: "SERVICE_OFFER", address: `svc${random(2)}`, pattern: ".*" });
        if (random(3) > 0) h.send(w, credit(1 + random(3)));
        workers.add(w);
      } else if (op === 5 && workers.size > 0) {
        const w = [...workers][random(workers.size)] as string;
        h.disconnect(w);
        workers.delete(w);
      } else if (op === 6 && workers.size > 0) {
        const w = [...workers][random(workers.size)] as string;
        h.send(w, confirm(`t${random(40)}`));
        if (random(2) === 0) h.send(w, credit(1));
      } else if (op === 7) {
        h.advance(1 + random(20));
      } else if (op === 8 && random(10) === 0) {
        h.disconnect(`c${random(2)}`);
        h.open(`c${random(2)}`, `c${random(2)}`);
      }
      const stats = h.core.stats();
      const holding = stats.services.reduce((n, s) => n + s.queued + s.inflight, 0);
      assert.equal(stats.held, holding, `step ${step}: index ${stats.held}, held ${holding}`);
    }
    assert.ok(h.core.stats().counters.withdrawn > 0 && h.core.stats().counters.requeued > 0, "the walk reached withdraw and requeue");
    for (const w of workers) h.disconnect(w);
    h.advance(100);
    const services = h.core.stats().services.reduce((n, s) => n + s.queued + s.inflight, 0);
    assert.equal(h.core.stats().held, services);
    h.shutdown();
  });
});

void OK;

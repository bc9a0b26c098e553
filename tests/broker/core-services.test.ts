import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfirmStatus } from "../../src/broker/status.ts";
import { close, confirm, credit, Harness, mail, offer, request, subjects, utf8 } from "./harness.ts";
import type { Sent } from "./harness.ts";

function conns(out: Sent[]): string[] {
  return out.map((s) => s.conn);
}

describe("broker core: services (mlm-protocol §8, design §3)", () => {
  it("SERVICE-SEND goes to a matching worker as SERVICE-DELIVER(sender, service, subject, tracker)", () => {
    const h = new Harness();
    h.worker("w", "worker", "echo");
    h.open("c", "client");
    const body = utf8.encode("ping");
    const out = h.send("c", { type: "SERVICE_SEND", address: "echo", subject: "say", tracker: "call-1", timeout: 0, content: [body] });
    assert.deepEqual(out.map((s) => [s.conn, s.message]), [
      ["w", { type: "SERVICE_DELIVER", sender: "client", address: "echo", subject: "say", tracker: "call-1", content: [body] }],
    ]);
    assert.equal(out[0]?.frames[1], body);
  });

  it("offers carry patterns: a request goes only to a worker whose pattern matches the subject", () => {
    const h = new Harness();
    h.open("wa", "a");
    h.ok("wa", offer("svc", "^alpha"));
    h.open("wb", "b");
    h.ok("wb", offer("svc", "^beta"));
    h.open("c", "client");
    assert.deepEqual(conns(h.send("c", request("svc", "beta.1", "x"))), ["wb"]);
    assert.deepEqual(conns(h.send("c", request("svc", "alpha.1", "x"))), ["wa"]);
    assert.deepEqual(h.send("c", request("svc", "gamma", "x")), [], "no match: queued");
    assert.equal(h.core.stats().services[0]?.queued, 1);
  });

  it("requests are dispatched fairly (round robin) among matching workers", () => {
    const h = new Harness();
    for (const w of ["w1", "w2", "w3"]) {
      h.open(w, w);
      h.ok(w, offer("svc", ".*"));
    }
    h.open("c", "client");
    const got: string[] = [];
    for (let i = 0; i < 6; i++) got.push(...conns(h.send("c", request("svc", "s", "x"))));
    assert.deepEqual(got, ["w1", "w2", "w3", "w1", "w2", "w3"]);
  });

  it("a worker with two matching offers still gets one turn per round", () => {
    const h = new Harness();
    h.open("w1", "w1");
    h.ok("w1", offer("svc", "a"));
    h.ok("w1", offer("svc", ".*"));
    h.worker("w2", "w2", "svc");
    h.open("c", "client");
    const got: string[] = [];
    for (let i = 0; i < 4; i++) got.push(...conns(h.send("c", request("svc", "a", "x"))));
    assert.deepEqual(got, ["w1", "w2", "w1", "w2"]);
  });

  it("requests wait in a queue when there is no worker, then go out in order on SERVICE-OFFER (after its OK)", () => {
    const h = new Harness();
    h.open("c", "client");
    for (let i = 0; i < 3; i++) h.send("c", request("svc", `r${i}`, "x"));
    assert.deepEqual(h.core.stats().services, [{ name: "svc", workers: 0, queued: 3, bytes: 3, inflight: 0 }]);
    h.open("w", "worker");
    const out = h.send("w", offer("svc", ".*"));
    assert.equal(out[0]?.message.type, "OK");
    assert.deepEqual(subjects(out.slice(1)), ["r0", "r1", "r2"]);
  });

  it("a queued request honours its timeout: CONFIRM 301 to the tracked requester", () => {
    const h = new Harness({ timeout: 0 });
    h.open("c", "client");
    h.send("c", request("svc", "s", "x", "call-7", 1000));
    assert.deepEqual(h.advance(1000).map((s) => [s.conn, s.message]), [
      ["c", { type: "CONFIRM", tracker: "call-7", code: ConfirmStatus.EXPIRED, reason: "expired" }],
    ]);
    assert.deepEqual(h.core.stats().services, [], "the empty service is reclaimed");
    h.open("w", "worker");
    assert.equal(h.send("w", offer("svc", ".*")).length, 1, "nothing left to dispatch");
  });

  it("service queue limits: requests beyond the count limit get CONFIRM 302", () => {
    const h = new Harness({ limits: { serviceQueueMessages: 2 } });
    h.open("c", "client");
    const out: Sent[] = [];
    for (let i = 0; i < 4; i++) out.push(...h.send("c", request("svc", "s", "x", `t${i}`)));
    assert.deepEqual(out.map((s) => s.message), [
      { type: "CONFIRM", tracker: "t2", code: ConfirmStatus.LIMIT, reason: "service queue full" },
      { type: "CONFIRM", tracker: "t3", code: ConfirmStatus.LIMIT, reason: "service queue full" },
    ]);
  });

  it("service queue limits: by bytes", () => {
    const h = new Harness({ limits: { serviceQueueBytes: 5 } });
    h.open("c", "client");
    assert.deepEqual(h.send("c", request("svc", "s", "12345", "t0")), []);
    assert.equal((h.send("c", request("svc", "s", "1", "t1"))[0]?.message as { code: number }).code, ConfirmStatus.LIMIT);
  });

  it("a worker that has sent CREDIT only gets requests while it has credit", () => {
    const h = new Harness();
    h.worker("w", "worker", "svc", 2);
    h.open("c", "client");
    const got: string[] = [];
    for (let i = 0; i < 4; i++) got.push(...subjects(h.send("c", request("svc", `r${i}`, "x"))));
    assert.deepEqual(got, ["r0", "r1"]);
    assert.equal(h.core.stats().services[0]?.queued, 2);
    assert.deepEqual(subjects(h.send("w", credit(1))), ["r2"]);
    assert.deepEqual(subjects(h.send("w", credit(9))), ["r3"]);
  });

  it("requests skip workers without credit and go to one that has credit", () => {
    const h = new Harness();
    h.worker("busy", "busy", "svc", 0);
    h.worker("free", "free", "svc");
    h.open("c", "client");
    assert.deepEqual(conns(h.send("c", request("svc", "s", "x"))), ["free"]);
    assert.deepEqual(conns(h.send("c", request("svc", "s", "x"))), ["free"]);
  });

  it("a tracked request to a credit-aware worker stays in flight until the worker CONFIRMs; the CONFIRM reaches the requester", () => {
    const h = new Harness();
    h.worker("w", "worker", "svc", 10);
    h.open("c", "client");
    h.send("c", request("svc", "s", "x", "call-1"));
    assert.equal(h.core.stats().services[0]?.inflight, 1);
    const out = h.send("w", confirm("call-1", 200, ""));
    assert.deepEqual(out.map((s) => [s.conn, s.message]), [
      ["c", { type: "CONFIRM", tracker: "call-1", code: 200, reason: "" }],
    ]);
    assert.equal(h.core.stats().services[0]?.inflight, 0);
    h.disconnect("w");
    assert.deepEqual(h.core.stats().services, [], "a confirmed request is not requeued");
  });

  it("if the worker disconnects before CONFIRM, the request goes back to the head of the queue and to another worker", () => {
    const h = new Harness();
    h.worker("w1", "w1", "svc", 1);
    h.open("c", "client");
    h.send("c", request("svc", "first", "x", "t-first"));
    h.send("c", request("svc", "second", "x", "t-second"));
    assert.equal(h.core.stats().services[0]?.queued, 1);
    h.disconnect("w1");
    assert.equal(h.core.stats().services[0]?.queued, 2);
    assert.equal(h.core.stats().counters.requeued, 1);
    h.open("w2", "w2");
    const out = h.send("w2", offer("svc", ".*"));
    assert.deepEqual(subjects(out.slice(1)), ["first", "second"]);
    assert.equal((out[1]?.message as { tracker: string }).tracker, "t-first");
  });

  it("if the worker expires before CONFIRM, the request is requeued and goes to the next worker at once", () => {
    const h = new Harness({ timeout: 1000 });
    h.worker("w1", "w1", "svc", 5);
    h.worker("w2", "w2", "svc", 5);
    h.open("c", "client");
    assert.deepEqual(conns(h.send("c", request("svc", "job", "x", "t1"))), ["w1"]);
    h.now += 600;
    h.send("w2", { type: "CONNECTION_PING" });
    h.send("c", { type: "CONNECTION_PING" });
    const out = h.advance(400);
    assert.deepEqual(out.map((s) => [s.conn, subjects([s])[0]]), [["w2", "job"]]);
  });

  it("a worker that closes (CONNECTION-CLOSE) before CONFIRM has its request requeued", () => {
    const h = new Harness();
    h.worker("w1", "w1", "svc", 5);
    h.open("c", "client");
    h.send("c", request("svc", "job", "x", "t1"));
    h.send("w1", close());
    assert.equal(h.core.stats().services[0]?.queued, 1);
  });

  it("C workers never CONFIRM: for them delivery counts as done and nothing is requeued", () => {
    const h = new Harness();
    h.worker("w", "cworker", "svc");
    h.open("c", "client");
    h.send("c", request("svc", "job", "x", "t1"));
    assert.equal(h.core.stats().services[0]?.inflight, 0);
    h.disconnect("w");
    assert.deepEqual(h.core.stats().services, []);
    assert.equal(h.core.stats().counters.requeued, 0);
  });

  it("untracked requests are fire-and-forget even for credit-aware workers", () => {
    const h = new Harness();
    h.worker("w", "worker", "svc", 5);
    h.open("c", "client");
    h.send("c", request("svc", "job", "x"));
    h.disconnect("w");
    assert.deepEqual(h.core.stats().services, []);
  });

  it("a requeued request whose timeout already passed expires with CONFIRM 301 instead", () => {
    const h = new Harness({ timeout: 0 });
    h.worker("w", "worker", "svc", 5);
    h.open("c", "client");
    h.send("c", request("svc", "job", "x", "t1", 100));
    h.now += 200;
    const out = h.disconnect("w");
    assert.deepEqual(out.map((s) => [s.conn, s.message]), [
      ["c", { type: "CONFIRM", tracker: "t1", code: ConfirmStatus.EXPIRED, reason: "expired" }],
    ]);
  });

  it("a request in flight does not expire while the worker holds it", () => {
    const h = new Harness({ timeout: 0 });
    h.worker("w", "worker", "svc", 5);
    h.open("c", "client");
    h.send("c", request("svc", "job", "x", "t1", 100));
    assert.deepEqual(h.advance(1000), []);
    assert.equal(h.send("w", confirm("t1")).length, 1);
  });

  it("a worker that replies by MAILBOX-SEND reaches the requester's mailbox", () => {
    const h = new Harness();
    h.worker("w", "worker", "svc");
    h.open("c", "client");
    const req = h.send("c", request("svc", "job", "x", "t1"));
    const sender = (req[0]?.message as { sender: string }).sender;
    const reply = h.send("w", mail(sender, "job", "done", "t1"));
    assert.deepEqual(reply.map((s) => [s.conn, s.message.type]), [["c", "MAILBOX_DELIVER"]]);
  });

  it("an idle service (no offers, no queue, nothing in flight) is reclaimed", () => {
    const h = new Harness();
    h.worker("w", "worker", "svc");
    h.open("c", "client");
    h.send("c", request("svc", "s", "x"));
    h.send("w", close());
    assert.deepEqual(h.core.stats().services, []);
  });
});

describe("broker core: in-flight bounds", () => {
  it("a credit-aware worker that never confirms holds at most inflightBytes; the oldest count as done", () => {
    const h = new Harness({ limits: { inflightBytes: 10 } });
    h.worker("w", "worker", "svc", 10);
    h.open("c", "client");
    h.send("c", request("svc", "first", "12345678", "t1"));
    h.send("c", request("svc", "second", "12345678", "t2"));
    assert.equal(h.core.stats().services[0]?.inflight, 1);
    h.disconnect("w");
    assert.equal(h.core.stats().counters.requeued, 1);
    h.open("w2", "worker2");
    assert.deepEqual(subjects(h.send("w2", offer("svc", ".*")).slice(1)), ["second"]);
  });

  it("a CONFIRM for a request that counted as done is still forwarded to the requester", () => {
    const h = new Harness({ limits: { inflightBytes: 1 } });
    h.worker("w", "worker", "svc", 10);
    h.open("c", "client");
    h.send("c", request("svc", "big", "12345678", "t1"));
    assert.deepEqual(h.send("w", confirm("t1")).map((s) => s.conn), ["c"]);
  });
});

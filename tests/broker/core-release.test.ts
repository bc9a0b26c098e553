// The `release` action: which received content the core lets go of, and when. The Harness
// checks the contract in every scenario (last action, once per frame, never sent again);
// these tests check that content is released exactly when the core no longer needs it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { MlmMessage } from "../../src/proto/mod.ts";
import { confirm, credit, Harness, offer, read, utf8, write } from "./harness.ts";

/** A message carrying one fresh content frame, returned alongside so tests can follow it. */
function withBody<M extends MlmMessage>(build: (content: Uint8Array[]) => M): [M, Uint8Array] {
  const body = utf8.encode("payload");
  return [build([body]), body];
}

const serviceSend = (tracker: string, timeout = 0) =>
  withBody((content) => ({ type: "SERVICE_SEND", address: "svc", subject: "s", tracker, timeout, content }) as const);
const mailboxSend = (address: string, tracker = "", timeout = 0) =>
  withBody((content) => ({ type: "MAILBOX_SEND", address, subject: "m", tracker, timeout, content }) as const);

describe("broker core: release of received content", () => {
  it("a tracked request to a credit-aware worker is released on CONFIRM, not on delivery", () => {
    const h = new Harness();
    h.worker("w", "worker", "svc", 10);
    h.open("c", "client");
    const [msg, body] = serviceSend("t1");
    assert.equal(h.send("c", msg).length, 1);
    assert.equal(h.released.has(body), false, "in flight: kept for a requeue");
    h.send("w", confirm("t1"));
    assert.equal(h.released.has(body), true);
  });

  it("a worker's death requeues without releasing; the next worker's CONFIRM releases once", () => {
    const h = new Harness();
    h.worker("w1", "w1", "svc", 10);
    h.open("c", "client");
    const [msg, body] = serviceSend("t1");
    h.send("c", msg);
    h.disconnect("w1");
    assert.equal(h.released.has(body), false);
    h.open("w2", "w2");
    h.send("w2", credit(10));
    const out = h.send("w2", offer("svc", ".*"));
    assert.ok(out.some((s) => s.message.type === "SERVICE_DELIVER" && s.frames.includes(body)), "requeued request delivered");
    h.send("w2", confirm("t1"));
    assert.equal(h.released.has(body), true);
  });

  it("an untracked request, or any request to a C worker (no CREDIT), is released when delivered", () => {
    const h = new Harness();
    h.worker("w", "worker", "svc");
    h.open("c", "client");
    const [untracked, a] = serviceSend("");
    const [tracked, b] = serviceSend("t2");
    h.send("c", untracked);
    h.send("c", tracked);
    assert.equal(h.released.has(a), true);
    assert.equal(h.released.has(b), true);
  });

  it("a queued request is kept until delivered; an expired one is released", () => {
    const h = new Harness();
    h.open("c", "client");
    const [keep, a] = serviceSend("", 0);
    const [expire, b] = serviceSend("t", 100);
    h.send("c", keep);
    h.send("c", expire);
    assert.equal(h.released.size, 0);
    h.advance(200);
    assert.equal(h.released.has(b), true);
    assert.equal(h.released.has(a), false);
    h.open("w", "worker");
    h.send("w", offer("svc", ".*")); // OK, then the queued request
    assert.equal(h.released.has(a), true);
  });

  it("mail: released after immediate delivery; a stored message after its drain; an expired one at expiry", () => {
    const h = new Harness();
    h.open("r", "reader");
    h.open("s", "sender");
    const [now, a] = mailboxSend("reader");
    h.send("s", now);
    assert.equal(h.released.has(a), true);
    const [later, b] = mailboxSend("offline");
    const [expiring, c] = mailboxSend("offline2", "t", 50);
    h.send("s", later);
    h.send("s", expiring);
    assert.equal(h.released.has(b), false);
    h.advance(100);
    assert.equal(h.released.has(c), true);
    const drained = h.open("o", "offline");
    assert.ok(drained[0]?.frames.includes(b));
    assert.equal(h.released.has(b), true);
  });

  it("mail refused by a full mailbox is released at once", () => {
    const h = new Harness({ limits: { mailboxMessages: 1 } });
    h.open("s", "sender");
    const [first, a] = mailboxSend("away");
    const [second, b] = mailboxSend("away", "t");
    h.send("s", first);
    h.send("s", second);
    assert.equal(h.released.has(a), false, "stored");
    assert.equal(h.released.has(b), true, "refused");
  });

  it("stream content is released after fan-out, but kept while a reader without credit buffers it", () => {
    const h = new Harness();
    h.open("p", "producer");
    h.ok("p", write("news"));
    h.open("r", "reader");
    h.ok("r", read("news", ".*"));
    const publish = () => withBody((content) => ({ type: "STREAM_SEND", subject: "x", content }) as const);
    const [sent, a] = publish();
    h.send("p", sent);
    assert.equal(h.released.has(a), true);
    h.open("slow", "slow");
    h.send("slow", credit(0));
    h.ok("slow", read("news", ".*"));
    const [held, b] = publish();
    h.send("p", held);
    assert.equal(h.released.has(b), false, "buffered for the reader without credit");
  });
});

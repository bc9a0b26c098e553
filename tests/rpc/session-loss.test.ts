// The RPC client against a scripted broker: HELLO flags, calls in flight across a lost session,
// and what a cancel before any ack sends.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import Type from "typebox";
import type { ServiceSend, StreamSend } from "../../src/proto/mod.ts";
import { callIdOfCancel, cancelPattern, cancelSubject, escapePattern } from "../../src/rpc/wire/cancel-subject.ts";
import { connect } from "../../src/rpc/client/client.ts";
import { defineService } from "../../src/rpc/contract.ts";
import { encodeHeader, envelopeFrames } from "../../src/rpc/wire/envelope.ts";
import { serve } from "../../src/rpc/worker/worker.ts";
import { compilePattern } from "../../src/broker/pattern.ts";
import { inproc } from "../../src/transport/inproc.ts";
import { FakeBroker, hex, isHello, nextEvent, type Received, sleep } from "../client/fixtures/fake-broker.ts";
import { rejection, until, closer } from "./harness.ts";

const svc = defineService("lossy", {
  run: { input: Type.Object({ n: Type.Integer() }), output: Type.Object({ n: Type.Integer() }) },
});

const sends = (b: FakeBroker): Received[] => b.received.filter((r) => r.message.type === "SERVICE_SEND");
const result = (n: number) => envelopeFrames({ kind: "result" }, { n });

/** The broker forgets `peer`: its next PING gets ERROR 500 (as C and ours answer a stranger). */
function forget(b: FakeBroker, peer: Uint8Array): void {
  const key = hex(peer);
  b.handle = (broker, r) => {
    if (hex(r.peer) === key && r.message.type === "CONNECTION_PING") {
      broker.reply(r.peer, { type: "ERROR", code: 500, reason: "" });
      return;
    }
    return "default";
  };
}

describe("rpc client against a scripted broker", () => {
  let broker: FakeBroker;
  const { own, closeAll } = closer();
  beforeEach(async () => {
    broker = await FakeBroker.start();
  });
  afterEach(async () => {
    await closeAll();
    await broker.close();
  });

  it("RPC clients and a worker's control connection ask for NO_MAILBOX_CONFIRMS; a worker's call connection does not; none asks for STORED_CONFIRMS", async () => {
    own(await connect(broker.endpoint, { svc }, { transport: inproc, address: "caller" }));
    own(await serve(broker.endpoint, svc, { run: ({ n }) => Promise.resolve({ n }) }, { transport: inproc, address: "w-control" }));
    const flags = broker.received.filter(isHello).map((r) => (r.message as { code: number }).code);
    assert.deepEqual(flags, [1, 1, 0]);
  });

  it("a call in flight when the session is lost is sent again after the re-open, same call id; a duplicate result is ignored", async () => {
    const client = own(await connect(broker.endpoint, { svc }, { transport: inproc, address: "caller", mlm: { heartbeat: 10 } }));
    const call = client.svc.run({ n: 7 }, { timeout: 10_000 });
    const first = await broker.waitFor((r) => r.message.type === "SERVICE_SEND", "the call");
    const back = nextEvent(client.mlm, "connected");
    forget(broker, first.peer);
    await back;
    await until(() => sends(broker).length === 2, "the call to be sent again");
    const [a, b] = sends(broker).map((r) => r.message as ServiceSend) as [ServiceSend, ServiceSend];
    assert.equal(b.tracker, a.tracker);
    assert.ok(b.timeout <= a.timeout);
    const peer = broker.received.filter((r) => r.message.type === "CONNECTION_OPEN").at(-1)!.peer;
    broker.reply(peer, { type: "MAILBOX_DELIVER", sender: "w", address: "caller", subject: "result", tracker: a.tracker, content: result(7) });
    broker.reply(peer, { type: "MAILBOX_DELIVER", sender: "w", address: "caller", subject: "result", tracker: a.tracker, content: result(8) });
    assert.deepEqual(await call, { n: 7 });
    await until(() => client.stats().stale === 1, "the duplicate to be ignored");
    assert.equal(client.stats().resent, 1);
  });

  it("resendOnReconnect: false fails calls in flight with RPC_UNAVAILABLE when the session is lost; later calls go out", async () => {
    const client = own(await connect(broker.endpoint, { svc }, { transport: inproc, resendOnReconnect: false, mlm: { heartbeat: 10 } }));
    const call = rejection(client.svc.run({ n: 1 }, { timeout: 10_000 }));
    const first = await broker.waitFor((r) => r.message.type === "SERVICE_SEND", "the call");
    forget(broker, first.peer);
    const error = await call;
    assert.equal(error.code, "RPC_UNAVAILABLE");
    assert.match(error.message, /session with the broker was lost/);
    await nextEvent(client.mlm, "connected");
    assert.equal(sends(broker).length, 1);
    void client.svc.run({ n: 2 }, { timeout: 10_000 }).catch(() => {});
    await until(() => sends(broker).length === 2, "a new call");
  });

  it("a call whose deadline passes before any ack sends no cancel; one cancelled before any ack is withdrawn and cancelled on <service>/<id>", async () => {
    const client = own(await connect(broker.endpoint, { svc }, { transport: inproc }));
    assert.equal((await rejection(client.svc.run({ n: 1 }, { timeout: 30 }))).code, "RPC_DEADLINE_EXCEEDED");
    await sleep(20);
    assert.equal(broker.ofType("STREAM_SEND").length, 0, "an expired call sent a cancel");
    const controller = new AbortController();
    const call = rejection(client.svc.run({ n: 2 }, { signal: controller.signal, timeout: 10_000 }));
    const sent = (await broker.waitForNth("SERVICE_SEND", 2)).message as ServiceSend;
    controller.abort();
    assert.equal((await call).code, "RPC_CANCELLED");
    const cancel = (await broker.waitFor((r) => r.message.type === "STREAM_SEND", "the cancel")).message as StreamSend;
    assert.equal(cancel.subject, `lossy/${sent.tracker}`);
    const withdraw = await broker.waitFor((r) => r.message.type === "CONFIRM" && r.message.code === 305, "the WITHDRAW");
    assert.equal((withdraw.message as { tracker: string }).tracker, sent.tracker);
    assert.equal(client.stats().withdrawn, 1);
  });

  it("after an ack, a deadline still sends a direct cancel to the worker", async () => {
    const client = own(await connect(broker.endpoint, { svc }, { transport: inproc, address: "caller" }));
    const call = rejection(client.svc.run({ n: 1 }, { timeout: 100 }));
    const sent = await broker.waitFor((r) => r.message.type === "SERVICE_SEND", "the call");
    const tracker = (sent.message as ServiceSend).tracker;
    broker.reply(sent.peer, { type: "MAILBOX_DELIVER", sender: "w1", address: "caller", subject: "ack", tracker, content: [encodeHeader({ kind: "ack", worker: "w1" })] });
    assert.equal((await call).code, "RPC_DEADLINE_EXCEEDED");
    const cancel = await broker.waitFor((r) => r.message.type === "MAILBOX_SEND", "the direct cancel");
    assert.equal((cancel.message as { address: string }).address, "w1");
    assert.equal(broker.ofType("STREAM_SEND").length, 0);
  });
});

describe("cancel subjects", () => {
  it("are <service>/<call id>; a worker's pattern selects its own service only, metacharacters escaped", () => {
    for (const service of ["qwen3vl", "a.b", "x+(y)|[z]^$*?\\"]) {
      const pattern = compilePattern(cancelPattern(service));
      assert.ok(pattern.valid, `${service}: ${pattern.error}`);
      assert.ok(pattern.matches(cancelSubject(service, "k3.1")), service);
      assert.equal(callIdOfCancel(service, cancelSubject(service, "k3.1")), "k3.1");
    }
    assert.equal(compilePattern(cancelPattern("a.b")).matches("axb/k3.1"), false);
    assert.equal(compilePattern(cancelPattern("a")).matches("ab/k3.1"), false);
    assert.equal(compilePattern(cancelPattern("svc")).matches("other/svc/k3.1"), false);
    assert.equal(callIdOfCancel("svc", "svcx/1"), "");
    assert.equal(callIdOfCancel("svc", "svc/"), "");
    assert.equal(escapePattern("a.b"), "a\\.b");
  });
});

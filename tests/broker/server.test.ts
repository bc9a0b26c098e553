// The broker driven with raw MLM frames over real transports (inproc and ZMTP/TCP): every
// row of mlm-protocol.md §4 (start, connected, defaults) and design.md §3.
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startBroker } from "../../src/broker/server.ts";
import type { Broker, BrokerOptions } from "../../src/broker/server.ts";
import { ADMIN_SERVICE, ConfirmStatus } from "../../src/broker/status.ts";
import { ADDRESS_TAKEN } from "../../src/proto/mod.ts";
import type { MlmMessage } from "../../src/proto/mod.ts";
import { inproc } from "../../src/transport/inproc.ts";
import type { Transport } from "../../src/transport/types.ts";
import { zmtp } from "../../src/transport/zmtp.ts";
import { RawClient, until } from "./raw-client.ts";
import { utf8 } from "./harness.ts";

const OK = { type: "OK", code: 200, reason: "" };
const INVALID = { type: "ERROR", code: 500, reason: "" };

const mail = (address: string, subject: string, body: string, tracker = "", timeout = 0): MlmMessage => ({
  type: "MAILBOX_SEND", address, subject, tracker, timeout, content: [utf8.encode(body)],
});
const request = (address: string, subject: string, body: string, tracker = "", timeout = 0): MlmMessage => ({
  type: "SERVICE_SEND", address, subject, tracker, timeout, content: [utf8.encode(body)],
});
const publish = (subject: string, body: string): MlmMessage => ({ type: "STREAM_SEND", subject, content: [utf8.encode(body)] });

let inprocCounter = 0;
const transports: [string, Transport, () => string][] = [
  ["inproc", inproc, () => `inproc://broker-server-test-${process.pid}-${++inprocCounter}`],
  ["tcp", zmtp, () => "tcp://127.0.0.1:0"],
];

for (const [name, transport, endpoint] of transports) {
  describe(`broker server over ${name}: mlm-protocol §4 and design §3`, () => {
    let broker: Broker | undefined;
    const clients: RawClient[] = [];

    async function start(options: Partial<BrokerOptions> = {}): Promise<Broker> {
      broker = await startBroker({ endpoints: [endpoint()], transport, ...options });
      return broker;
    }
    function client(): RawClient {
      const c = new RawClient(transport, (broker as Broker).endpoints[0] as string);
      clients.push(c);
      return c;
    }

    afterEach(async () => {
      await Promise.all(clients.splice(0).map((c) => c.close()));
      await broker?.close();
      broker = undefined;
    });

    it("binds and reports the bound endpoint", async () => {
      const b = await start();
      assert.equal(b.endpoints.length, 1);
      if (name === "tcp") assert.match(b.endpoints[0] as string, /^tcp:\/\/127\.0\.0\.1:[1-9]\d*$/);
    });

    // ---- §4.1 start
    it("start: CONNECTION-OPEN → OK 200, then the stored mailbox messages", async () => {
      await start();
      const a = client();
      await a.open("alice");
      a.send(mail("bob", "m1", "x", "t1"));
      a.send(mail("bob", "m2", "x", "t2"));
      await a.expectOnlyPong();
      const b = client();
      b.send({ type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address: "bob" });
      assert.deepEqual(await b.next(), OK);
      const d1 = await b.next();
      const d2 = await b.next();
      assert.deepEqual([d1, d2].map((m) => (m as { subject: string; tracker: string }).subject), ["m1", "m2"]);
      assert.equal((d2 as { tracker: string }).tracker, "t2");
    });

    it("start: CONNECTION-CLOSE → OK and the broker stays up", async () => {
      await start();
      const a = client();
      a.send({ type: "CONNECTION_CLOSE" });
      assert.deepEqual(await a.next(), OK);
      const b = client();
      await b.open("b");
      await b.expectOnlyPong();
    });

    it("start: any other message → ERROR 500, the connection can still open", async () => {
      await start();
      const a = client();
      a.send({ type: "STREAM_WRITE", stream: "s" });
      assert.deepEqual(await a.next(), INVALID);
      a.send({ type: "CONNECTION_PING" });
      assert.deepEqual(await a.next(), INVALID);
      await a.open("a");
      await a.expectOnlyPong();
    });

    it("start and connected: expired → context dropped and connection closed, no message; the next PING gets ERROR 500", async () => {
      const b = await start({ timeout: 150 });
      const a = client();
      await a.open("a");
      let lost = false;
      a.dealer.on("disconnect", () => (lost = true));
      const idle = client();
      idle.send({ type: "CONNECTION_PING" });
      assert.deepEqual(await idle.next(), INVALID);
      await until(() => b.stats().connections === 0, "both contexts to expire");
      // Expiry closes the connection (issue 14 item 4); the DEALER reconnects to a fresh context.
      await until(() => lost, "the expired connection to close");
      a.send({ type: "CONNECTION_PING" });
      assert.deepEqual(await a.next(), INVALID, "no message was sent on expiry, the PING is answered first");
    });

    // ---- §4.2 connected
    it("connected: STREAM-WRITE, STREAM-READ → OK; STREAM-SEND → STREAM-DELIVER to readers; STREAM-CANCEL → OK and stops", async () => {
      await start();
      const p = client();
      await p.open("producer");
      await p.ok({ type: "STREAM_WRITE", stream: "weather" });
      const r = client();
      await r.open("reader");
      await r.ok({ type: "STREAM_READ", stream: "weather", pattern: "^temp\\.[0-9]+$" });
      p.send(publish("temp.42", "21"));
      p.send(publish("humidity", "80"));
      p.send(publish("temp.7", "19"));
      await p.expectOnlyPong();
      assert.deepEqual(await r.next(), {
        type: "STREAM_DELIVER", address: "weather", sender: "producer", subject: "temp.42", content: [utf8.encode("21")],
      });
      assert.equal(((await r.next()) as { subject: string }).subject, "temp.7");
      await r.ok({ type: "STREAM_CANCEL", stream: "weather" });
      p.send(publish("temp.1", "x"));
      await p.expectOnlyPong();
      await r.expectOnlyPong();
    });

    it("connected: STREAM-SEND without a writer → ERROR 300 and the session ends", async () => {
      await start();
      const a = client();
      await a.open("a");
      a.send(publish("x", "y"));
      assert.deepEqual(await a.nextFrames(), [new Uint8Array([0xaa, 0xa8, 0x0f, 0x01, 0x2c, 0x00])]);
      a.send({ type: "CONNECTION_PING" });
      assert.deepEqual(await a.next(), INVALID);
    });

    it("connected: MAILBOX-SEND → no reply; MAILBOX-DELIVER to the recipient with the tracker", async () => {
      await start();
      const a = client();
      await a.open("alice");
      const b = client();
      await b.open("bob");
      a.send(mail("bob", "hello", "body", "trk"));
      await a.expectOnlyPong();
      assert.deepEqual(await b.next(), {
        type: "MAILBOX_DELIVER", sender: "alice", address: "bob", subject: "hello", tracker: "trk", content: [utf8.encode("body")],
      });
    });

    it("connected: SERVICE-SEND → no reply; queued until SERVICE-OFFER → OK, then SERVICE-DELIVER", async () => {
      await start();
      const c = client();
      await c.open("client");
      c.send(request("echo", "say", "hi", "call-1"));
      await c.expectOnlyPong();
      const w = client();
      await w.open("worker");
      await w.ok({ type: "SERVICE_OFFER", address: "echo", pattern: "say" });
      assert.deepEqual(await w.next(), {
        type: "SERVICE_DELIVER", sender: "client", address: "echo", subject: "say", tracker: "call-1", content: [utf8.encode("hi")],
      });
      w.send(mail("client", "say", "hi back", "call-1"));
      assert.equal((await c.next()).type, "MAILBOX_DELIVER");
    });

    it("connected: CONFIRM from the recipient is forwarded to the original sender", async () => {
      await start();
      const w = client();
      await w.open("worker");
      w.send({ type: "CREDIT", amount: 10 });
      await w.ok({ type: "SERVICE_OFFER", address: "svc", pattern: ".*" });
      const c = client();
      await c.open("client");
      c.send(request("svc", "job", "x", "call-9"));
      assert.equal((await w.next()).type, "SERVICE_DELIVER");
      w.send({ type: "CONFIRM", tracker: "call-9", code: 200, reason: "done" });
      assert.deepEqual(await c.next(), { type: "CONFIRM", tracker: "call-9", code: 200, reason: "done" });
      await w.expectOnlyPong();
    });

    it("connected: CREDIT → no reply; PING → PONG; CLOSE → OK then forgotten", async () => {
      const b = await start();
      const a = client();
      await a.open("a");
      a.send({ type: "CREDIT", amount: 5 });
      await a.expectOnlyPong();
      a.send({ type: "CONNECTION_CLOSE" });
      assert.deepEqual(await a.next(), OK);
      await until(() => b.stats().clients === 0, "the client to be forgotten");
      a.send({ type: "CONNECTION_PING" });
      assert.deepEqual(await a.next(), INVALID);
    });

    it("connected: a second CONNECTION-OPEN or a broker-only message → ERROR 500 and the session ends", async () => {
      await start();
      const broker_only: MlmMessage[] = [
        { type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address: "x" },
        { type: "CONNECTION_PONG" },
        { type: "STREAM_DELIVER", address: "s", sender: "x", subject: "y", content: [] },
        { type: "MAILBOX_DELIVER", sender: "x", address: "y", subject: "z", tracker: "", content: [] },
        { type: "SERVICE_DELIVER", sender: "x", address: "y", subject: "z", tracker: "", content: [] },
        { type: "OK", code: 200, reason: "" },
        { type: "ERROR", code: 500, reason: "" },
      ];
      const a = client();
      for (const message of broker_only) {
        await a.open("a");
        a.send(message);
        assert.deepEqual(await a.next(), INVALID, message.type);
        a.send({ type: "CONNECTION_PING" });
        assert.deepEqual(await a.next(), INVALID, `session ended after ${message.type}`);
      }
    });

    // ---- design §3
    it("design decode: malformed input is dropped and counted; a connection that keeps sending it is cut off", async () => {
      const b = await start({ limits: { maxMalformed: 5 } });
      const a = client();
      await a.open("a");
      a.sendRaw([new Uint8Array([0xaa, 0xa9, 0x02])]);
      await a.expectOnlyPong();
      assert.equal(b.stats().counters.malformed, 1);
      let lost = false;
      a.dealer.on("disconnect", () => (lost = true));
      for (let i = 0; i < 5; i++) a.sendRaw([new Uint8Array([0xaa, 0xa9, 0x02])]);
      await until(() => b.stats().counters.connectionsRefused === 1, "the flooder to be cut off");
      await until(() => lost, "the transport connection to close");
    });

    it("design trackers: a tracked message that cannot be routed, hits a limit, or expires gets a failure CONFIRM", async () => {
      await start({ limits: { mailboxMessages: 1 } });
      const a = client();
      await a.open("alice");
      a.send(mail("", "s", "x", "no-route"));
      assert.deepEqual(await a.next(), { type: "CONFIRM", tracker: "no-route", code: ConfirmStatus.NO_ROUTE, reason: "no route: empty address" });
      a.send(mail("bob", "s", "x", "stored"));
      a.send(mail("bob", "s", "x", "full"));
      assert.deepEqual(await a.next(), { type: "CONFIRM", tracker: "full", code: ConfirmStatus.LIMIT, reason: "mailbox full" });
      a.send(request("nobody", "s", "x", "short", 50));
      assert.deepEqual(await a.next(), { type: "CONFIRM", tracker: "short", code: ConfirmStatus.EXPIRED, reason: "expired" });
    });

    it("design credit: mailbox deliveries wait for credit once the client has sent CREDIT", async () => {
      const b = await start();
      const a = client();
      await a.open("alice");
      const r = client();
      await r.open("bob");
      r.send({ type: "CREDIT", amount: 1 });
      await r.expectOnlyPong();
      a.send(mail("bob", "m1", "x"));
      a.send(mail("bob", "m2", "x"));
      await a.expectOnlyPong();
      assert.equal(((await r.next()) as { subject: string }).subject, "m1");
      await until(() => b.stats().mailboxes[0]?.depth === 1, "m2 to wait in the mailbox");
      r.send({ type: "CREDIT", amount: 1 });
      assert.equal(((await r.next()) as { subject: string }).subject, "m2");
    });

    it("design services: a tracked request held by a worker that goes away is requeued and reaches another worker", async () => {
      const b = await start();
      const w1 = client();
      await w1.open("w1");
      w1.send({ type: "CREDIT", amount: 10 });
      await w1.ok({ type: "SERVICE_OFFER", address: "svc", pattern: ".*" });
      const c = client();
      await c.open("client");
      c.send(request("svc", "job", "x", "t-job"));
      assert.equal(((await w1.next()) as { tracker: string }).tracker, "t-job");
      await w1.close();
      await until(() => b.stats().services[0]?.queued === 1, "the request to be requeued");
      const w2 = client();
      await w2.open("w2");
      await w2.ok({ type: "SERVICE_OFFER", address: "svc", pattern: ".*" });
      assert.equal(((await w2.next()) as { tracker: string }).tracker, "t-job");
    });

    it("design patterns: a reader gets a message once even when two of its patterns match", async () => {
      await start();
      const p = client();
      await p.open("p");
      await p.ok({ type: "STREAM_WRITE", stream: "s" });
      const r = client();
      await r.open("r");
      await r.ok({ type: "STREAM_READ", stream: "s", pattern: "a" });
      await r.ok({ type: "STREAM_READ", stream: "s", pattern: ".*" });
      p.send(publish("abc", "x"));
      assert.equal(((await r.next()) as { subject: string }).subject, "abc");
      await r.expectOnlyPong();
    });

    it("design same address: the newest connection takes the address; the older one is told (ERROR 500 `address taken`)", async () => {
      await start();
      const old = client();
      await old.open("dup");
      const young = client();
      await young.open("dup");
      assert.deepEqual(await old.next(), { type: "ERROR", code: 500, reason: ADDRESS_TAKEN });
      const s = client();
      await s.open("sender");
      s.send(mail("dup", "m", "x"));
      assert.equal((await young.next()).type, "MAILBOX_DELIVER");
      old.send({ type: "CONNECTION_PING" });
      assert.deepEqual(await old.next(), INVALID);
    });

    it("limits: flooding a mailbox past its limit gives the tracked sender failure CONFIRMs", async () => {
      const b = await start({ limits: { mailboxMessages: 50, mailboxBytes: 1_000_000 } });
      const a = client();
      await a.open("flooder");
      for (let i = 0; i < 80; i++) a.send(mail("absent", "flood", "payload", `t${i}`));
      const refused: string[] = [];
      for (let i = 0; i < 30; i++) {
        const m = await a.next();
        assert.equal(m.type, "CONFIRM");
        assert.equal((m as { code: number }).code, ConfirmStatus.LIMIT);
        refused.push((m as { tracker: string }).tracker);
      }
      assert.deepEqual(refused, Array.from({ length: 30 }, (_, i) => `t${i + 50}`));
      assert.equal(b.stats().mailboxes[0]?.depth, 50);
      assert.equal(b.stats().counters.dropped, 30);
      await a.expectOnlyPong();
    });

    it("admin: SERVICE-SEND malamute.admin STATS is answered with JSON stats in a MAILBOX-DELIVER", async () => {
      await start();
      const a = client();
      await a.open("ops");
      a.send(request(ADMIN_SERVICE, "STATS", "", "s1"));
      const reply = await a.next();
      assert.ok(reply.type === "MAILBOX_DELIVER");
      assert.equal(reply.sender, ADMIN_SERVICE);
      assert.equal(reply.tracker, "s1");
      const stats = JSON.parse(new TextDecoder().decode(reply.content[0])) as { clients: number };
      assert.equal(stats.clients, 1);
    });

    it("close() is graceful: queued tracked senders get CONFIRM 304 before the sockets close", async () => {
      const b = await start();
      const a = client();
      await a.open("alice");
      a.send(mail("absent", "s", "x", "pending"));
      await a.expectOnlyPong();
      const closing = b.close();
      assert.deepEqual(await a.next(), { type: "CONFIRM", tracker: "pending", code: ConfirmStatus.SHUTDOWN, reason: "broker shutting down" });
      await closing;
    });

    it("logs through the log event and option", async () => {
      const logs: string[] = [];
      await start({ log: (e) => logs.push(e.message) });
      const a = client();
      await a.open("x");
      const b = client();
      await b.open("x");
      await until(() => logs.includes("address taken over by a newer connection"), "the takeover log");
    });
  });
}

describe("broker server: PLAIN authentication", () => {
  it("accepts listed users and refuses others", async () => {
    const broker = await startBroker({
      endpoints: [`inproc://broker-plain-${process.pid}`], transport: inproc,
      auth: { mechanism: "plain", users: { admin: "secret" } },
    });
    const good = new RawClient(inproc, broker.endpoints[0] as string, { plain: { username: "admin", password: "secret" } });
    const bad = new RawClient(inproc, broker.endpoints[0] as string, { plain: { username: "admin", password: "wrong" } });
    try {
      await good.open("a");
      bad.send({ type: "CONNECTION_PING" });
      await until(() => broker.stats().connections === 1, "the good client only");
      assert.equal(bad.dealer.connected, false);
    } finally {
      await good.close();
      await bad.close();
      await broker.close();
    }
  });
});

describe("broker server: failed start", () => {
  it("BROKER_BIND names the endpoint once and no 'broker shut down' is logged", async () => {
    const first = await startBroker({ endpoints: ["tcp://127.0.0.1:0"] });
    const taken = first.endpoints[0] as string;
    const logs: string[] = [];
    try {
      await assert.rejects(
        startBroker({ endpoints: [taken], log: (e) => logs.push(e.message) }),
        (e: unknown) => {
          assert.ok(e instanceof Error && (e as { code?: string }).code === "BROKER_BIND");
          assert.equal(e.message.split(`cannot bind ${taken}`).length - 1, 1, e.message);
          return true;
        },
      );
      assert.deepEqual(logs.filter((m) => m.includes("shut down")), []);
    } finally {
      await first.close();
    }
  });
});

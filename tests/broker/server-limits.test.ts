// Issue 14 items 2, 4 and 5 against the real TCP broker: the broker's limits reach the
// transport, silent and trickling connections are closed, a huge subscription fan-out does
// not starve other clients.
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startBroker } from "../../src/broker/server.ts";
import type { Broker, BrokerOptions } from "../../src/broker/server.ts";
import { ConfirmStatus } from "../../src/broker/status.ts";
import { MlmClient } from "../../src/client/client.ts";
import { MlmError } from "../../src/client/errors.ts";
import { zmtp } from "../../src/transport/zmtp.ts";
import { utf8 } from "./harness.ts";
import { RawClient, until } from "./raw-client.ts";
import { RawTcp, zmtpFrame } from "./raw-tcp.ts";

const PONG = { type: "CONNECTION_PONG" };

/** Wait for `promise`, failing the test after `ms` (a bound on the test, not a speed check). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe("broker server over tcp: hostile connections (issue 14)", () => {
  let broker: Broker | undefined;
  const clients: RawClient[] = [];
  const raws: RawTcp[] = [];
  const timers: ReturnType<typeof setInterval>[] = [];

  async function start(options: Partial<BrokerOptions>): Promise<Broker> {
    broker = await startBroker({ endpoints: ["tcp://127.0.0.1:0"], transport: zmtp, ...options });
    return broker;
  }
  function client(): RawClient {
    const c = new RawClient(zmtp, (broker as Broker).endpoints[0] as string);
    clients.push(c);
    return c;
  }
  function raw(): RawTcp {
    const r = new RawTcp((broker as Broker).endpoints[0] as string);
    raws.push(r);
    return r;
  }

  afterEach(async () => {
    for (const t of timers.splice(0)) clearInterval(t);
    for (const r of raws.splice(0)) r.destroy();
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await broker?.close();
    broker = undefined;
  });

  async function healthyAfter(): Promise<void> {
    const c = client();
    await c.open("healthy");
    c.send({ type: "CONNECTION_PING" });
    assert.deepEqual(await c.next(), PONG);
  }

  it("80 connections that never send CONNECTION-OPEN are closed at openTimeout, PINGs or not; new clients are served after", async () => {
    const b = await start({ timeout: 10_000, limits: { openTimeout: 300, maxConnections: 100 } });
    const silent = Array.from({ length: 80 }, () => raw());
    // Half of them keep pinging (ERROR 500 each time): activity does not extend the OPEN deadline.
    for (const r of silent.slice(0, 40)) timers.push(setInterval(() => r.send({ type: "CONNECTION_PING" }), 50));
    await within(Promise.all(silent.map((r) => r.whenClosed)), 3000, "the 80 connections to be closed");
    assert.equal(b.stats().counters.openTimeouts, 80);
    await until(() => b.stats().connections === 0, "the core to forget them");
    await healthyAfter();
  });

  it("80 opened connections trickling a partial message are closed by expiry; new clients are served after", async () => {
    const b = await start({ timeout: 400, limits: { openTimeout: 0, maxConnections: 100 } });
    const slow = Array.from({ length: 80 }, () => raw());
    for (const r of slow) {
      r.send({ type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address: "" });
      // A frame that announces 200 bytes, then one byte at a time: never a whole message.
      r.write(new Uint8Array([0, 200]));
      timers.push(setInterval(() => r.write(new Uint8Array([0x61])), 50));
    }
    await until(() => b.stats().clients === 80, "the 80 sessions to open");
    await within(Promise.all(slow.map((r) => r.whenClosed)), 3000, "the 80 connections to be closed");
    assert.equal(b.stats().counters.connectionsExpired, 80);
    await healthyAfter();
  });

  it("maxMessageSize reaches the transport: a frame far beyond it closes the connection, no CONFIRM", async () => {
    const b = await start({ limits: { maxMessageSize: 1000 } });
    const a = client();
    await a.open("alice");
    // Within the header allowance the core still answers with CONFIRM 302.
    a.send({ type: "SERVICE_SEND", address: "svc", subject: "s", tracker: "t1", timeout: 0, content: [new Uint8Array(2000)] });
    assert.deepEqual(await a.next(), { type: "CONFIRM", tracker: "t1", code: ConfirmStatus.LIMIT, reason: "message too large" });
    const r = raw();
    r.send({ type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address: "bob" });
    // A frame header that declares 200 KiB: refused at the header by the transport.
    r.write(zmtpFrame(new Uint8Array(200 * 1024)));
    await within(r.whenClosed, 3000, "the connection to be closed");
    assert.equal(b.stats().counters.failed, 1, "only alice's CONFIRM");
    await healthyAfter();
  });

  it("maxMessageParts reaches the transport: a message with more frames closes the connection", async () => {
    // Needs the transport's maxMessageParts (helper A's TcpRouter).
    const b = await start({ timeout: 0, limits: { maxMessageParts: 16, openTimeout: 0 } });
    const r = raw();
    r.send({ type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address: "flood" });
    const empty = zmtpFrame(new Uint8Array(0), true);
    for (let i = 0; i < 64; i++) r.write(empty);
    await within(r.whenClosed, 3000, "the connection to be closed");
    assert.equal(b.stats().counters.delivered, 0);
    await healthyAfter();
  });

  it("handshakeTimeout reaches the transport: a connection that sends no greeting is closed", async () => {
    // Needs the transport's handshakeTimeout (helper A's TcpRouter).
    await start({ timeout: 0, limits: { handshakeTimeout: 200, openTimeout: 0 } });
    const m = /^tcp:\/\/(.+):(\d+)$/.exec((broker as Broker).endpoints[0] as string) as RegExpExecArray;
    const { connect } = await import("node:net");
    const socket = connect({ host: m[1] as string, port: Number(m[2]) });
    socket.on("error", () => {});
    socket.on("data", () => {});
    try {
      await within(new Promise((resolve) => socket.on("close", resolve)), 3000, "the silent socket to be closed");
    } finally {
      socket.destroy();
    }
    await healthyAfter();
  });

  it("receiveBudget reaches the transport: partial messages beyond it close the connection that exceeds it", async () => {
    // Needs the transport's receiveBudget (helper A's TcpRouter).
    const b = await start({ timeout: 0, limits: { receiveBudget: 1024 * 1024, openTimeout: 0 } });
    const first = raw();
    const second = raw();
    for (const r of [first, second]) r.send({ type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address: "" });
    await until(() => b.stats().clients === 2, "both sessions");
    // Each declares a 700 KiB frame and sends most of it: together beyond the 1 MiB budget.
    const part = zmtpFrame(new Uint8Array(700 * 1024)).subarray(0, 600 * 1024);
    first.write(part);
    await new Promise((resolve) => setTimeout(resolve, 50));
    second.write(part);
    await within(second.whenClosed, 3000, "the connection beyond the budget to be closed");
    assert.equal(first.closed, false);
    await healthyAfter();
  });

  it("a refused STREAM-READ rejects our client's setConsumer with MLM_FAILED 300; the session and its other subscription stay", async () => {
    await start({ limits: { patternsPerConnection: 1 } });
    const endpoint = (broker as Broker).endpoints[0] as string;
    const reader = await MlmClient.connect(endpoint, { address: "reader" });
    const producer = await MlmClient.connect(endpoint, { address: "producer" });
    try {
      await reader.setConsumer("s", "^a");
      await assert.rejects(reader.setConsumer("s", "^b"), (e: unknown) => {
        assert.ok(e instanceof MlmError);
        assert.equal(e.code, "MLM_FAILED");
        assert.equal(e.status, 300);
        return true;
      });
      await producer.setProducer("s");
      producer.send("a1", "x");
      assert.equal((await reader.receive()).subject, "a1");
      assert.equal(broker?.stats().counters.subscriptionsRefused, 1);
    } finally {
      await reader.close();
      await producer.close();
    }
  });

  it("a stream with 10,000 patterns and a burst of publishes: another client's round trips are answered meanwhile", async () => {
    const b = await start({});
    const readers = Array.from({ length: 10 }, () => client());
    await Promise.all(readers.map((r, n) => r.open(`reader-${n}`)));
    await Promise.all(readers.map(async (r, n) => {
      for (let i = 0; i < 1000; i++) r.send({ type: "STREAM_READ", stream: "s", pattern: `a.*b${n}x${i}|a+c${i}$` });
      for (let i = 0; i < 1000; i++) await r.next();
    }));
    assert.equal(b.stats().streams[0]?.readers, 10);
    const p = client();
    await p.open("producer");
    await p.ok({ type: "STREAM_WRITE", stream: "s" });
    const healthy = client();
    await healthy.open("healthy");
    const subject = "a".repeat(255);
    const body = utf8.encode("b".repeat(2600));
    for (let i = 0; i < 10; i++) p.send({ type: "STREAM_SEND", subject, content: [body] });
    // Generous bound: without the per-turn budget the burst held the loop for over a second here.
    let worst = 0;
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      healthy.send({ type: "CONNECTION_PING" });
      assert.deepEqual(await healthy.next(), PONG);
      worst = Math.max(worst, performance.now() - t0);
    }
    assert.ok(worst < 200, `a round trip took ${worst.toFixed(1)} ms`);
  });
});

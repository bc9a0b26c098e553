// Issue 14 item 3: a C-style reader (no CREDIT) that stops reading its socket must not grow the
// broker. The ROUTER reports the peer congested at half its send high-water mark; from then on
// stream deliveries to it are dropped and counted, and mailbox messages wait in its bounded
// mailbox. Needs the TcpRouter's sendHighWaterMark and congested/drained events.
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startBroker } from "../../src/broker/server.ts";
import type { Broker } from "../../src/broker/server.ts";
import { ConfirmStatus } from "../../src/broker/status.ts";
import { zmtp } from "../../src/transport/zmtp.ts";
import { RawClient, until } from "../broker/raw-client.ts";
import { RawTcp } from "../broker/raw-tcp.ts";

const KiB = 1024;

describe("hostile: a stalled reader on a busy stream (issue 14 item 3)", () => {
  let broker: Broker | undefined;
  const clients: RawClient[] = [];
  let stalled: RawTcp | undefined;

  afterEach(async () => {
    stalled?.destroy();
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await broker?.close();
    broker = undefined;
  });

  it("deliveries to it are dropped and counted, its mail waits in its bounded mailbox, others keep being served", async () => {
    const b = broker = await startBroker({
      endpoints: ["tcp://127.0.0.1:0"],
      transport: zmtp,
      limits: { peerSendMessages: 200, peerSendBytes: 512 * KiB, mailboxMessages: 50 },
    });
    const endpoint = b.endpoints[0] as string;
    const client = (): RawClient => {
      const c = new RawClient(zmtp, endpoint);
      clients.push(c);
      return c;
    };
    const r = stalled = new RawTcp(endpoint);
    r.send({ type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address: "stalled" });
    r.send({ type: "STREAM_READ", stream: "busy", pattern: ".*" });
    await until(() => b.stats().clientList.some((c) => c.address === "stalled" && c.reads.length === 1), "the reader");
    r.socket.pause(); // never reads again: the kernel buffers fill, then the ROUTER's backlog

    const producer = client();
    await producer.open("producer");
    await producer.ok({ type: "STREAM_WRITE", stream: "busy" });
    const healthy = client();
    await healthy.open("healthy");
    await healthy.ok({ type: "STREAM_READ", stream: "busy", pattern: "^last$" });

    const body = new Uint8Array(16 * KiB);
    // 4,000 × 16 KiB = 64 MiB: far more than the kernel buffers and the 512 KiB mark.
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 100; i++) producer.send({ type: "STREAM_SEND", subject: `m${i}`, content: [body] });
      await producer.expectOnlyPong(); // paced by the broker, so the producer's own queue stays small
    }
    producer.send({ type: "STREAM_SEND", subject: "last", content: [body] });
    const last = await healthy.next();
    assert.equal((last as { subject: string }).subject, "last", "other readers still get their messages");

    await until(() => b.stats().clientList.some((c) => c.address === "stalled" && c.congested), "congestion to be reported");
    const dropped = b.stats().counters.droppedCongested;
    assert.ok(dropped > 3000, `stream deliveries to the stalled reader are dropped (${dropped})`);

    // Mail for it is kept in its mailbox, bounded; beyond it tracked senders hear why.
    for (let i = 0; i < 60; i++) {
      producer.send({ type: "MAILBOX_SEND", address: "stalled", subject: "m", tracker: `t${i}`, timeout: 0, content: [body] });
    }
    for (let i = 50; i < 60; i++) {
      assert.deepEqual(await producer.next(), { type: "CONFIRM", tracker: `t${i}`, code: ConfirmStatus.LIMIT, reason: "mailbox full" });
    }
    assert.deepEqual(b.stats().mailboxes, [{ address: "stalled", depth: 50, bytes: 50 * 16 * KiB }]);

    healthy.send({ type: "CONNECTION_PING" });
    assert.deepEqual(await healthy.next(), { type: "CONNECTION_PONG" });
  });
});

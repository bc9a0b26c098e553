// End to end over TCP: the broker recycles large message buffers (on Node), so every byte
// that reaches a client must still be the byte that was sent, through services (in flight
// until CONFIRM, requeued when a worker dies), mailboxes (stored, drained) and streams (fan-out,
// slow readers), with bursts that make the broker's writes wait for the kernel.
import assert from "node:assert/strict";
import { connect as netConnect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { type Broker, startBroker } from "../../src/broker/server.ts";
import { MlmClient } from "../../src/client/client.ts";
import type { Delivery } from "../../src/client/types.ts";
import { encode } from "../../src/proto/mod.ts";
import { NullMechanism, Session } from "../../src/zmtp/mod.ts";

const isNode = typeof process !== "undefined" && typeof process.versions?.node === "string" &&
  !("Bun" in globalThis) && !("Deno" in globalThis);

/** A body whose bytes are a function of `seed`, from 16 KiB to ~200 KiB. */
function body(seed: number): Uint8Array {
  const size = 16 * 1024 + ((seed * 7919) % (184 * 1024));
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (seed * 31 + i * 7) & 255;
  return out;
}

function assertIntact(frame: Uint8Array | undefined, seed: number, where: string): void {
  assert.ok(frame, `${where}: missing frame`);
  const expected = body(seed);
  assert.equal(frame.byteLength, expected.byteLength, `${where}: size of #${seed}`);
  for (let i = 0; i < expected.length; i++) {
    if (frame[i] !== expected[i]) assert.fail(`${where}: byte ${i} of #${seed} is ${frame[i]}, sent ${expected[i]}`);
  }
}

/**
 * A stream reader on a bare socket that can stop reading (so the broker's writes to it back up
 * in the kernel and in its send queue) and then vanish with those writes still pending.
 */
async function stallingReader(endpoint: string, stream: string): Promise<Socket> {
  const { hostname, port } = new URL(endpoint.replace("tcp://", "http://"));
  const socket = netConnect({ host: hostname, port: Number(port) });
  const flush = (): void => {
    for (const chunk of session.takeOutput()) socket.write(chunk);
  };
  let subscribed!: () => void;
  const ready = new Promise<void>((resolve) => (subscribed = resolve));
  let replies = 0;
  const session = new Session({ socketType: "DEALER", mechanism: new NullMechanism() }, {
    onReady: () => {
      session.send(encode({ type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address: "stalled" }));
      session.send(encode({ type: "STREAM_READ", stream, pattern: ".*" }));
      flush();
    },
    onMessage: () => {
      if (++replies === 2) subscribed(); // OK to OPEN and to STREAM-READ
    },
    onClose: () => socket.destroy(),
  });
  socket.on("connect", () => {
    session.start(Date.now());
    flush();
  });
  socket.on("data", (chunk: Uint8Array) => {
    session.feed(chunk, Date.now());
    flush();
  });
  socket.on("error", () => {});
  await ready;
  return socket;
}

/** Collect `count` deliveries of `client` (push mode). */
function collect(client: MlmClient, count: number, each?: (d: Delivery) => void): Promise<Delivery[]> {
  const got: Delivery[] = [];
  return new Promise((resolve) => {
    const stop = client.onDelivery((d) => {
      got.push(d);
      each?.(d);
      if (got.length === count) {
        stop();
        resolve(got);
      }
    });
  });
}

describe("broker: recycled buffers never corrupt a delivery", () => {
  let broker: Broker;
  let endpoint: string;
  const clients: MlmClient[] = [];
  const connect = async (address: string, options: { credit?: number } = {}): Promise<MlmClient> => {
    const c = await MlmClient.connect(endpoint, { address, ...options });
    clients.push(c);
    return c;
  };

  before(async () => {
    broker = await startBroker({ endpoints: ["tcp://127.0.0.1:0"] });
    endpoint = broker.endpoints[0] as string;
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await broker.close();
  });

  it("services: 300 tracked requests through two credit-aware workers, echoed back intact", async () => {
    const total = 300;
    for (const name of ["w1", "w2"]) {
      const w = await connect(name, { credit: 8 });
      await w.setWorker("echo", ".*");
      w.onDelivery((d) => {
        assertIntact(d.content[0], Number(d.subject), `worker ${name}`);
        w.sendTo(d.sender, d.subject, d.content[0] as Uint8Array);
        w.confirm(d);
      });
    }
    const caller = await connect("caller");
    const replies = collect(caller, total);
    for (let i = 0; i < total; i++) caller.sendFor("echo", String(i), body(i), { tracker: `t${i}` });
    const got = await replies;
    for (const d of got) assertIntact(d.content[0], Number(d.subject), "reply");
    assert.deepEqual(got.map((d) => Number(d.subject)).sort((a, b) => a - b), Array.from({ length: total }, (_, i) => i));
  });

  it("services: a worker that leaves with requests in flight; they are requeued and arrive intact", async () => {
    const quitter = await MlmClient.connect(endpoint, { address: "quitter", credit: 4 });
    await quitter.setWorker("slow", ".*");
    const caller = await connect("caller2");
    const total = 40;
    const firstFew = collect(quitter, 4);
    for (let i = 0; i < total; i++) caller.sendFor("slow", String(i), body(1000 + i), { tracker: `s${i}` });
    await firstFew; // holds 4 unconfirmed, then dies
    await quitter.close();
    const finisher = await connect("finisher", { credit: 8 });
    const replies = collect(caller, total);
    finisher.onDelivery((d) => {
      assertIntact(d.content[0], 1000 + Number(d.subject), "requeued");
      finisher.sendTo(d.sender, d.subject, d.content[0] as Uint8Array);
      finisher.confirm(d);
    });
    await finisher.setWorker("slow", ".*");
    for (const d of await replies) assertIntact(d.content[0], 1000 + Number(d.subject), "reply after requeue");
  });

  it("mailboxes: 200 messages stored for an offline address, then drained intact", async () => {
    const sender = await connect("mail-sender");
    const total = 200;
    for (let i = 0; i < total; i++) sender.sendTo("late", String(i), body(2000 + i), { tracker: `m${i}` });
    // A round trip through the broker orders the check after every send was stored.
    const probe = await connect("probe");
    const echoed = collect(probe, 1);
    sender.sendTo("probe", "sync", "x");
    await echoed;
    const late = await connect("late");
    const got = await collect(late, total);
    got.forEach((d, i) => {
      assert.equal(d.subject, String(i), "stored mail keeps its order");
      assertIntact(d.content[0], 2000 + i, "drained mail");
    });
  });

  it("streams: 120 messages fanned out to three readers, one of them with little credit", async () => {
    const producer = await connect("producer");
    await producer.setProducer("frames");
    const readers = [await connect("r1"), await connect("r2"), await connect("r3", { credit: 2 })];
    for (const r of readers) await r.setConsumer("frames", ".*");
    // ~13 MB: within what the broker buffers for the reader without credit (16 MiB by default).
    const total = 120;
    const all = readers.map((r) => collect(r, total));
    for (let i = 0; i < total; i++) producer.send(String(i), body(3000 + i));
    for (const [n, got] of (await Promise.all(all)).entries()) {
      got.forEach((d, i) => assertIntact(d.content[0], 3000 + i, `reader ${n + 1}`));
    }
  });

  it("streams: a reader that stops reading, then vanishes with writes pending, costs others nothing", async () => {
    const producer = await connect("producer2");
    await producer.setProducer("video");
    const healthy = await connect("healthy");
    await healthy.setConsumer("video", ".*");
    const stalled = await stallingReader(endpoint, "video");
    stalled.pause();
    const first = 60; // ~6 MB: more than the loopback socket buffers hold
    const before = collect(healthy, first);
    for (let i = 0; i < first; i++) producer.send(String(i), body(4000 + i));
    (await before).forEach((d, i) => assertIntact(d.content[0], 4000 + i, "healthy reader, stalled peer"));
    stalled.destroy();
    const second = 60;
    const afterwards = collect(healthy, second);
    for (let i = 0; i < second; i++) producer.send(String(i), body(5000 + i));
    (await afterwards).forEach((d, i) => assertIntact(d.content[0], 5000 + i, "healthy reader, after the peer vanished"));
  });

  it("the buffers were really recycled (Node)", { skip: isNode ? false : "buffers are recycled on Node only" }, () => {
    const pool = broker.stats().bufferPool;
    assert.ok(pool, "the zmtp broker on Node has a buffer pool");
    assert.ok(pool.reused > 500, `reused ${pool.reused} of ${pool.taken}`);
  });
});

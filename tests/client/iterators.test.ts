// Per-subscription iterators (consume, mailbox, requests), Message readers, request/reply and
// awaitable sends, against a real broker on the inproc transport.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startBroker, type Broker } from "../../src/broker/server.ts";
import { MlmClient } from "../../src/client/client.ts";
import { MlmError } from "../../src/client/errors.ts";
import { Message } from "../../src/client/message.ts";
import type { MlmClientOptions } from "../../src/client/types.ts";
import { inproc } from "../../src/transport/inproc.ts";

let broker: Broker;
let n = 0;
const endpoint = `inproc://client-iterators-${process.pid}`;
const open: MlmClient[] = [];
const client = async (options: MlmClientOptions = {}): Promise<MlmClient> => {
  const c = await MlmClient.connect(endpoint, { transport: inproc, address: `c${++n}`, ...options });
  open.push(c);
  return c;
};
before(async () => {
  broker = await startBroker({ endpoints: [endpoint], transport: inproc, storage: { memory: true } });
});
after(async () => {
  await Promise.all(open.map((c) => c.close()));
  await broker.close();
});

/** Takes `count` messages from an iterator, then breaks out (which ends the subscription); fails after 3 s. */
async function take(source: AsyncIterable<Message>, count: number): Promise<Message[]> {
  const out: Message[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const loop = (async () => {
    for await (const m of source) {
      out.push(m);
      if (out.length === count) break;
    }
    return out;
  })();
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`took ${out.length} of ${count} messages in 3 s`)), 3000);
  });
  try {
    return await Promise.race([loop, limit]);
  } finally {
    clearTimeout(timer);
  }
}

const errors = (c: MlmClient): MlmError[] => {
  const seen: MlmError[] = [];
  c.on("error", (e) => seen.push(e as MlmError));
  return seen;
};

describe("per-subscription iterators", () => {
  it("consume() routes its stream's matching deliveries to its own loop; the rest stay in the inbox", async () => {
    const writer = await client();
    const reader = await client();
    await writer.setProducer("it-weather");
    const temps = reader.consume("it-weather", "temp\\..*");
    const winds = reader.consume("it-weather", "wind\\..*");
    const taken = Promise.all([take(temps, 2), take(winds, 1)]);
    await reader.setConsumer("it-weather", "rain\\..*"); // after the two consume() registrations
    writer.send("temp.a", "1");
    writer.send("wind.a", "2");
    writer.send("rain.a", "3");
    writer.send("temp.b", "4");
    const [t, w] = await taken;
    assert.deepEqual(t.map((m) => [m.subject, m.text()]), [["temp.a", "1"], ["temp.b", "4"]]);
    assert.deepEqual(w.map((m) => m.subject), ["wind.a"]);
    assert.equal((await reader.receive({ signal: AbortSignal.timeout(2000) })).subject, "rain.a");
  });

  it("breaking out of the last consume() of a stream sends STREAM-CANCEL: nothing more comes", async () => {
    const writer = await client();
    const reader = await client();
    const witness = await client();
    await writer.setProducer("it-cancel");
    await witness.setConsumer("it-cancel", ".*");
    const got = take(reader.consume("it-cancel", ".*"), 1);
    await new Promise((r) => setTimeout(r, 20));
    writer.send("a", "1");
    assert.equal((await got)[0]?.subject, "a"); // the break awaited the broker's OK to STREAM-CANCEL
    writer.send("b", "2");
    assert.equal((await witness.receive()).subject, "a");
    assert.equal((await witness.receive()).subject, "b"); // "b" was published...
    await assert.rejects(reader.receive({ signal: AbortSignal.timeout(100) }), { name: "TimeoutError" }); // ...not to reader
  });

  it("mailbox() yields Messages with text(), json() and bytes(); request replies are not taken by it", async () => {
    const me = await client();
    const other = await client();
    const box = me.mailbox();
    other.sendTo(me.address, "j", JSON.stringify({ a: 1 }));
    other.sendTo(me.address, "two", ["ab", "cd"]);
    other.sendTo(me.address, "bad", new Uint8Array([0xff]));
    const [j, two, bad] = await take(box, 3);
    assert.deepEqual(j?.json(), { a: 1 });
    assert.equal(two?.text(), "abcd");
    assert.deepEqual(two?.bytes(), new TextEncoder().encode("abcd"));
    assert.throws(() => bad?.text(), (e: MlmError) => e.code === "MLM_BAD_CONTENT");
    assert.throws(() => j && new Message({ ...j, content: [new TextEncoder().encode("{")] }).json(), (e: MlmError) => e.code === "MLM_BAD_CONTENT");
    assert.equal(Message.from(j!), j);
  });

  it("at the limit with onFull 'drop' a delivery is dropped, counted and reported, and the loop goes on", async () => {
    const me = await client({ credit: false });
    const other = await client();
    const seen = errors(me);
    const box = me.mailbox({ limit: 2 });
    for (const s of ["1", "2", "3"]) other.sendTo(me.address, s, s);
    await until(() => me.stats().droppedDeliveries === 1);
    assert.equal(box.dropped, 1);
    assert.equal(box.buffered, 2);
    assert.equal(seen[0]?.code, "MLM_BUFFER_FULL");
    assert.match(seen[0]!.message, /subscription buffer full \(2\)/);
    other.sendTo(me.address, "4", "4");
    assert.deepEqual((await take(box, 3)).map((m) => m.subject), ["1", "2", "4"]);
  });

  it("at the limit with onFull 'throw' the next next() rejects with MLM_BUFFER_FULL and the subscription ends", async () => {
    const me = await client({ credit: false });
    const other = await client();
    errors(me);
    const box = me.mailbox({ limit: 1, onFull: "throw" });
    other.sendTo(me.address, "1", "1");
    other.sendTo(me.address, "2", "2");
    await until(() => box.dropped === 1);
    await assert.rejects(box.next(), (e: MlmError) => e.code === "MLM_BUFFER_FULL");
    assert.deepEqual(await box.next(), { done: true, value: undefined });
    other.sendTo(me.address, "3", "3");
    assert.equal((await me.receive({ signal: AbortSignal.timeout(2000) })).subject, "3"); // back to the inbox
  });

  it("refuses bad limits, patterns and an anonymous mailbox with MLM_BAD_ARGUMENT; a refused subscription rejects next()", async () => {
    const c = await client();
    const anon = await client({ address: "" });
    assert.throws(() => c.mailbox({ limit: 0 }), (e: MlmError) => e.code === "MLM_BAD_ARGUMENT");
    assert.throws(() => c.consume("s", "(("), (e: MlmError) => e.code === "MLM_BAD_ARGUMENT");
    assert.throws(() => anon.mailbox(), (e: MlmError) => e.code === "MLM_BAD_ARGUMENT");
    const one = await client({ maxConsumers: 1 });
    const first = one.consume("it-j1", ".*", { from: "first" });
    const refused = one.consume("it-j2", ".*", { from: "first" });
    await assert.rejects(refused.next(), (e: MlmError) => e.code === "MLM_LIMIT");
    await first.return();
  });

  it("a journal consumer's Messages can be acknowledged with client.ack()", async () => {
    const writer = await client();
    const reader = await client();
    await writer.setProducer("it-journal");
    writer.send("one", "1");
    const sub = reader.consume("it-journal", ".*", { from: "first", durable: "it-reader", autoAck: false });
    const m = (await sub.next()).value as Message;
    assert.equal(m.seq, 1);
    assert.equal(reader.ack(m), true); // the client knows the delivery behind the Message
    await sub.return();
    assert.equal(reader.ack(m), false); // the consumer ended with the loop
  });

  it("returns credit as the loop takes deliveries: 20 messages through a window of 2", async () => {
    const me = await client({ credit: 2 });
    const other = await client();
    const box = me.mailbox();
    for (let i = 0; i < 20; i++) other.sendTo(me.address, String(i), "x");
    assert.equal((await take(box, 20)).length, 20);
    assert.equal(me.stats().droppedDeliveries, 0);
  });

  it("loops end when the client closes", async () => {
    const c = await client();
    const box = c.mailbox();
    const ended = box.next();
    await c.close();
    assert.deepEqual(await ended, { done: true, value: undefined });
  });
});

describe("request / reply", () => {
  it("request() resolves with the worker's reply(); requests() iterates the service's requests", async () => {
    const worker = await client();
    const caller = await client();
    const jobs = worker.requests("it-upper");
    const served = (async () => {
      for await (const job of jobs) worker.reply(job, job.text().toUpperCase());
    })();
    await new Promise((r) => setTimeout(r, 20)); // let SERVICE-OFFER reach the broker
    const answers = await Promise.all(["a", "b", "c"].map((s) => caller.request("it-upper", "up", s, { timeout: 3000 })));
    assert.deepEqual(answers.map((m) => m.text()), ["A", "B", "C"]);
    assert.equal(caller.stats().buffered, 0, "replies never reach the inbox");
    await jobs.return();
    await served;
  });

  it("times out with MLM_TIMEOUT, aborts with the signal's reason, and refuses beyond maxRequests", async () => {
    const caller = await client({ maxRequests: 2 });
    await client().then((w) => w.setWorker("it-silent", ".*"));
    await assert.rejects(caller.request("it-silent", "x", "1", { timeout: 50 }), (e: MlmError) => e.code === "MLM_TIMEOUT");
    const ac = new AbortController();
    const a = caller.request("it-silent", "x", "1", { timeout: 5000, signal: ac.signal });
    const b = caller.request("it-silent", "x", "2", { timeout: 5000, signal: ac.signal });
    await assert.rejects(caller.request("it-silent", "x", "3"), (e: MlmError) => e.code === "MLM_LIMIT");
    ac.abort(new Error("stop"));
    await assert.rejects(a, /stop/);
    await assert.rejects(b, /stop/);
  });

  it("rejects with MLM_FAILED and the status when the request is answered with a failure CONFIRM", async () => {
    const worker = await client();
    const caller = await client();
    const jobs = worker.requests("it-refuser");
    const refused = (async () => {
      const job = (await jobs.next()).value as Message;
      worker.confirm(job, { code: 300, reason: "not today" });
    })();
    await new Promise((r) => setTimeout(r, 20));
    await assert.rejects(caller.request("it-refuser", "x", "1", { timeout: 3000 }), (e: MlmError) => e.code === "MLM_FAILED" && e.status === 300 && /not today/.test(e.message));
    await refused;
  });

  it("an anonymous client cannot request; reply() needs a tracked request", async () => {
    const anon = await client({ address: "" });
    await assert.rejects(anon.request("x", "y", "z"), (e: MlmError) => e.code === "MLM_BAD_ARGUMENT");
    const c = await client();
    assert.throws(() => c.reply({ kind: "mailbox", sender: "a", address: "b", subject: "s", tracker: "", content: [] }, "x"), (e: MlmError) => e.code === "MLM_BAD_ARGUMENT");
  });
});

describe("awaitable sends", () => {
  it("wait for room while the session is down (sendBuffer full), keep their order, and go out on re-open", async () => {
    const ep = `inproc://client-when-ready-${process.pid}`;
    let b = await startBroker({ endpoints: [ep], transport: inproc });
    const c = await MlmClient.connect(ep, { transport: inproc, address: "wr", sendBuffer: 1, heartbeat: 20, expiry: 100 });
    try {
      const down = new Promise((r) => c.on("disconnected", r));
      await b.close();
      await down;
      c.sendTo("wr", "held", "0");
      assert.throws(() => c.sendTo("wr", "refused", "x"), (e: MlmError) => e.code === "MLM_NOT_CONNECTED"); // the limit
      const first = c.sendToWhenReady("wr", "w1", "1");
      const aborted = c.sendToWhenReady("wr", "gone", "x", { signal: AbortSignal.timeout(30) });
      const timedOut = c.sendToWhenReady("wr", "late", "x", { wait: 30 });
      const second = c.sendToWhenReady("wr", "w2", "2");
      await assert.rejects(aborted, { name: "TimeoutError" });
      await assert.rejects(timedOut, (e: MlmError) => e.code === "MLM_TIMEOUT");
      b = await startBroker({ endpoints: [ep], transport: inproc });
      await Promise.all([first, second]);
      const subjects = [];
      for (let i = 0; i < 3; i++) subjects.push((await c.receive({ signal: AbortSignal.timeout(3000) })).subject);
      assert.deepEqual(subjects, ["held", "w1", "w2"]);
    } finally {
      await c.close();
      await b.close();
    }
  });

  it("refuse beyond maxWaitingSends with MLM_LIMIT, and reject with MLM_CLOSED on close", async () => {
    const ep = `inproc://client-when-ready-limit-${process.pid}`;
    const b = await startBroker({ endpoints: [ep], transport: inproc });
    const c = await MlmClient.connect(ep, { transport: inproc, address: "wl", sendBuffer: 0, maxWaitingSends: 1, heartbeat: 20, expiry: 100 });
    try {
      const down = new Promise((r) => c.on("disconnected", r));
      await b.close();
      await down;
      const waiting = c.sendForWhenReady("svc", "s", "1");
      await assert.rejects(c.sendForWhenReady("svc", "s", "2"), (e: MlmError) => e.code === "MLM_LIMIT");
      await c.close();
      await assert.rejects(waiting, (e: MlmError) => e.code === "MLM_CLOSED");
    } finally {
      await c.close();
    }
  });

  it("send at once when there is room, and reject bad input at once", async () => {
    const c = await client();
    await c.sendToWhenReady(c.address, "now", "1");
    assert.equal((await c.receive()).subject, "now");
    await assert.rejects(c.sendWhenReady("s", "x"), (e: MlmError) => e.code === "MLM_BAD_ARGUMENT"); // no setProducer
  });
});

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}

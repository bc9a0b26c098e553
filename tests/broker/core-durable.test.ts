// The broker core with a store (design.md §5, docs/mlm-extensions.md §3-§4): what survives a
// restart, STORED confirmations, stream replay and durable consumers. Every scenario runs on the
// memory store and on the file store.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStore } from "../../src/storage/file/store.ts";
import { MemoryStore } from "../../src/storage/memory-store.ts";
import type { BrokerStore, StoreClock } from "../../src/storage/types.ts";
import type { BrokerConfig } from "../../src/broker/types.ts";
import { encode, type MlmMessage } from "../../src/proto/mod.ts";
import { ConfirmStatus, STREAM_SERVICE } from "../../src/broker/status.ts";
import { HelloFlag } from "../../src/broker/extensions.ts";
import { confirm, credit, Harness, mail, offer, publish, read, request, type Sent, text, utf8, write } from "./harness.ts";

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Core time is `now`; wall-clock time is `now + WALL`. Shared by every broker of a scenario. */
const WALL = 1_700_000_000_000;
class Time {
  now = 1_000;
  readonly clock: StoreClock = {
    wallOf: (t) => (t === Infinity ? Infinity : t + WALL),
    coreOf: (w) => (w === Infinity ? Infinity : w - WALL),
    wallNow: () => this.now + WALL,
  };
}

interface Kind {
  name: string;
  make(time: Time): BrokerStore;
  /** The store a restarted broker opens: the same memory store, a new file store on the same directory. */
  again(store: BrokerStore, time: Time): BrokerStore;
}

const fileStore = (dir: string, time: Time) => new FileStore({ dir, clock: time.clock, fsync: "never", segmentBytes: 64 * 1024 });

const KINDS: Kind[] = [
  { name: "memory store", make: (time) => new MemoryStore({ clock: time.clock }), again: (store) => store },
  {
    name: "file store",
    make: (time) => {
      const dir = mkdtempSync(join(tmpdir(), "mlm-core-durable-"));
      dirs.push(dir);
      return fileStore(dir, time);
    },
    again: (store, time) => fileStore(store.stats().dir as string, time),
  },
];

/** A broker core on `store`, restored from it. */
async function start(store: BrokerStore, time: Time, config: BrokerConfig = {}): Promise<Harness> {
  const harness = new Harness({ timeout: 0, ...config, storage: { describe: () => store.stats(), ...config.storage } }, store);
  harness.now = time.now;
  harness.core.restore(await store.open());
  return harness;
}

/** Stop `h` gracefully and start a new core on the same data, `downtime` ms later. */
async function restart(h: Harness, kind: Kind, time: Time, downtime = 0, config: BrokerConfig = {}): Promise<Harness> {
  h.shutdown();
  const store = h.store as BrokerStore;
  store.flush();
  await store.close();
  time.now = h.now + downtime;
  return start(kind.again(store, time), time, config);
}

const hello = (flags: number): MlmMessage => ({ type: "CONFIRM", tracker: "", code: flags, reason: "" });

function streamRequest(command: string, body: unknown, tracker = ""): MlmMessage {
  return {
    type: "SERVICE_SEND", address: STREAM_SERVICE, subject: command, tracker, timeout: 0,
    content: [utf8.encode(JSON.stringify(body))],
  };
}

/** The JSON answer of a `malamute.stream` command among `out`. */
function answer(out: Sent[]): Record<string, unknown> {
  const found = out.find((s) => s.message.type === "MAILBOX_DELIVER" && s.message.sender === STREAM_SERVICE);
  assert.ok(found, "no answer from malamute.stream");
  return JSON.parse(text((found.message as { content: Uint8Array[] }).content[0]));
}

/** Consumer deliveries in `out`: [seq, subject, body]. */
function entries(out: Sent[]): [number, string, string][] {
  return out.filter((s) => s.message.type === "STREAM_DELIVER").map((s) => {
    const m = s.message as { subject: string; content: Uint8Array[] };
    const seq = new DataView((m.content[0] as Uint8Array).buffer, (m.content[0] as Uint8Array).byteOffset).getBigUint64(0);
    return [Number(seq), m.subject, text(m.content[1])];
  });
}

function confirms(out: Sent[]): { tracker: string; code: number }[] {
  return out.filter((s) => s.message.type === "CONFIRM").map((s) => {
    const m = s.message as { tracker: string; code: number };
    return { tracker: m.tracker, code: m.code };
  });
}

for (const kind of KINDS) {
  describe(`durable broker core (${kind.name})`, () => {
    it("keeps mailbox messages across a restart, in order, with sender, subject and tracker", async () => {
      const time = new Time();
      let h = await start(kind.make(time), time);
      h.open("a1", "alice");
      for (let i = 1; i <= 3; i++) h.send("a1", mail("bob", `s${i}`, `body ${i}`, `t${i}`));
      h = await restart(h, kind, time);
      const out = h.open("b1", "bob");
      // Content as text: a file store hands back its own buffers (Buffer on Node).
      assert.deepEqual(out.map((s) => ({ ...s.message, content: (s.message as { content: Uint8Array[] }).content.map(text) })), [1, 2, 3].map((i) => ({
        type: "MAILBOX_DELIVER", sender: "alice", address: "bob", subject: `s${i}`, tracker: `t${i}`,
        content: [`body ${i}`],
      })));
      assert.equal(h.core.stats().counters.recovered, 3);
      // Delivered for good: a second restart has nothing left.
      h = await restart(h, kind, time);
      assert.deepEqual(h.open("b2", "bob"), []);
      await (h.store as BrokerStore).close();
    });

    it("recovers queued service requests, and in-flight ones at a credit-aware worker, in the order accepted", async () => {
      const time = new Time();
      let h = await start(kind.make(time), time);
      h.open("c1", "client");
      h.send("c1", request("render", "job", "1", "r1"));
      h.send("c1", request("render", "job", "2", "r2"));
      h.send("c1", request("render", "job", "3", "r3"));
      h.open("w1", "worker");
      h.send("w1", credit(2));
      h.send("w1", offer("render", ".*"));
      h.send("w1", confirm("r1"));
      // r1 is done; r2 is in flight (unconfirmed), r3 queued.
      h = await restart(h, kind, time);
      h.open("c2", "client");
      h.open("w2", "worker2");
      h.send("w2", credit(10));
      const out = h.send("w2", offer("render", ".*")).filter((s) => s.message.type === "SERVICE_DELIVER");
      assert.deepEqual(out.map((s) => (s.message as { tracker: string }).tracker), ["r2", "r3"]);
      assert.equal(h.core.stats().counters.recovered, 2);
      await (h.store as BrokerStore).close();
    });

    it("expires a message whose deadline passed while the broker was down, with CONFIRM 301, and never delivers it", async () => {
      const time = new Time();
      let h = await start(kind.make(time), time);
      h.open("a1", "alice");
      h.send("a1", mail("bob", "late", "x", "t-late", 1_000));
      h.send("a1", mail("bob", "fine", "y", "t-fine", 60_000));
      h = await restart(h, kind, time, 5_000);
      // It expires at the first event after the restart; its sender gets the CONFIRM when it is back.
      h.open("x1", "someone");
      assert.deepEqual(confirms(h.open("a2", "alice")), [{ tracker: "t-late", code: ConfirmStatus.EXPIRED }]);
      assert.deepEqual(h.open("b1", "bob").map((s) => (s.message as { subject: string }).subject), ["fine"]);
      await (h.store as BrokerStore).close();
    });

    it("answers CONFIRM 202 after the store action to connections that asked, and a failure CONFIRM instead when refused", async () => {
      const time = new Time();
      const h = await start(kind.make(time), time, { limits: { mailboxMessages: 1 } });
      h.send("a1", hello(HelloFlag.STORED_CONFIRMS));
      h.open("a1", "alice");
      h.actions.length = 0;
      assert.deepEqual(confirms(h.send("a1", mail("bob", "s", "1", "m1"))), [{ tracker: "m1", code: ConfirmStatus.STORED }]);
      const kinds = h.actions.map((a) => a.type);
      assert.ok(kinds.indexOf("store") >= 0 && kinds.indexOf("store") < kinds.indexOf("send"), `store before send: ${kinds}`);
      assert.deepEqual(confirms(h.send("a1", mail("bob", "s", "2", "m2"))), [{ tracker: "m2", code: ConfirmStatus.LIMIT }]);
      // Untracked: nothing to confirm.
      h.open("b0", "bob-online");
      assert.deepEqual(confirms(h.send("a1", mail("bob-online", "s", "3"))), []);
      // Delivered at once counts as taken.
      assert.deepEqual(confirms(h.send("a1", mail("bob-online", "s", "4", "m4"))), [{ tracker: "m4", code: ConfirmStatus.STORED }]);
      // A connection that did not ask never sees 202.
      h.open("c1", "carol");
      assert.deepEqual(confirms(h.send("c1", mail("dave", "s", "5", "m5"))), []);
      // Service requests too.
      assert.deepEqual(confirms(h.send("a1", request("svc", "s", "6", "m6"))), [{ tracker: "m6", code: ConfirmStatus.STORED }]);
      await (h.store as BrokerStore).close();
    });

    it("refuses messages that need storing with CONFIRM 306 once the store failed, and keeps serving the rest", async () => {
      const time = new Time();
      const h = await start(kind.make(time), time);
      h.open("a1", "alice");
      h.open("b1", "bob");
      h.event({ type: "storage-failed", reason: "disk full" });
      assert.deepEqual(confirms(h.send("a1", mail("offline", "s", "1", "m1"))), [{ tracker: "m1", code: ConfirmStatus.UNAVAILABLE }]);
      assert.deepEqual(confirms(h.send("a1", request("svc", "s", "2", "r1"))), [{ tracker: "r1", code: ConfirmStatus.UNAVAILABLE }]);
      // Delivered at once needs no store.
      assert.equal(h.send("a1", mail("bob", "s", "3", "m3")).filter((s) => s.message.type === "MAILBOX_DELIVER").length, 1);
      assert.equal(h.core.stats().counters.storageRefused, 2);
      await (h.store as BrokerStore).close();
    });

    it("keeps stored messages on a graceful shutdown instead of confirming 304", async () => {
      const time = new Time();
      const h = await start(kind.make(time), time);
      h.open("a1", "alice");
      h.send("a1", mail("bob", "s", "1", "m1"));
      assert.deepEqual(confirms(h.shutdown()), []);
      await (h.store as BrokerStore).close();
    });

    it("replays a stream from first, a sequence number, the last N and a time, then continues live without gap or duplicate", async () => {
      const time = new Time();
      const h = await start(kind.make(time), time);
      h.open("p1", "pub");
      h.ok("p1", write("events"));
      for (let i = 1; i <= 5; i++) {
        h.send("p1", publish(`e${i}`, `body ${i}`));
        time.now = h.now += 10;
      }
      const cases: [unknown, number[]][] = [
        ["first", [1, 2, 3, 4, 5]],
        [{ seq: 3 }, [3, 4, 5]],
        [{ last: 2 }, [4, 5]],
        [{ time: WALL + 1_020 }, [3, 4, 5]],
        ["new", []],
      ];
      for (const [index, [from, expected]] of cases.entries()) {
        const conn = `r${index}`;
        h.open(conn, "");
        const ack = answer(h.send(conn, streamRequest("READ", { stream: "events", from }, `q${index}`)));
        assert.equal(ack.ok, true);
        assert.equal(ack.head, 5);
        assert.deepEqual(entries(await h.settle()).map(([seq]) => seq), expected, JSON.stringify(from));
      }
      // Live from here: the next entry comes to every consumer at once, exactly once.
      const live = h.send("p1", publish("live", "x"));
      assert.deepEqual(live.map((s) => s.conn), cases.map((_, index) => `r${index}`));
      assert.deepEqual(entries(live).map(([seq]) => seq), cases.map(() => 6));
      await (h.store as BrokerStore).close();
    });

    it("switches from history to live with no gap and no duplicate while the publisher keeps going", async () => {
      const time = new Time();
      const h = await start(kind.make(time), time, { limits: { replayBatchMessages: 3 } });
      h.open("p1", "pub");
      h.ok("p1", write("events"));
      for (let i = 1; i <= 10; i++) h.send("p1", publish("e", `${i}`));
      h.open("r1", "reader");
      answer(h.send("r1", streamRequest("READ", { stream: "events", from: "first" })));
      const got: number[] = [];
      // Publish between every read step: the reader must see 1..20 exactly once, in order.
      for (let i = 11; i <= 20; i++) {
        got.push(...entries(h.send("p1", publish("e", `${i}`))).map(([seq]) => seq));
        const read = h.reads.shift();
        if (read) {
          const found = await (h.store as BrokerStore).read(read.stream, read.from, read.maxEntries, read.maxBytes);
          got.push(...entries(h.event({ type: "journal", ticket: read.ticket, entries: found })).map(([seq]) => seq));
        }
      }
      got.push(...entries(await h.settle()).map(([seq]) => seq));
      got.push(...entries(h.send("p1", publish("e", "21"))).map(([seq]) => seq));
      assert.deepEqual(got, Array.from({ length: 21 }, (_, i) => i + 1));
      await (h.store as BrokerStore).close();
    });

    it("does not skip entries journaled while a consumer's read was out (an empty answer, a failed read)", async () => {
      const time = new Time();
      const h = await start(kind.make(time), time);
      h.open("p1", "pub");
      for (const failed of [false, true]) {
        const stream = failed ? "race-error" : "race-time";
        h.ok("p1", write(stream));
        // With a failed read, two entries are there before the READ (the store could not give them).
        const before = failed ? 2 : 0;
        for (let i = 1; i <= before; i++) h.send("p1", publish("e", `${i}`));
        const conn = failed ? "r-error" : "r-time";
        h.open(conn, "");
        answer(h.send(conn, streamRequest("READ", { stream, from: failed ? "first" : { time: 0 } })));
        const read = h.reads.shift();
        assert.ok(read);
        // The store answers what it had when asked (nothing, or an error); meanwhile three entries come in.
        const found = failed ? [] : await (h.store as BrokerStore).read(read.stream, read.from, read.maxEntries, read.maxBytes);
        assert.deepEqual(found, []);
        for (let i = before + 1; i <= before + 3; i++) assert.deepEqual(entries(h.send("p1", publish("e", `${i}`))), []);
        const got = entries(h.event({ type: "journal", ticket: read.ticket, entries: found, ...(failed ? { error: "EIO" } : {}) }));
        got.push(...entries(await h.settle()));
        assert.deepEqual(got.map(([seq]) => seq), [before + 1, before + 2, before + 3], stream);
        assert.deepEqual(entries(h.send("p1", publish("e", "x"))).map(([seq]) => seq), [before + 4]);
      }
      await (h.store as BrokerStore).close();
    });

    it("filters replayed and live entries by the consumer's pattern", async () => {
      const time = new Time();
      const h = await start(kind.make(time), time);
      h.open("p1", "pub");
      h.ok("p1", write("events"));
      h.send("p1", publish("job.start", "1"));
      h.send("p1", publish("tick", "2"));
      h.send("p1", publish("job.done", "3"));
      h.open("r1", "");
      answer(h.send("r1", streamRequest("READ", { stream: "events", pattern: "^job\\.", from: "first" })));
      assert.deepEqual(entries(await h.settle()).map(([seq, subject]) => `${seq}:${subject}`), ["1:job.start", "3:job.done"]);
      assert.deepEqual(entries(h.send("p1", publish("tick", "4"))), []);
      assert.deepEqual(entries(h.send("p1", publish("job.x", "5"))).map(([seq]) => seq), [5]);
      await (h.store as BrokerStore).close();
    });

    it("resumes a durable consumer after its last ACK, after a reconnect and after a restart (at least once)", async () => {
      const time = new Time();
      let h = await start(kind.make(time), time);
      h.open("p1", "pub");
      h.ok("p1", write("events"));
      for (let i = 1; i <= 5; i++) h.send("p1", publish("e", `${i}`));
      h.open("d1", "dash");
      answer(h.send("d1", streamRequest("READ", { stream: "events", from: "first", consumer: "dashboard" })));
      assert.deepEqual(entries(await h.settle()).map(([seq]) => seq), [1, 2, 3, 4, 5]);
      h.send("d1", streamRequest("ACK", { stream: "events", consumer: "dashboard", seq: 2 }));
      h.disconnect("d1");
      h.open("d2", "dash");
      const again = answer(h.send("d2", streamRequest("READ", { stream: "events", from: "new", consumer: "dashboard" })));
      assert.equal(again.next, 3);
      assert.deepEqual(entries(await h.settle()).map(([seq]) => seq), [3, 4, 5]);
      h.send("d2", streamRequest("ACK", { stream: "events", consumer: "dashboard", seq: 4 }));
      // An ACK never moves the position back.
      h.send("d2", streamRequest("ACK", { stream: "events", consumer: "dashboard", seq: 1 }));
      h = await restart(h, kind, time);
      h.open("p2", "pub");
      h.ok("p2", write("events"));
      // Sequence numbers continue after a restart.
      h.send("p2", publish("e", "6"));
      h.open("d3", "dash");
      const resumed = answer(h.send("d3", streamRequest("READ", { stream: "events", consumer: "dashboard" })));
      assert.equal(resumed.head, 6);
      assert.deepEqual(entries(await h.settle()).map(([seq]) => seq), [5, 6]);
      await (h.store as BrokerStore).close();
    });

    it("gives a durable name to the newest connection that asks for it", async () => {
      const time = new Time();
      const h = await start(kind.make(time), time);
      h.open("p1", "pub");
      h.ok("p1", write("events"));
      h.open("d1", "");
      h.open("d2", "");
      answer(h.send("d1", streamRequest("READ", { stream: "events", consumer: "x" })));
      answer(h.send("d2", streamRequest("READ", { stream: "events", consumer: "x" })));
      const out = h.send("p1", publish("e", "1"));
      assert.deepEqual(out.filter((s) => s.message.type === "STREAM_DELIVER").map((s) => s.conn), ["d2"]);
      await (h.store as BrokerStore).close();
    });

    it("a consumer that cannot take deliveries reads on from the journal later instead of losing entries", async () => {
      const time = new Time();
      const h = await start(kind.make(time), time);
      h.open("p1", "pub");
      h.ok("p1", write("events"));
      h.open("r1", "");
      answer(h.send("r1", streamRequest("READ", { stream: "events", from: "new" })));
      h.event({ type: "congested", conn: "r1" });
      for (let i = 1; i <= 4; i++) assert.deepEqual(entries(h.send("p1", publish("e", `${i}`))), []);
      assert.deepEqual(h.reads, []);
      h.event({ type: "drained", conn: "r1" });
      assert.deepEqual(entries(await h.settle()).map(([seq]) => seq), [1, 2, 3, 4]);
      assert.deepEqual(entries(h.send("p1", publish("e", "5"))).map(([seq]) => seq), [5]);
      await (h.store as BrokerStore).close();
    });

    it("answers bad requests and limits with a typed JSON error, and ends a consumer on CANCEL", async () => {
      const time = new Time();
      const h = await start(kind.make(time), time, { limits: { consumersPerConnection: 1, durableConsumers: 1 } });
      h.open("r1", "");
      assert.equal(answer(h.send("r1", streamRequest("READ", { from: "first" }))).code, "BAD_REQUEST");
      assert.equal(answer(h.send("r1", streamRequest("READ", { stream: "s", from: "yesterday" }))).code, "BAD_REQUEST");
      assert.equal(answer(h.send("r1", streamRequest("NOPE", {}))).code, "BAD_REQUEST");
      assert.equal(answer(h.raw("r1", encode({ type: "SERVICE_SEND", address: STREAM_SERVICE, subject: "READ", tracker: "", timeout: 0, content: [utf8.encode("{")] }))).code, "BAD_REQUEST");
      assert.equal(answer(h.send("r1", streamRequest("READ", { stream: "a" }))).ok, true);
      assert.equal(answer(h.send("r1", streamRequest("READ", { stream: "b" }))).code, "LIMIT");
      // Replacing the consumer of the same stream is not a new one.
      assert.equal(answer(h.send("r1", streamRequest("READ", { stream: "a", from: "first" }))).ok, true);
      h.open("r2", "");
      assert.equal(answer(h.send("r2", streamRequest("READ", { stream: "a", consumer: "one" }))).ok, true);
      h.open("r3", "");
      assert.equal(answer(h.send("r3", streamRequest("READ", { stream: "a", consumer: "two" }))).code, "LIMIT");
      assert.deepEqual(answer(h.send("r1", streamRequest("CANCEL", { stream: "a" }))), { ok: true, stream: "a" });
      h.open("p1", "pub");
      h.ok("p1", write("a"));
      assert.deepEqual(h.send("p1", publish("e", "1")).filter((s) => s.message.type === "STREAM_DELIVER").map((s) => s.conn), ["r2"]);
      await (h.store as BrokerStore).close();
    });

    it("journals at most `journaledStreams` streams; the others are delivered live only", async () => {
      const time = new Time();
      const h = await start(kind.make(time), time, { limits: { journaledStreams: 1 } });
      h.open("p1", "pub");
      h.ok("p1", write("one"));
      h.send("p1", publish("e", "1"));
      h.ok("p1", write("two"));
      h.open("r1", "");
      h.ok("r1", read("two", ".*"));
      // Delivered live to the plain reader, not journaled.
      assert.equal(h.send("p1", publish("e", "2")).filter((s) => s.message.type === "STREAM_DELIVER").length, 1);
      assert.deepEqual(h.core.stats().journals?.map((j) => j.name), ["one"]);
      h.open("r2", "");
      assert.equal(answer(h.send("r2", streamRequest("READ", { stream: "two" }))).code, "NO_JOURNAL");
      await (h.store as BrokerStore).close();
    });
  });
}

describe("broker core without a store", () => {
  it("has no journal: READ is answered NO_JOURNAL and HELLO lists no replay", () => {
    const h = new Harness();
    const out = h.send("r1", hello(0));
    assert.equal((out[0]?.message as { reason: string }).reason.includes("replay"), false);
    h.open("r1", "");
    assert.equal(answer(h.send("r1", streamRequest("READ", { stream: "s" }))).code, "NO_JOURNAL");
    assert.deepEqual(h.actions.filter((a) => a.type === "store" || a.type === "read"), []);
  });

  it("still answers CONFIRM 202 to connections that ask (held in memory)", () => {
    const h = new Harness();
    h.send("a1", hello(HelloFlag.STORED_CONFIRMS));
    h.open("a1", "alice");
    assert.deepEqual(confirms(h.send("a1", mail("bob", "s", "1", "m1"))), [{ tracker: "m1", code: ConfirmStatus.STORED }]);
  });
});

// startBroker with storage: state survives a restart on the same data directory, STORED
// confirmations leave only once the message is stored, replay over TCP, and clear errors for a
// directory that cannot be used.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBroker, type Broker } from "../../src/broker/server.ts";
import { BrokerError } from "../../src/broker/errors.ts";
import { ConfirmStatus, STREAM_SERVICE } from "../../src/broker/status.ts";
import { HelloFlag } from "../../src/broker/extensions.ts";
import { parseBrokerConfig } from "../../src/broker/config.ts";
import { zmtp } from "../../src/transport/zmtp.ts";
import type { BrokerStore, FsyncPolicy, StorageOp } from "../../src/storage/types.ts";
import { MemoryStore } from "../../src/storage/memory-store.ts";
import { brokerClock } from "../../src/broker/durable/storage-options.ts";
import { RawClient } from "./raw-client.ts";

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "mlm-server-durable-"));
  dirs.push(dir);
  return dir;
}

const utf8 = new TextEncoder();
const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

async function broker(dir: string, fsync: FsyncPolicy = "interval"): Promise<Broker> {
  return startBroker({ endpoints: ["tcp://127.0.0.1:0"], storage: { dir, fsync } });
}

async function client(b: Broker, address: string, flags?: number): Promise<RawClient> {
  const c = new RawClient(zmtp, b.endpoints[0] as string);
  if (flags !== undefined) {
    c.send({ type: "CONFIRM", tracker: "", code: flags, reason: "" });
    const hello = await c.next();
    assert.equal(hello.type, "OK");
  }
  await c.open(address);
  return c;
}

/** A `malamute.stream` READ (docs/mlm-extensions.md §4). */
function askToRead(reader: RawClient, body: Record<string, unknown>, tracker = ""): void {
  reader.send({
    type: "SERVICE_SEND", address: STREAM_SERVICE, subject: "READ", tracker, timeout: 0,
    content: [utf8.encode(JSON.stringify(body))],
  });
}

for (const fsync of ["always", "interval", "never"] as const) {
  describe(`broker with a data directory (fsync ${fsync})`, () => {
    it("confirms stored mail with 202 and delivers it after a restart, in order", async () => {
      const dir = dataDir();
      let b = await broker(dir, fsync);
      const alice = await client(b, "alice", HelloFlag.STORED_CONFIRMS);
      for (let i = 1; i <= 20; i++) {
        alice.send({ type: "MAILBOX_SEND", address: "bob", subject: `s${i}`, tracker: `t${i}`, timeout: 0, content: [utf8.encode(`m${i}`)] });
      }
      for (let i = 1; i <= 20; i++) {
        assert.deepEqual(await alice.next(), { type: "CONFIRM", tracker: `t${i}`, code: ConfirmStatus.STORED, reason: "stored" });
      }
      assert.equal(b.stats().storage?.kind, "file");
      alice.dealer.close();
      await b.close();
      b = await broker(dir, fsync);
      assert.equal(b.stats().counters.recovered, 20);
      const bob = await client(b, "bob");
      for (let i = 1; i <= 20; i++) {
        const m = await bob.next();
        assert.equal(m.type, "MAILBOX_DELIVER");
        assert.equal((m as { subject: string }).subject, `s${i}`);
        assert.equal((m as { sender: string }).sender, "alice");
      }
      bob.dealer.close();
      await b.close();
    });
  });
}

describe("broker with a data directory", () => {
  it("replays a stream over TCP after a restart, with sequence numbers that continue", async () => {
    const dir = dataDir();
    let b = await broker(dir);
    const pub = await client(b, "pub");
    await pub.ok({ type: "STREAM_WRITE", stream: "events" });
    for (let i = 1; i <= 3; i++) pub.send({ type: "STREAM_SEND", subject: `e${i}`, content: [utf8.encode(`${i}`)] });
    await pub.expectOnlyPong();
    pub.dealer.close();
    await b.close();
    b = await broker(dir);
    const again = await client(b, "pub");
    await again.ok({ type: "STREAM_WRITE", stream: "events" });
    again.send({ type: "STREAM_SEND", subject: "e4", content: [utf8.encode("4")] });
    await again.expectOnlyPong();
    const reader = await client(b, "");
    askToRead(reader, { stream: "events", from: "first" }, "q");
    const answer = await reader.next();
    assert.equal(answer.type, "MAILBOX_DELIVER");
    assert.deepEqual(JSON.parse(text((answer as { content: Uint8Array[] }).content[0])), { ok: true, stream: "events", next: 1, head: 4 });
    const seqs: number[] = [];
    for (let i = 1; i <= 4; i++) {
      const m = await reader.next();
      const [seqFrame, body] = (m as { content: Uint8Array[] }).content;
      seqs.push(Number(new DataView((seqFrame as Uint8Array).buffer, (seqFrame as Uint8Array).byteOffset).getBigUint64(0)));
      assert.equal(text(body), `${i}`);
    }
    assert.deepEqual(seqs, [1, 2, 3, 4]);
    again.dealer.close();
    reader.dealer.close();
    await b.close();
  });

  it("refuses a directory another broker holds, and a path that is a file, with BROKER_STORAGE", async () => {
    const dir = dataDir();
    const first = await broker(dir);
    await assert.rejects(broker(dir), (error: unknown) => error instanceof BrokerError && error.code === "BROKER_STORAGE");
    await first.close();
    // Released on close: a new broker can take it.
    await (await broker(dir)).close();
    const file = join(dataDir(), "not-a-dir");
    writeFileSync(file, "x");
    await assert.rejects(broker(file), (error: unknown) => error instanceof BrokerError && error.code === "BROKER_STORAGE");
  });

  it("reads the storage settings from the config file (mlm_server/storage)", () => {
    const config = parseBrokerConfig([
      "mlm_server",
      "    storage",
      "        dir = /var/lib/malamute",
      "        fsync = always",
      "        sync-interval = 50",
      "        retention",
      "            max-bytes = 1000000",
      "            max-age = 3600000",
      "        stream",
      "            pattern = forge\\..*",
      "            max-messages = 100",
      "",
    ].join("\n"));
    assert.deepEqual(config.storage, {
      dir: "/var/lib/malamute",
      fsync: "always",
      syncInterval: 50,
      retention: { maxBytes: 1_000_000, maxAge: 3_600_000 },
      streams: [{ pattern: "forge\\..*", retention: { maxMessages: 100 } }],
    });
    assert.throws(() => parseBrokerConfig("mlm_server\n    storage\n        dir = x\n        fsync = sometimes\n"), /fsync/);
    assert.throws(() => parseBrokerConfig("mlm_server\n    storage\n        dir = x\n        stream\n            max-age = 1\n"), /pattern/);
  });

  it("serves replay from an in-memory store without a directory", async () => {
    const b = await startBroker({ endpoints: ["tcp://127.0.0.1:0"], storage: { memory: true } });
    const pub = await client(b, "pub");
    await pub.ok({ type: "STREAM_WRITE", stream: "s" });
    pub.send({ type: "STREAM_SEND", subject: "x", content: [utf8.encode("1")] });
    await pub.expectOnlyPong();
    const reader = await client(b, "r");
    askToRead(reader, { stream: "s", from: { last: 1 } });
    assert.equal(JSON.parse(text(((await reader.next()) as { content: Uint8Array[] }).content[0])).ok, true);
    const m = await reader.next();
    assert.equal(text((m as { content: Uint8Array[] }).content[1]), "1");
    pub.dealer.close();
    reader.dealer.close();
    await b.close();
  });
});

describe("broker whose store fails", () => {
  /** A memory store dressed as a file store (so the broker gates on it) whose writes fail once `broken` is set. */
  class FailingStore implements BrokerStore {
    readonly kind = "file" as const;
    readonly fsync = "interval" as const;
    broken = false;
    readonly #inner = new MemoryStore({ clock: brokerClock });
    get failed(): Error | undefined {
      return this.broken ? new Error("ENOSPC: no space left on device") : undefined;
    }
    get pending(): boolean {
      return this.#inner.pending;
    }
    open = () => this.#inner.open();
    apply = (ops: readonly StorageOp[]) => this.#inner.apply(ops);
    flush = () => this.#inner.flush();
    sync = () => this.#inner.sync();
    read = (...args: Parameters<BrokerStore["read"]>) => this.#inner.read(...args);
    stats = () => this.#inner.stats();
    close = () => this.#inner.close();
  }

  for (const onFailure of ["refuse", "memory"] as const) {
    it(`${onFailure === "refuse" ? "refuses messages it would have to store with CONFIRM 306" : "keeps serving from memory when told to"}, and logs why`, async () => {
      const store = new FailingStore();
      const logs: string[] = [];
      const b = await startBroker({
        endpoints: ["tcp://127.0.0.1:0"], storage: { store, onFailure }, log: (e) => logs.push(e.message),
      });
      const alice = await client(b, "alice", HelloFlag.STORED_CONFIRMS);
      alice.send({ type: "MAILBOX_SEND", address: "bob", subject: "s", tracker: "before", timeout: 0, content: [utf8.encode("1")] });
      assert.deepEqual(await alice.next(), { type: "CONFIRM", tracker: "before", code: ConfirmStatus.STORED, reason: "stored" });
      store.broken = true;
      // The failure shows at the next write; from then on, per the policy.
      alice.send({ type: "MAILBOX_SEND", address: "bob", subject: "s", tracker: "during", timeout: 0, content: [utf8.encode("2")] });
      alice.send({ type: "MAILBOX_SEND", address: "bob", subject: "s", tracker: "after", timeout: 0, content: [utf8.encode("3")] });
      const codes = [(await alice.next()) as { tracker: string; code: number }, (await alice.next()) as { tracker: string; code: number }];
      assert.deepEqual(codes.map((c) => [c.tracker, c.code]), [
        ["during", ConfirmStatus.STORED],
        ["after", onFailure === "refuse" ? ConfirmStatus.UNAVAILABLE : ConfirmStatus.STORED],
      ]);
      assert.ok(logs.some((line) => line.startsWith("storage failed")), logs.join("\n"));
      assert.equal(b.stats().counters.storageRefused, onFailure === "refuse" ? 1 : 0);
      alice.dealer.close();
      await b.close();
    });
  }
});

// The CLI's durability surface, in-process against a scripted broker over TCP: `recv --stream
// --from/--consumer` (journal consumers, seq printed), `send --durable`, the --from forms, and
// the storage section of `stat`.
import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { InvalidArgumentError } from "commander";
import { formatStats, formatStorage } from "../../src/cli/actions/stat.ts";
import { main } from "../../src/cli/main.ts";
import { parseFrom } from "../../src/cli/options.ts";
import type { StorageStats } from "../../src/storage/types.ts";
import { zmtp } from "../../src/transport/zmtp.ts";
import { FakeBroker } from "../client/fixtures/fake-broker.ts";
import { speakExtensions } from "../client/fixtures/extensions-broker.ts";
import type { ExtensionsBroker } from "../client/fixtures/extensions-broker.ts";
import { memoryIo } from "./memory-io.ts";

describe("recv --from forms", () => {
  it("first, new, seq:N, last:N, time:ISO and time:ms", () => {
    assert.equal(parseFrom("first"), "first");
    assert.equal(parseFrom("new"), "new");
    assert.deepEqual(parseFrom("seq:42"), { seq: 42 });
    assert.deepEqual(parseFrom("last:10"), { last: 10 });
    assert.deepEqual(parseFrom("time:2026-01-02T03:04:05Z"), { time: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)) });
    assert.deepEqual(parseFrom("time:1700000000000"), { time: new Date(1_700_000_000_000) });
  });

  it("anything else is a usage error naming the forms", () => {
    for (const bad of ["seq:0", "seq:-1", "seq:x", "last:", "time:yesterday", "oldest", "seq"]) {
      assert.throws(() => parseFrom(bad), InvalidArgumentError, bad);
    }
  });

  it("--from or --consumer without --stream: one line, exit 2", async () => {
    const io = memoryIo();
    assert.equal(await main(["recv", "--mailbox", "a", "--from", "first"], io), 2);
    assert.match(io.err, /need --stream/);
    const bad = memoryIo();
    assert.equal(await main(["recv", "--stream", "s", "--from", "sometime"], bad), 2);
    assert.match(bad.err, /first, new, seq:N, last:N or time:ISO-DATE/);
  });
});

describe("CLI against a broker speaking the durability extensions", () => {
  let broker!: FakeBroker;
  let ext!: ExtensionsBroker;
  beforeEach(async () => {
    broker = await FakeBroker.start(zmtp, "tcp://127.0.0.1:0");
    ext = speakExtensions(broker);
  });
  afterEach(async () => {
    await broker.close();
  });

  /** Once the CLI's READ arrived, deliver entries `seqs` of `stream` to it. */
  async function feed(stream: string, seqs: number[]): Promise<void> {
    const read = await broker.waitFor((r) => r.message.type === "SERVICE_SEND" && r.message.subject === "READ", "READ");
    for (const seq of seqs) ext.deliver(read.peer, stream, seq, `job.${seq}`, [`payload ${seq}`]);
  }

  it("recv --stream --from first prints each message with its sequence number", async () => {
    ext.heads.set("jobs", 3);
    const io = memoryIo();
    const run = main(["recv", "--endpoint", broker.endpoint, "--stream", "jobs", "--from", "first", "--count", "2"], io);
    await feed("jobs", [1, 2]);
    assert.equal(await run, 0, io.err);
    assert.deepEqual(io.out.trim().split("\n"), [
      `stream seq=1 from=writer to=jobs subject=job.1 | "payload 1"`,
      `stream seq=2 from=writer to=jobs subject=job.2 | "payload 2"`,
    ]);
    assert.deepEqual(ext.of("READ")[0]!.body, { stream: "jobs", pattern: ".*", from: "first" });
  });

  it("recv --json carries seq; --consumer names a durable consumer whose position is acknowledged before exit", async () => {
    const io = memoryIo();
    const run = main(["recv", "-e", broker.endpoint, "--stream", "jobs", "--pattern", "^job", "--from", "seq:5", "--consumer", "dash", "--json", "-n", "2"], io);
    await feed("jobs", [5, 6]);
    assert.equal(await run, 0, io.err);
    const lines = io.out.trim().split("\n").map((line) => JSON.parse(line) as { seq: number; subject: string });
    assert.deepEqual(lines.map((l) => [l.seq, l.subject]), [[5, "job.5"], [6, "job.6"]]);
    assert.deepEqual(ext.of("READ")[0]!.body, { stream: "jobs", pattern: "^job", from: { seq: 5 }, consumer: "dash" });
    assert.deepEqual(ext.of("ACK").at(-1)!.body, { stream: "jobs", consumer: "dash", seq: 6 });
  });

  it("recv --stream without --from prints no seq (plain STREAM-READ)", async () => {
    const io = memoryIo();
    const run = main(["recv", "-e", broker.endpoint, "--stream", "news", "-n", "1"], io);
    const read = await broker.waitFor((r) => r.message.type === "STREAM_READ", "STREAM-READ");
    broker.reply(read.peer, { type: "STREAM_DELIVER", address: "news", sender: "w", subject: "s", content: [new TextEncoder().encode("x")] });
    assert.equal(await run, 0, io.err);
    assert.equal(io.out, `stream from=w to=news subject=s | "x"\n`);
  });

  it("recv --from against a broker without `replay`: one line saying what is needed, exit 1", async () => {
    broker.features = "confirm credit withdraw";
    const io = memoryIo();
    assert.equal(await main(["recv", "-e", broker.endpoint, "--stream", "jobs", "--from", "first"], io), 1);
    assert.match(io.err, /^malamute: cannot read the history of stream jobs: .*--data-dir/);
  });

  it("send --durable waits for the 202 and prints it; a failure CONFIRM exits 1 with its code", async () => {
    const ok = memoryIo();
    assert.equal(await main(["send", "-e", broker.endpoint, "--to", "bob", "--tracker", "t1", "--durable", "s", "x"], ok), 0, ok.err);
    assert.equal(ok.out, "stored tracker=t1\n");
    ext.stored = 306;
    const failed = memoryIo();
    assert.equal(await main(["send", "-e", broker.endpoint, "--service", "svc", "--durable", "s", "x"], failed), 1);
    assert.match(failed.err, /^malamute: tracker malamute-tracker-[0-9a-f]+ was not stored: .*CONFIRM 306.*\[MLM_NOT_STORED\].*disk full/);
  });

  it("send --durable on a C broker: exit 1, one line pointing at the TypeScript broker", async () => {
    broker.mode = "c";
    const io = memoryIo();
    assert.equal(await main(["send", "-e", broker.endpoint, "--to", "bob", "--durable", "s", "x"], io), 1);
    assert.match(io.err, /^malamute: --durable: .*stored.*malamute broker/);
  });

  it("send --durable --wait: no answer in time is CLI_TIMEOUT, exit 1", async () => {
    ext.stored = "none";
    const io = memoryIo();
    assert.equal(await main(["send", "-e", broker.endpoint, "--to", "bob", "--durable", "--wait", "200", "s", "x"], io), 1);
    assert.match(io.err, /did not confirm storage within 200 ms/);
  });
});

describe("stat: storage section", () => {
  const counters = {
    delivered: 0, queued: 0, expired: 0, dropped: 0, malformed: 0, confirmed: 0, failed: 0, requeued: 0,
    connectionsExpired: 0, connectionsRefused: 0, withdrawn: 0, droppedCongested: 0, subscriptionsRefused: 0,
    openTimeouts: 0, logsSuppressed: 0,
  };
  const base = { clients: 0, connections: 0, mailboxes: [], streams: [], services: [], counters, clientList: [], held: 0 };
  const storage: StorageStats = {
    kind: "file",
    dir: "/var/lib/malamute",
    fsync: "interval",
    queues: { bytes: 4096, records: 12, segments: 2 },
    streams: [{ name: "forge.events", bytes: 65536, entries: 420, first: 81, head: 500, segments: 3 }],
    recovery: { at: Date.UTC(2026, 0, 2, 3, 4, 5), ms: 37.25, records: 12, entries: 420, discardedBytes: 17, discardedRecords: 1, notes: ["00000003.log: torn tail at 1234"] },
    writeErrors: 1,
    lastError: "ENOSPC: no space left on device",
  };

  it("shows fsync policy, dir, queue totals, journals, the last recovery and write errors", () => {
    const text = formatStorage(storage);
    assert.match(text, /^storage: file \/var\/lib\/malamute, fsync interval\n/);
    assert.match(text, /\n  queued: 12 records, 4096 bytes, 2 segments\n/);
    assert.match(text, /\n  last recovery: 2026-01-02T03:04:05\.000Z in 37 ms: 12 records, 420 journal entries; discarded 1 records \(17 bytes\)\n    00000003\.log: torn tail at 1234\n/);
    assert.match(text, /\n  write errors: 1 \(ENOSPC: no space left on device\)\n/);
    assert.match(text, /\njournals:\n  stream +entries +bytes +first +head +segments\n  forge\.events +420 +65536 +81 +500 +3\n/);
  });

  it("formatStats appends it when STATS has `storage`, and has no storage section otherwise", () => {
    assert.match(formatStats({ ...base, storage } as unknown as Parameters<typeof formatStats>[0]), /\nstorage: file /);
    assert.doesNotMatch(formatStats(base as unknown as Parameters<typeof formatStats>[0]), /storage|journals/);
  });
});

// A torn or corrupt tail of the queue log: a broker child stores N mailbox messages and is
// killed; copies of its directory get the last segment cut at random bytes (and one a flipped
// byte in its last record); a broker started on each copy recovers every record before the
// damage, says what it threw away (log line and admin STATS), and keeps appending after the cut.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { cpSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HelloFlag } from "../../src/broker/extensions.ts";
import { ConfirmStatus } from "../../src/broker/status.ts";
import { segmentHeaderSize } from "../../src/storage/codec.ts";
import { BrokerChild, random, seedOf, tempDir, withSeed } from "./broker-child.ts";
import type { RawClient } from "../broker/raw-client.ts";
import { adminStats, rawClient } from "./crash-flood.ts";

const MESSAGES = 40;
const RANDOM_CUTS = 6;
const utf8 = new TextEncoder();
const text = (bytes: Uint8Array | undefined): string => new TextDecoder().decode(bytes);

/** The last segment file of `dir/queues`. */
function lastSegment(dir: string): string {
  const names = readdirSync(join(dir, "queues")).filter((n) => n.endsWith(".seg")).sort();
  assert.ok(names.length > 0, "no queue segment");
  return join(dir, "queues", names[names.length - 1] as string);
}

/** Damage to a copy of the directory, and what recovery must keep. */
interface Damage {
  what: string;
  apply(segment: string): void;
  /** Messages that must come back (0..kept-1), and the bytes recovery must throw away. */
  kept: number;
  discardedBytes: number;
  /** Damaged pieces recovery must report (a torn segment header counts, even an empty file). */
  discardedRecords: number;
}

/** The stored log every case damages a copy of, and where each of its records ends. */
interface Source {
  dir: string;
  ends: number[];
  bodies: string[];
}

/** A broker child stores MESSAGES messages of random sizes; notes where each record ends in the segment. */
async function storeSource(rand: () => number): Promise<Source> {
  const dir = tempDir("torn-src");
  const broker = await BrokerChild.start(dir, "interval");
  const ends: number[] = [];
  const bodies: string[] = [];
  const clients: RawClient[] = [];
  try {
    const sender = await rawClient(broker.endpoint, "a", HelloFlag.STORED_CONFIRMS, clients);
    for (let i = 0; i < MESSAGES; i++) {
      const body = `${i}:`.padEnd(10 + Math.floor(rand() * 300), "x");
      bodies.push(body);
      sender.send({ type: "MAILBOX_SEND", address: "box", subject: `m${i}`, tracker: `t${i}`, timeout: 0, content: [utf8.encode(body)] });
      assert.deepEqual(await sender.next(), { type: "CONFIRM", tracker: `t${i}`, code: ConfirmStatus.STORED, reason: "stored" });
      // 202 under `interval` means written to the operating system: the size is final.
      ends.push(statSync(lastSegment(dir)).size);
    }
  } finally {
    for (const c of clients) await c.close();
    await broker.kill();
  }
  return { dir, ends, bodies };
}

/** A cut of the last segment at byte `cut`: what recovery must keep and throw away. */
function cutAt(source: Source, cut: number): Damage {
  const { ends } = source;
  const header = segmentHeaderSize("");
  const size = ends[MESSAGES - 1] as number;
  const kept = ends.filter((end) => end <= cut).length;
  const from = kept > 0 ? (ends[kept - 1] as number) : cut < header ? 0 : header;
  const discardedRecords = cut < header || cut > from ? 1 : 0;
  return { what: `cut at byte ${cut} of ${size}`, apply: (s) => truncateSync(s, cut), kept, discardedBytes: cut - from, discardedRecords };
}

/** A byte flipped in the middle of the last record: it is discarded, everything before kept. */
function flipLast(source: Source): Damage {
  const lastStart = source.ends[MESSAGES - 2] as number;
  const size = source.ends[MESSAGES - 1] as number;
  const flipAt = Math.floor((lastStart + size) / 2);
  return {
    what: `byte ${flipAt} flipped (middle of the last record, ${lastStart}..${size})`,
    apply: (s) => {
      const bytes = readFileSync(s);
      bytes[flipAt] = (bytes[flipAt] as number) ^ 0x5a;
      writeFileSync(s, bytes);
    },
    kept: MESSAGES - 1,
    discardedBytes: size - lastStart,
    discardedRecords: 1,
  };
}

describe("torn tail of the queue log: recovers every record before the damage, reports what it discarded, appends after it", () => {
  const seed = seedOf();
  const rand = random(seed);
  let source: Source | undefined;
  const copies: string[] = [];
  after(() => {
    for (const dir of [...(source ? [source.dir] : []), ...copies]) rmSync(dir, { recursive: true, force: true });
  });
  const cases: [string, (s: Source) => Damage][] = [
    ["an empty segment (cut at byte 0)", (s) => cutAt(s, 0)],
    ["a torn segment header", (s) => cutAt(s, 1 + Math.floor(rand() * (segmentHeaderSize("") - 1)))],
    ["a cut one byte into the last record", (s) => cutAt(s, (s.ends[MESSAGES - 2] as number) + 1)],
    ["a cut one byte before the end", (s) => cutAt(s, (s.ends[MESSAGES - 1] as number) - 1)],
    ...Array.from({ length: RANDOM_CUTS }, (_, i) => [
      `a cut at a random byte (${i + 1} of ${RANDOM_CUTS})`,
      (s: Source) => cutAt(s, 1 + Math.floor(rand() * ((s.ends[MESSAGES - 1] as number) - 1))),
    ] as [string, (s: Source) => Damage]),
    ["a flipped byte in the middle of the last record", flipLast],
  ];
  for (const [name, make] of cases) {
    it(name, async () => {
      await withSeed(seed, `torn-tail: ${name}`, async () => {
        source ??= await storeSource(rand);
        const damage = make(source);
        const dir = tempDir("torn");
        copies.push(dir);
        cpSync(source.dir, dir, { recursive: true });
        damage.apply(lastSegment(dir));
        await checkRecovery(dir, damage, source.bodies);
      });
    });
  }
});

/** Start a broker on the damaged `dir`: what it keeps, says and appends after the cut. */
async function checkRecovery(dir: string, damage: Damage, bodies: string[]): Promise<void> {
  const what = damage.what;
  let broker = await BrokerChild.start(dir, "interval");
  const clients: RawClient[] = [];
  try {
    const opened = broker.opened;
    assert.equal(opened.records, damage.kept, `${what}: records recovered`);
    assert.equal(opened.discardedBytes, damage.discardedBytes, `${what}: bytes discarded`);
    assert.equal(opened.discardedRecords, damage.discardedRecords, `${what}: discarded records`);
    if (damage.discardedRecords > 0) assert.match(broker.log, /WARN storage recovery: .*queues/, `${what}: a log line names the damage`);

    const admin = await rawClient(broker.endpoint, "admin", undefined, clients);
    const recovery = (await adminStats(admin)).storage?.recovery;
    assert.equal(recovery?.records, damage.kept, `${what}: STATS recovery.records`);
    assert.equal(recovery?.discardedBytes, damage.discardedBytes, `${what}: STATS recovery.discardedBytes`);
    assert.equal(recovery?.discardedRecords, damage.discardedRecords, `${what}: STATS recovery.discardedRecords`);
    assert.equal(recovery?.notes.length, damage.discardedRecords, `${what}: STATS recovery.notes`);

    // Appending after the cut: one more message, stored and found after another kill -9.
    const sender = await rawClient(broker.endpoint, "a", HelloFlag.STORED_CONFIRMS, clients);
    sender.send({ type: "MAILBOX_SEND", address: "box", subject: "after", tracker: "after", timeout: 0, content: [utf8.encode("after")] });
    assert.deepEqual(await sender.next(), { type: "CONFIRM", tracker: "after", code: ConfirmStatus.STORED, reason: "stored" });
    for (const c of clients.splice(0)) await c.close();
    await broker.kill();

    broker = await BrokerChild.start(dir, "interval");
    assert.equal(broker.opened.discardedBytes, 0, `${what}: the log appended after the cut is whole`);
    const reader = await rawClient(broker.endpoint, "box", undefined, clients);
    for (let i = 0; i < damage.kept; i++) {
      const m = await reader.next();
      assert.equal(m.type, "MAILBOX_DELIVER");
      assert.equal((m as { subject: string }).subject, `m${i}`, `${what}: message ${i}`);
      assert.equal(text((m as { content: Uint8Array[] }).content[0]), bodies[i]);
    }
    const last = await reader.next();
    assert.equal((last as { subject: string }).subject, "after", `${what}: the message stored after the restart`);
    await reader.expectOnlyPong();
  } finally {
    for (const c of clients) await c.close();
    await broker.kill();
  }
}

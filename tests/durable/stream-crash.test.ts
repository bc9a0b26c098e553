// Stream journals across kill -9: a publisher floods a stream of a broker child (a live reader
// paces it), the child is killed at a random moment, twice on the same directory; after each
// restart a consumer reading from the first entry gets sequence numbers 1..k with no gap and no
// duplicate, every entry a live reader got before the crash, and new messages go on at k+1.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { STREAM_SERVICE } from "../../src/broker/status.ts";
import { decode } from "../../src/proto/mod.ts";
import type { FsyncPolicy } from "../../src/storage/types.ts";
import type { RawClient } from "../broker/raw-client.ts";
import { BrokerChild, random, seedOf, tempDir, withSeed } from "./broker-child.ts";
import { rawClient } from "./crash-flood.ts";

const ITERATIONS = 8;
/** Messages published per life of the broker at most. */
const MAX_PER_LIFE = 6000;
/** Published and not yet seen by the live reader. */
const WINDOW = 300;
const utf8 = new TextEncoder();
const text = (bytes: Uint8Array | undefined): string => new TextDecoder().decode(bytes);

/** Publish `first`, `first+1`, ... (the content is the index) until the broker is killed at a random moment; returns the highest index a live reader got. */
async function floodUntilKilled(broker: BrokerChild, first: number, rand: () => number, clients: RawClient[]): Promise<number> {
  const publisher = await rawClient(broker.endpoint, "pub", undefined, clients);
  await publisher.ok({ type: "STREAM_WRITE", stream: "events" });
  const reader = await rawClient(broker.endpoint, "live", undefined, clients);
  await reader.ok({ type: "STREAM_READ", stream: "events", pattern: ".*" });
  const killAt = first + 1 + Math.floor(rand() * MAX_PER_LIFE);
  const killDelay = rand() * 20;
  let next = first;
  let seen = first - 1;
  let killed: Promise<void> | undefined;
  let armed = false;
  const errors: string[] = [];
  const pump = (): void => {
    while (killed === undefined && next - seen <= WINDOW && next < first + MAX_PER_LIFE) {
      publisher.send({ type: "STREAM_SEND", subject: "e", content: [utf8.encode(String(next++))] });
      if (next >= killAt && !armed) {
        armed = true;
        setTimeout(() => (killed ??= broker.kill()), killDelay);
      }
    }
  };
  reader.dealer.on("message", (frames) => {
    const r = decode(frames.map((f) => new Uint8Array(f.buffer, f.byteOffset, f.byteLength)));
    if (!r.ok || r.message.type !== "STREAM_DELIVER") return;
    const index = Number(text(r.message.content[0]));
    if (index !== seen + 1) errors.push(`live reader got ${index} after ${seen}`);
    seen = index;
    pump();
  });
  pump();
  while (killed === undefined) {
    if (seen === first + MAX_PER_LIFE - 1) killed = broker.kill();
    else await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await killed;
  await publisher.close();
  await reader.close();
  assert.deepEqual(errors, [], "live deliveries before the crash");
  return seen;
}

/** READ from first: the journal must hold exactly 0..k-1 as sequence numbers 1..k, k > `atLeast`; returns k and the open consumer. */
async function replayAll(broker: BrokerChild, atLeast: number, clients: RawClient[]): Promise<{ head: number; consumer: RawClient }> {
  const consumer = await rawClient(broker.endpoint, "", undefined, clients);
  consumer.send({
    type: "SERVICE_SEND", address: STREAM_SERVICE, subject: "READ", tracker: "r", timeout: 0,
    content: [utf8.encode(JSON.stringify({ stream: "events", from: "first" }))],
  });
  const answer = await consumer.next();
  assert.equal(answer.type, "MAILBOX_DELIVER");
  const { ok, next, head } = JSON.parse(text((answer as { content: Uint8Array[] }).content[0])) as { ok: boolean; next: number; head: number };
  assert.equal(ok, true);
  assert.equal(next, 1, "nothing was removed by retention: the journal starts at 1");
  assert.ok(head > atLeast, `journal head ${head}: entry ${atLeast} (index) was delivered live before the crash`);
  assert.equal(broker.opened.entries, head, "entries recovered");
  for (let seq = 1; seq <= head; seq++) await expectEntry(consumer, seq);
  return { head, consumer };
}

async function expectEntry(consumer: RawClient, seq: number): Promise<void> {
  const m = await consumer.next();
  assert.equal(m.type, "STREAM_DELIVER");
  const [seqFrame, body] = (m as { content: Uint8Array[] }).content as [Uint8Array, Uint8Array];
  const got = Number(new DataView(seqFrame.buffer, seqFrame.byteOffset, 8).getBigUint64(0));
  assert.equal(got, seq, `entry ${seq}: sequence number (gap or duplicate)`);
  assert.equal(text(body), String(seq - 1), `entry ${seq}: content`);
}

describe("stream journal across kill -9", () => {
  const seed = seedOf();
  const seeds = random(seed);
  for (let i = 0; i < ITERATIONS; i++) {
    const fsync: FsyncPolicy = i % 2 === 0 ? "interval" : "always";
    const rand = random(Math.floor(seeds() * 2 ** 32));
    it(`replays 1..k with no gap or duplicate after each of two crashes, and continues at k+1 (fsync ${fsync}, run ${i + 1} of ${ITERATIONS})`, async () => {
      await withSeed(seed, `stream-crash run ${i + 1}`, async () => {
        const dir = tempDir("stream-crash");
        let broker = await BrokerChild.start(dir, fsync);
        const clients: RawClient[] = [];
        try {
          let head = 0;
          for (let life = 0; life < 2; life++) {
            const seen = await floodUntilKilled(broker, head, rand, clients);
            broker = await BrokerChild.start(dir, fsync);
            const replay = await replayAll(broker, seen, clients);
            head = replay.head;
            // New messages continue the numbering, live to the same consumer.
            const publisher = await rawClient(broker.endpoint, "pub", undefined, clients);
            await publisher.ok({ type: "STREAM_WRITE", stream: "events" });
            for (let j = 0; j < 3; j++) publisher.send({ type: "STREAM_SEND", subject: "e", content: [utf8.encode(String(head + j))] });
            for (let j = 1; j <= 3; j++) await expectEntry(replay.consumer, head + j);
            await replay.consumer.expectOnlyPong();
            head += 3;
            await publisher.close();
            await replay.consumer.close();
          }
        } finally {
          for (const c of clients) await c.close();
          await broker.kill();
          rmSync(dir, { recursive: true, force: true });
        }
      });
    });
  }
});

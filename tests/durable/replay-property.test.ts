// Replay against a real broker with a file store, property style: random interleavings of
// publishing and consumers starting from first, a sequence number, the last N, a time or "new",
// plain or credit-aware with a small window, while the publisher keeps going during their
// catch-up; small replay batches multiply the history/live switch-overs. Every consumer must get
// exactly start..end: no gap, no duplicate, nothing out of order. DURABLE_SEED replays a run.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { startBroker } from "../../src/broker/server.ts";
import { STREAM_SERVICE } from "../../src/broker/status.ts";
import { decode, encode, type MlmMessage } from "../../src/proto/mod.ts";
import type { FsyncPolicy } from "../../src/storage/types.ts";
import type { DealerSocket } from "../../src/transport/types.ts";
import { zmtp } from "../../src/transport/zmtp.ts";
import { type RawClient, until } from "../broker/raw-client.ts";
import { random, seedOf, tempDir, withSeed } from "./broker-child.ts";
import { rawClient } from "./crash-flood.ts";

const SCENARIOS = 30;
const utf8 = new TextEncoder();
const text = (bytes: Uint8Array | undefined): string => new TextDecoder().decode(bytes);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

type From = "first" | "new" | { seq: number } | { last: number } | { time: number };

/** A `malamute.stream` consumer on its own connection; credit-aware with a small window when `credit` is given. */
class Consumer {
  readonly #dealer: DealerSocket;
  readonly seqs: number[] = [];
  readonly errors: string[] = [];
  answer: { ok: boolean; next: number; head: number } | undefined;
  #opened = false;
  #pongs = 0;

  constructor(endpoint: string, readonly from: From, readonly expectedStart: (head: number) => number, readonly credit?: number) {
    this.#dealer = zmtp.dealer({ reconnectInterval: 20 });
    this.#dealer.on("message", (frames) => {
      const r = decode(frames.map((f) => new Uint8Array(f.buffer, f.byteOffset, f.byteLength)));
      if (r.ok) this.#on(r.message);
      else this.errors.push("undecodable message");
    });
    this.#dealer.connect(endpoint);
  }

  async start(): Promise<void> {
    this.#send({ type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address: "" });
    await until(() => this.#opened, "consumer OPEN");
    if (this.credit !== undefined) this.#send({ type: "CREDIT", amount: this.credit });
    this.#send({
      type: "SERVICE_SEND", address: STREAM_SERVICE, subject: "READ", tracker: "", timeout: 0,
      content: [utf8.encode(JSON.stringify({ stream: "s", from: this.from }))],
    });
  }

  #send(message: MlmMessage): void {
    this.#dealer.send(encode(message));
  }

  #on(m: MlmMessage): void {
    if (m.type === "OK") this.#opened = true;
    else if (m.type === "CONNECTION_PONG") this.#pongs++;
    else if (m.type === "MAILBOX_DELIVER" && m.sender === STREAM_SERVICE) {
      this.answer = JSON.parse(text(m.content[0]));
    } else if (m.type === "STREAM_DELIVER") {
      const [seqFrame, body] = m.content as [Uint8Array, Uint8Array];
      const seq = Number(new DataView(seqFrame.buffer, seqFrame.byteOffset, 8).getBigUint64(0));
      if (this.answer === undefined) this.errors.push(`entry ${seq} before the READ answer`);
      if (text(body) !== String(seq)) this.errors.push(`entry ${seq} carries ${text(body)}`);
      this.seqs.push(seq);
      if (this.credit !== undefined) this.#send({ type: "CREDIT", amount: 1 });
    } else this.errors.push(`unexpected ${m.type}`);
  }

  /** Waits until it got `end` (or, starting after `end`, its answer), then proves nothing else is on its way. */
  async finish(end: number): Promise<void> {
    await until(() => this.answer !== undefined && (this.seqs.at(-1) === end || this.expectedStart(this.answer.head) > end), `consumer from ${JSON.stringify(this.from)} to reach ${end}`);
    this.#send({ type: "CONNECTION_PING" });
    await until(() => this.#pongs === 1, "PONG");
  }

  close(): Promise<void> {
    return this.#dealer.close();
  }
}

/** One random scenario on a fresh broker and directory. */
async function scenario(rand: () => number, fsync: FsyncPolicy): Promise<string> {
  const dir = tempDir("replay-prop");
  const replayBatchMessages = 1 + Math.floor(rand() * 40);
  const broker = await startBroker({ endpoints: ["tcp://127.0.0.1:0"], storage: { dir, fsync }, limits: { replayBatchMessages } });
  const endpoint = broker.endpoints[0] as string;
  const consumers: Consumer[] = [];
  const clients: RawClient[] = [];
  try {
    const publisher = await rawClient(endpoint, "pub", undefined, clients);
    await publisher.ok({ type: "STREAM_WRITE", stream: "s" });
    let published = 0;
    const publish = (n: number): void => {
      for (let i = 0; i < n; i++) publisher.send({ type: "STREAM_SEND", subject: "x", content: [utf8.encode(String(++published))] });
    };
    /** Times between two published entries, and the first sequence number after each. */
    const marks: { time: number; seq: number }[] = [];
    const steps = 6 + Math.floor(rand() * 14);
    for (let step = 0; step < steps; step++) {
      const r = rand();
      if (r < 0.4) publish(1 + Math.floor(rand() * 300));
      else if (r < 0.5) await publisher.expectOnlyPong();
      else if (r < 0.6) {
        // Everything published so far is stamped before `time`, everything after at or after it.
        await publisher.expectOnlyPong();
        await sleep(2);
        marks.push({ time: Date.now(), seq: published + 1 });
        await sleep(2);
      } else {
        const credit = rand() < 0.5 ? 1 + Math.floor(rand() * 20) : undefined;
        const kind = Math.floor(rand() * 5);
        let from: From;
        let expectedStart: (head: number) => number;
        if (kind === 0) [from, expectedStart] = ["first", () => 1];
        else if (kind === 1) [from, expectedStart] = ["new", (head) => head + 1];
        else if (kind === 2) {
          const seq = 1 + Math.floor(rand() * (published + 20));
          [from, expectedStart] = [{ seq }, () => seq];
        } else if (kind === 3) {
          const last = 1 + Math.floor(rand() * (published + 5));
          [from, expectedStart] = [{ last }, (head) => Math.max(1, head - last + 1)];
        } else {
          const mark = marks.length > 0 && rand() < 0.8 ? marks[Math.floor(rand() * marks.length)] as { time: number; seq: number } : { time: 0, seq: 1 };
          [from, expectedStart] = [{ time: mark.time }, () => mark.seq];
        }
        const consumer = new Consumer(endpoint, from, expectedStart, credit);
        consumers.push(consumer);
        await consumer.start();
        // The publisher goes on while it catches up.
        publish(Math.floor(rand() * 200));
      }
    }
    publish(1 + Math.floor(rand() * 100));
    await publisher.expectOnlyPong();
    const end = published;
    for (const c of consumers) {
      await c.finish(end);
      const what = `consumer from ${JSON.stringify(c.from)}${c.credit !== undefined ? ` credit ${c.credit}` : ""} (end ${end}, replay batch ${replayBatchMessages})`;
      assert.deepEqual(c.errors, [], what);
      const answer = c.answer as { ok: boolean; next: number; head: number };
      assert.equal(answer.ok, true, what);
      const start = c.expectedStart(answer.head);
      // `next` is where the consumer starts, or a lower bound of it (a time, or a sequence number ahead of the head).
      if (typeof c.from === "object" && "time" in c.from) assert.ok(answer.next <= start, `${what}: answer.next ${answer.next}`);
      else assert.equal(answer.next, Math.min(start, answer.head + 1), `${what}: answer.next`);
      const expected = Array.from({ length: Math.max(0, end - start + 1) }, (_, i) => start + i);
      if (c.seqs.length !== expected.length || c.seqs.some((s, i) => s !== expected[i])) {
        const firstBad = c.seqs.findIndex((s, i) => s !== expected[i]);
        assert.fail(`${what}: got ${c.seqs.length} entries, expected ${expected.length} from ${start}; first difference at #${firstBad}: got ${c.seqs[firstBad]}, expected ${expected[firstBad]}`);
      }
    }
    return `${steps} steps, ${consumers.length} consumers, ${end} entries, replay batch ${replayBatchMessages}`;
  } finally {
    for (const c of [...consumers, ...clients]) await c.close();
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("stream replay, property style (file store)", () => {
  const seed = seedOf();
  const seeds = random(seed);
  for (let i = 0; i < SCENARIOS; i++) {
    const fsync = (["interval", "always", "never"] as const)[i % 3] as FsyncPolicy;
    const rand = random(Math.floor(seeds() * 2 ** 32));
    it(`gives every consumer exactly start..end under concurrent publishing (fsync ${fsync}, scenario ${i + 1} of ${SCENARIOS})`, async () => {
      await withSeed(seed, `replay-property scenario ${i + 1}`, async () => {
        const summary = await scenario(rand, fsync);
        process.stderr.write(`  scenario ${i + 1} (${fsync}): ${summary}\n`);
      });
    });
  }
});

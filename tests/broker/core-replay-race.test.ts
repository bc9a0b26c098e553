// A journal read answers what the store held when it looked; entries accepted while it looked
// must not be skipped. A `{ time }` consumer whose first read found nothing jumped to the head
// as it was when the answer came, losing the entries published meanwhile (seen on Deno, whose
// file reads resolve later).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { STREAM_SERVICE } from "../../src/broker/status.ts";
import type { MlmMessage } from "../../src/proto/mod.ts";
import { MemoryStore } from "../../src/storage/memory-store.ts";
import type { StoreClock } from "../../src/storage/types.ts";
import { Harness, publish, type Sent, text, utf8, write } from "./harness.ts";

const WALL = 1_700_000_000_000;

function readRequest(from: unknown): MlmMessage {
  return {
    type: "SERVICE_SEND", address: STREAM_SERVICE, subject: "READ", tracker: "", timeout: 0,
    content: [utf8.encode(JSON.stringify({ stream: "s", from }))],
  };
}

function seqs(out: Sent[]): number[] {
  return out.filter((s) => s.message.type === "STREAM_DELIVER").map((s) => {
    const frame = (s.message as { content: Uint8Array[] }).content[0] as Uint8Array;
    return Number(new DataView(frame.buffer, frame.byteOffset).getBigUint64(0));
  });
}

describe("broker core: entries accepted while a journal read is out", () => {
  it("are delivered to a consumer reading from a time (no jump to the head)", async () => {
    let now = 1_000;
    const clock: StoreClock = { wallOf: (t) => t + WALL, coreOf: (w) => w - WALL, wallNow: () => now + WALL };
    const store = new MemoryStore({ clock });
    const h = new Harness({ timeout: 0, storage: { describe: () => store.stats() } }, store);
    h.core.restore(await store.open());
    h.open("p", "pub");
    h.ok("p", write("s"));
    h.send("p", publish("old", "1"));
    now += 10;
    h.open("r", "");
    const asked = h.send("r", readRequest({ time: WALL + now }));
    assert.equal(JSON.parse(text((asked[0]?.message as { content: Uint8Array[] }).content[0])).ok, true);
    // The store looks now (nothing at or after the start yet) and answers after two more entries came in.
    const read = h.reads.shift();
    assert.ok(read, "a journal read is out");
    const found = await store.read(read.stream, read.from, read.maxEntries, read.maxBytes);
    assert.deepEqual(found, []);
    assert.deepEqual(seqs(h.send("p", publish("new", "2"))), [], "not live yet: its read is out");
    assert.deepEqual(seqs(h.send("p", publish("new", "3"))), []);
    const delivered = seqs(h.event({ type: "journal", ticket: read.ticket, entries: found }));
    delivered.push(...seqs(await h.settle()));
    assert.deepEqual(delivered, [2, 3]);
    assert.deepEqual(seqs(h.send("p", publish("new", "4"))), [4], "then live");
  });
});

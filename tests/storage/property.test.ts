// The log against a model: random puts, dones, journal appends, cursors, flushes, maintenance and
// crashes (the unflushed batch is lost, and the last write may be torn at any byte).
import assert from "node:assert/strict";
import { readdirSync, statSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { FileStore } from "../../src/storage/file/store.ts";
import { segmentNumber, streamDirName } from "../../src/storage/naming.ts";
import type { JournalEntry, QueuedRecord, RecoveredState } from "../../src/storage/types.ts";
import { clock, entry, record, tempDir, text } from "./helpers.ts";

type Cmd =
  | { t: "put"; size: number }
  | { t: "done"; pick: number }
  | { t: "journal"; stream: string; size: number }
  | { t: "cursor"; stream: string; consumer: string; step: number }
  | { t: "flush" }
  | { t: "maintain" }
  | { t: "crash"; tear: "none" | "queue" | "a" | "b"; at: number };

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant("put" as const), size: fc.integer({ min: 0, max: 300 }) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant("done" as const), pick: fc.nat() }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant("journal" as const), stream: fc.constantFrom("a", "b"), size: fc.integer({ min: 0, max: 300 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("cursor" as const), stream: fc.constantFrom("a", "b"), consumer: fc.constantFrom("x", "y"), step: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 3, arbitrary: fc.constant({ t: "flush" as const }) },
  { weight: 1, arbitrary: fc.constant({ t: "maintain" as const }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("crash" as const), tear: fc.constantFrom("none" as const, "queue" as const, "a" as const, "b" as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }) },
);

type QueueOp = { op: "put"; record: QueuedRecord } | { op: "done"; id: number } | { op: "cursor"; stream: string; consumer: string; seq: number };

/** Records and cursors after the first `k` queue ops. */
function fold(ops: readonly QueueOp[], k: number) {
  const records = new Map<number, QueuedRecord>();
  const cursors = new Map<string, number>();
  for (const op of ops.slice(0, k)) {
    if (op.op === "put") records.set(op.record.id, op.record);
    else if (op.op === "done") records.delete(op.id);
    else cursors.set(`${op.stream}/${op.consumer}`, Math.max(cursors.get(`${op.stream}/${op.consumer}`) ?? 0, op.seq));
  }
  return { records: [...records.values()].sort((a, b) => a.id - b.id), cursors };
}

const view = (rs: readonly QueuedRecord[]) => rs.map((r) => `${r.id}:${r.subject}:${r.content.map(text).join("|")}`);
const cursorView = (state: RecoveredState) => new Map(state.cursors.map((c) => [`${c.stream}/${c.consumer}`, c.seq]));

/** The segment file of a log with the highest number. */
function lastFile(dir: string): string | undefined {
  let best: { n: number; path: string } | undefined;
  try {
    for (const name of readdirSync(dir)) {
      const n = segmentNumber(name);
      if (n !== undefined && (best === undefined || n > best.n)) best = { n, path: join(dir, name) };
    }
  } catch { /* no such log yet */ }
  return best?.path;
}

const size = (path: string | undefined) => {
  try {
    return path === undefined ? 0 : statSync(path).size;
  } catch {
    return 0;
  }
};

/** Torn writes made across all runs: the property must have exercised them. */
let tears = 0;

async function run(cmds: Cmd[]): Promise<void> {
  const t = tempDir();
  const c = clock();
  const open: FileStore[] = [];
  const make = () => {
    const s = new FileStore({ dir: t.dir, clock: c, segmentBytes: 4096, fsync: "never" });
    open.push(s);
    return s;
  };
  const logs = { queue: join(t.dir, "queues"), a: join(t.dir, "streams", streamDirName("a")), b: join(t.dir, "streams", streamDirName("b")) };
  try {
    let store = make();
    let state = await store.open();
    // Model: queue ops written (flushed) and pending; journal entries flushed and pending per stream.
    let flushedOps: QueueOp[] = [];
    let pendingOps: QueueOp[] = [];
    const journal: Record<string, { flushed: JournalEntry[]; pending: JournalEntry[] }> = { a: { flushed: [], pending: [] }, b: { flushed: [], pending: [] } };
    /** What was applied is now on disk, in the model too. */
    const markFlushed = (): void => {
      flushedOps = [...flushedOps, ...pendingOps];
      pendingOps = [];
      for (const j of Object.values(journal)) {
        j.flushed.push(...j.pending);
        j.pending = [];
      }
    };
    let nextId = 1;
    const cursorSeq = new Map<string, number>();
    /** What the last flush wrote, per log: file, size before, queue ops / entries before it. Undefined after maintenance. */
    let window: Record<string, { file: string | undefined; from: number; before: number }> | undefined;
    const live = () => fold([...flushedOps, ...pendingOps], flushedOps.length + pendingOps.length).records;

    for (const command of cmds) {
      switch (command.t) {
        case "put": {
          const r = record(nextId++, { content: [new Uint8Array(command.size).fill(7)] });
          store.apply([{ op: "put", record: r }]);
          pendingOps.push({ op: "put", record: r });
          break;
        }
        case "done": {
          const recs = live();
          if (recs.length === 0) break;
          const id = recs[command.pick % recs.length]!.id;
          store.apply([{ op: "done", id }]);
          pendingOps.push({ op: "done", id });
          break;
        }
        case "journal": {
          const j = journal[command.stream]!;
          const all = [...j.flushed, ...j.pending];
          const seq = (all[all.length - 1]?.seq ?? (state.streams.find((s) => s.name === command.stream)?.head ?? 0)) + 1;
          const e = entry(command.stream, seq, "j".repeat(command.size));
          store.apply([{ op: "journal", entry: e }]);
          j.pending.push(e);
          break;
        }
        case "cursor": {
          const key = `${command.stream}/${command.consumer}`;
          const seq = (cursorSeq.get(key) ?? 0) + command.step;
          cursorSeq.set(key, seq);
          store.apply([{ op: "cursor", stream: command.stream, consumer: command.consumer, seq }]);
          pendingOps.push({ op: "cursor", stream: command.stream, consumer: command.consumer, seq });
          break;
        }
        case "flush": {
          const before: NonNullable<typeof window> = {};
          for (const [log, dir] of Object.entries(logs)) {
            before[log] = { file: lastFile(dir), from: size(lastFile(dir)), before: log === "queue" ? flushedOps.length : journal[log]!.flushed.length };
          }
          store.flush();
          for (const [log, dir] of Object.entries(logs)) {
            const file = lastFile(dir);
            if (file !== before[log]!.file) before[log] = { ...before[log]!, file, from: 0 };
          }
          window = before;
          markFlushed();
          break;
        }
        case "maintain":
          await store.maintain();
          // Maintenance writes (and syncs) what it copies: a later tear would not be a torn write of ours.
          window = undefined;
          markFlushed();
          break;
        case "crash": {
          store.crash();
          let minQueue = flushedOps.length;
          const minEntries: Record<string, number> = { a: journal.a!.flushed.length, b: journal.b!.flushed.length };
          // Tear the chosen log's last write, or else the next log (in a fixed order) that the last flush wrote.
          const order = ["queue", "a", "b"];
          const chosen = command.tear === "none" ? [] : [...order.slice(order.indexOf(command.tear)), ...order.slice(0, order.indexOf(command.tear))];
          for (const log of chosen) {
            const w = window?.[log];
            const end = size(w?.file);
            if (w?.file === undefined || end <= w.from) continue;
            truncateSync(w.file, w.from + Math.floor(command.at * (end - w.from)));
            tears++;
            if (log === "queue") minQueue = w.before;
            else minEntries[log] = w.before;
            break;
          }
          store = make();
          state = await store.open();
          // Records: the fold of some prefix of the written queue ops, at least everything before the torn write.
          const ids = state.records.map((r) => r.id);
          assert.deepEqual(ids, [...new Set(ids)].sort((x, y) => x - y), "records unique, in id order");
          const got = JSON.stringify([view(state.records), [...cursorView(state)].sort()]);
          // The shortest matching prefix: ops that change nothing (a put and its done) may or may not have survived.
          let k = minQueue;
          for (; k <= flushedOps.length; k++) {
            const f = fold(flushedOps, k);
            if (JSON.stringify([view(f.records), [...f.cursors].sort()]) === got) break;
          }
          assert.ok(k <= flushedOps.length, `recovered ${got} is no prefix of the written ops`);
          for (const op of flushedOps.slice(0, minQueue)) if (op.op !== "cursor") assert.ok(state.lastId >= (op.op === "put" ? op.record.id : op.id));
          flushedOps = flushedOps.slice(0, k);
          pendingOps = [];
          for (const key of cursorSeq.keys()) cursorSeq.set(key, cursorView(state).get(key) ?? 0);
          nextId = state.lastId + 1;
          // Journals: a prefix of what was written, at least what was written before the torn write.
          for (const name of ["a", "b"]) {
            const j = journal[name]!;
            const read = await store.read(name, { seq: 1 }, 1_000_000, 1 << 30);
            const seqs = read.map((e) => e.seq);
            assert.ok(read.length >= minEntries[name]! && read.length <= j.flushed.length, `journal ${name}: ${read.length} entries`);
            assert.deepEqual(seqs, j.flushed.slice(0, read.length).map((e) => e.seq));
            assert.deepEqual(read.map((e) => text(e.content[0])), j.flushed.slice(0, read.length).map((e) => text(e.content[0])));
            j.flushed = j.flushed.slice(0, read.length);
            j.pending = [];
          }
          window = undefined;
          break;
        }
      }
    }
    // Reads see applied entries, flushed or not.
    for (const name of ["a", "b"]) {
      const j = journal[name]!;
      const read = await store.read(name, { seq: 1 }, 1_000_000, 1 << 30);
      assert.deepEqual(read.map((e) => e.seq), [...j.flushed, ...j.pending].map((e) => e.seq));
    }
    await store.close();
    const final = await make().open();
    assert.deepEqual(view(final.records), view(live()));
  } finally {
    for (const s of open) s.crash();
    t.done();
  }
}

describe("storage log property", () => {
  it("recovers exactly the written, undone records in id order and a prefix of each journal, after any crash", async () => {
    await fc.assert(fc.asyncProperty(fc.array(cmd, { minLength: 1, maxLength: 100, size: "max" }), run), { numRuns: 100 });
    assert.ok(tears > 20, `only ${tears} torn writes`);
  });
});

// The same tests against MemoryStore and FileStore: what one keeps, the other keeps.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../../src/storage/clock.ts";
import type { BrokerStore, StorageOp } from "../../src/storage/types.ts";
import { clock, entry, KINDS, record, text, type StoreKind } from "./helpers.ts";

const seqs = (entries: { seq: number }[]) => entries.map((e) => e.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function withStore(kind: StoreKind, options: Parameters<StoreKind["make"]>[0], body: (s: BrokerStore, restart: () => Promise<BrokerStore>) => Promise<void>) {
  const t = kind.make(options);
  try {
    await t.store.open();
    let current = t.store;
    await body(t.store, async () => {
      await current.close();
      current = t.reopen();
      await current.open();
      return current;
    });
  } finally {
    t.done();
  }
}

for (const kind of KINDS) {
  describe(`store conformance: ${kind.name}`, () => {
    it("opens empty and keeps undone records in id order across a restart, lastId included", async () => {
      const c = clock();
      const t = kind.make({ clock: c });
      try {
        assert.deepEqual(await t.store.open(), { records: [], streams: [], cursors: [], lastId: 0 });
        t.store.apply([{ op: "put", record: record(3) }, { op: "put", record: record(5, { kind: "service", address: "svc" }) }]);
        t.store.apply([{ op: "put", record: record(9) }, { op: "done", id: 3 }, { op: "done", id: 9 }]);
        assert.equal(t.store.pending, true);
        t.store.flush();
        assert.equal(t.store.pending, false);
        await t.store.close();
        const s = t.reopen();
        const state = await s.open();
        assert.deepEqual(state.records, [record(5, { kind: "service", address: "svc" })]);
        assert.equal(state.lastId, 9);
        assert.equal(s.stats().recovery.records, 1);
      } finally {
        t.done();
      }
    });

    it("copies content on apply: the caller may reuse its buffers", async () => {
      await withStore(kind, { clock: clock() }, async (s, restart) => {
        const frame = new TextEncoder().encode("original");
        const ops: StorageOp[] = [{ op: "put", record: record(1, { content: [frame] }) }, { op: "journal", entry: { ...entry("s", 1), content: [frame] } }];
        s.apply(ops);
        frame.fill(0);
        assert.equal(text((await s.read("s", { seq: 1 }, 1, 1000))[0]!.content[0]), "original");
        s.flush();
        const s2 = await restart();
        assert.equal(text((await s2.read("s", { seq: 1 }, 1, 1000))[0]!.content[0]), "original");
      });
    });

    it("keeps a deadline counting across downtime (wall clock), Infinity stays Infinity", async () => {
      const c = clock();
      const t = kind.make({ clock: c });
      try {
        await t.store.open();
        t.store.apply([{ op: "put", record: record(1, { deadline: 6000 }) }, { op: "put", record: record(2) }]);
        await t.store.close();
        // Restart 10 s of wall time later with a core clock that starts again at 0.
        const wallThen = c.wallNow();
        c.offset = wallThen + 10_000;
        c.now = 0;
        const state = await t.reopen().open();
        assert.equal(state.records[0]!.deadline, 6000 - 1000 - 10_000);
        assert.equal(state.records[1]!.deadline, Infinity);
      } finally {
        t.done();
      }
    });

    it("reads a journal from a seq, from before the first, past the head, by count and bytes, including unflushed entries", async () => {
      await withStore(kind, { clock: clock(), segmentBytes: 4096 }, async (s) => {
        for (let i = 1; i <= 300; i++) s.apply([{ op: "journal", entry: entry("s", i, "x".repeat(i % 50)) }]);
        assert.deepEqual(seqs(await s.read("s", { seq: 1 }, 5, 1 << 20)), range(1, 5));
        assert.deepEqual(seqs(await s.read("s", { seq: 0 }, 2, 1 << 20)), [1, 2]);
        assert.deepEqual(seqs(await s.read("s", { seq: 150 }, 1000, 1 << 20)), range(150, 300));
        assert.deepEqual(await s.read("s", { seq: 301 }, 10, 1 << 20), []);
        assert.deepEqual(await s.read("nope", { seq: 1 }, 10, 1 << 20), []);
        // maxBytes: at least one entry, then stop before going over.
        assert.deepEqual(seqs(await s.read("s", { seq: 10 }, 10, 1)), [10]);
        const e = await s.read("s", { seq: 10 }, 10, 130);
        assert.ok(e.length >= 1 && e.length < 10);
        s.flush();
        assert.deepEqual(seqs(await s.read("s", { seq: 299 }, 10, 1 << 20)), [299, 300]);
        const [last] = await s.read("s", { seq: 300 }, 1, 1000);
        assert.deepEqual({ ...last!, time: 0 }, { ...entry("s", 300, "x".repeat(0)), content: [new TextEncoder().encode("")] });
      });
    });

    it("ignores a journal entry whose seq is not after the head", async () => {
      await withStore(kind, { clock: clock() }, async (s) => {
        s.apply([{ op: "journal", entry: entry("s", 5) }, { op: "journal", entry: entry("s", 5, "dup") }, { op: "journal", entry: entry("s", 3) }]);
        const all = await s.read("s", { seq: 1 }, 10, 1 << 20);
        assert.deepEqual(all.map((e) => [e.seq, text(e.content[0])]), [[5, "e5"]]);
        assert.deepEqual(s.stats().streams.map((x) => [x.first, x.head, x.entries]), [[5, 5, 1]]);
      });
    });

    it("reads from a time: the first entry stamped at or after it", async () => {
      const c = clock();
      await withStore(kind, { clock: c, segmentBytes: 4096 }, async (s) => {
        for (let i = 1; i <= 200; i++) {
          c.now += 10;
          s.apply([{ op: "journal", entry: entry("s", i) }]);
        }
        const t100 = (await s.read("s", { seq: 100 }, 1, 1000))[0]!.time;
        assert.deepEqual(seqs(await s.read("s", { time: t100 }, 3, 1 << 20)), [100, 101, 102]);
        assert.deepEqual(seqs(await s.read("s", { time: t100 - 5 }, 1, 1 << 20)), [100]);
        assert.deepEqual(seqs(await s.read("s", { time: 0 }, 1, 1 << 20)), [1]);
        assert.deepEqual(await s.read("s", { time: c.wallNow() + 1 }, 1, 1 << 20), []);
      });
    });

    it("retention by count is exact and survives a restart", async () => {
      await withStore(kind, { clock: clock(), retention: { maxMessages: 10 } }, async (s, restart) => {
        for (let i = 1; i <= 95; i++) s.apply([{ op: "journal", entry: entry("s", i) }]);
        assert.deepEqual(seqs(await s.read("s", { seq: 1 }, 100, 1 << 20)), range(86, 95));
        assert.deepEqual(s.stats().streams.map((x) => [x.first, x.head, x.entries]), [[86, 95, 10]]);
        const s2 = await restart();
        assert.deepEqual(seqs(await s2.read("s", { seq: 1 }, 100, 1 << 20)), range(86, 95));
        assert.deepEqual(s2.stats().streams.map((x) => [x.first, x.head, x.entries]), [[86, 95, 10]]);
      });
    });

    it("retention by bytes drops whole old segments and keeps the journal within maxBytes", async () => {
      await withStore(kind, { clock: clock(), retention: { maxBytes: 64 * 1024 } }, async (s) => {
        for (let i = 1; i <= 2000; i++) s.apply([{ op: "journal", entry: entry("s", i, "y".repeat(100)) }]);
        const [st] = s.stats().streams;
        assert.ok(st!.bytes <= 64 * 1024, `bytes ${st!.bytes}`);
        assert.ok(st!.bytes > 40 * 1024, `bytes ${st!.bytes}`);
        assert.equal(st!.head, 2000);
        assert.deepEqual(seqs(await s.read("s", { seq: 1 }, 10_000, 1 << 22)), range(st!.first, 2000));
      });
    });

    it("retention by age drops segments whose newest entry is older than maxAge, also when idle", async () => {
      const c = clock();
      await withStore(kind, { clock: c, retention: { maxAge: 1000 } }, async (s) => {
        for (let i = 1; i <= 100; i++) {
          c.now += 20;
          s.apply([{ op: "journal", entry: entry("s", i) }]);
        }
        const first = s.stats().streams[0]!.first;
        // Segments roll every maxAge/4 (about 13 entries): the oldest kept one ends after now - maxAge.
        assert.ok(first > 35 && first <= 51, `first ${first}`);
        c.now += 5000;
        // Idle: only the active segment (the newest entries) is left.
        const left = await s.read("s", { seq: 1 }, 1000, 1 << 20);
        assert.ok(left.length > 0 && left.length <= 13, `left ${left.length}`);
        assert.equal(left[left.length - 1]!.seq, 100);
      });
    });

    it("applies the first retention rule whose pattern matches the whole stream name", async () => {
      const rules = [{ pattern: "short\\..*", retention: { maxMessages: 2 } }, { pattern: "short.*", retention: { maxMessages: 5 } }];
      await withStore(kind, { clock: clock(), rules, retention: { maxMessages: 4 } }, async (s) => {
        for (const name of ["short.a", "shortb", "xshort.a", "other"]) {
          for (let i = 1; i <= 10; i++) s.apply([{ op: "journal", entry: entry(name, i) }]);
        }
        assert.deepEqual(s.stats().streams.map((x) => [x.name, x.entries]), [["short.a", 2], ["shortb", 5], ["xshort.a", 4], ["other", 4]]);
      });
    });

    it("keeps the highest cursor per stream and consumer across a restart", async () => {
      await withStore(kind, { clock: clock() }, async (s, restart) => {
        s.apply([
          { op: "cursor", stream: "s", consumer: "a", seq: 5 }, { op: "cursor", stream: "s", consumer: "a", seq: 3 },
          { op: "cursor", stream: "s", consumer: "b", seq: 1 }, { op: "cursor", stream: "t", consumer: "a", seq: 7 },
          { op: "cursor", stream: "s", consumer: "a", seq: 6 }, { op: "cursor", stream: "s", consumer: "b", seq: 1 },
        ]);
        await restart();
      });
      const t = kind.make({ clock: clock() });
      try {
        await t.store.open();
        t.store.apply([{ op: "cursor", stream: "s", consumer: "a", seq: 5 }, { op: "cursor", stream: "s", consumer: "a", seq: 3 }, { op: "cursor", stream: "t", consumer: "a", seq: 7 }]);
        await t.store.close();
        const state = await t.reopen().open();
        const sorted = [...state.cursors].sort((x, y) => x.stream.localeCompare(y.stream));
        assert.deepEqual(sorted, [{ stream: "s", consumer: "a", seq: 5 }, { stream: "t", consumer: "a", seq: 7 }]);
      } finally {
        t.done();
      }
    });

    it("fails with STORAGE_TOO_LARGE on a record over maxRecordBytes, and accepts nothing more", async () => {
      await withStore(kind, { clock: clock(), maxRecordBytes: 1000 }, async (s) => {
        s.apply([{ op: "put", record: record(1, { content: [new Uint8Array(900)] }) }]);
        assert.equal(s.failed, undefined);
        s.apply([{ op: "put", record: record(2, { content: [new Uint8Array(1000)] }) }, { op: "put", record: record(3) }]);
        assert.equal((s.failed as { code?: string } | undefined)?.code, "STORAGE_TOO_LARGE");
        assert.equal(s.stats().writeErrors, 1);
        assert.equal(s.stats().queues.records, 1);
      });
    });
  });
}

describe("store conformance: both stores keep the same journal", () => {
  it("same stats and reads under count, bytes and age retention with rolling segments", async () => {
    const results = [];
    for (const kind of KINDS) {
      const c = new ManualClock(1_700_000_000_000);
      const t = kind.make({ clock: c, segmentBytes: 8192, retention: { maxBytes: 50_000, maxAge: 60_000, maxMessages: 700 } });
      try {
        await t.store.open();
        for (let i = 1; i <= 1500; i++) {
          c.now += 97;
          t.store.apply([{ op: "journal", entry: entry(i % 3 === 0 ? "a" : "b", i, "z".repeat((i * 7) % 90)) }]);
          if (i % 100 === 0) t.store.flush();
        }
        const reads = [];
        for (const name of ["a", "b"]) reads.push((await t.store.read(name, { seq: 1 }, 10_000, 1 << 22)).map((e) => [e.seq, e.time, text(e.content[0])]));
        results.push({ streams: t.store.stats().streams, reads });
      } finally {
        t.done();
      }
    }
    assert.deepEqual(results[1], results[0]);
  });
});

describe("store options", () => {
  it("refuses bad options with STORAGE_CONFIG, accepts the limits", () => {
    for (const kind of KINDS) {
      const bad = [
        { segmentBytes: 4095 }, { maxRecordBytes: 63 }, { maxRecordBytes: 2 ** 32 }, { retention: { maxBytes: 0 } },
        { rules: [{ pattern: "(", retention: {} }] }, { rules: [{ pattern: "x", retention: { maxAge: -1 } }] },
        { fsync: "sometimes" as never },
      ];
      for (const o of bad) assert.throws(() => kind.make({ clock: clock(), ...o }), (e) => (e as { code?: string }).code === "STORAGE_CONFIG", JSON.stringify(o));
      kind.make({ clock: clock(), segmentBytes: 4096, maxRecordBytes: 64 }).done();
      kind.make({ clock: clock(), maxRecordBytes: 2 ** 32 - 1 }).done();
    }
  });
});

import assert from "node:assert/strict";
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { describe, it } from "node:test";
import { FileStore, type FileStoreOptions } from "../../src/storage/file/store.ts";
import { StorageError } from "../../src/storage/errors.ts";
import { segmentFileName, streamDirName } from "../../src/storage/naming.ts";
import { clock, entry, record, tempDir, text } from "./helpers.ts";

const code = (e: unknown) => (e as { code?: string }).code;
const ids = (rs: { id: number }[]) => rs.map((r) => r.id);

/** Runs `body` with a temp dir and a store factory; every store made is crashed and the dir removed at the end. */
async function withDir(body: (dir: string, make: (o?: Partial<FileStoreOptions>) => FileStore) => Promise<void>) {
  const t = tempDir();
  const made: FileStore[] = [];
  const c = clock();
  try {
    await body(t.dir, (o = {}) => {
      const s = new FileStore({ dir: t.dir, clock: c, ...o });
      made.push(s);
      return s;
    });
  } finally {
    for (const s of made) s.crash();
    t.done();
  }
}

const queueFiles = (dir: string) => readdirSync(join(dir, "queues")).filter((f) => f.endsWith(".seg")).sort();

describe("FileStore recovery", () => {
  it("truncates a torn tail of the last queue segment at any byte, keeps every whole record before it, and says so", async () => {
    await withDir(async (dir, make) => {
      const s = make();
      await s.open();
      for (let i = 1; i <= 6; i++) s.apply([{ op: "put", record: record(i) }]);
      await s.close();
      const path = join(dir, "queues", segmentFileName(1));
      const full = readFileSync(path);
      const recordSize = (full.byteLength - 22) / 6;
      for (let cut = full.byteLength - 1; cut >= 22; cut -= 7) {
        writeFileSync(path, full.subarray(0, cut));
        const r = make();
        const state = await r.open();
        const whole = Math.floor((cut - 22) / recordSize);
        assert.deepEqual(ids(state.records), Array.from({ length: whole }, (_, i) => i + 1), `cut at ${cut}`);
        const torn = (cut - 22) % recordSize !== 0;
        const st = r.stats().recovery;
        assert.equal(st.discardedRecords, torn ? 1 : 0);
        assert.equal(st.discardedBytes, torn ? cut - 22 - whole * recordSize : 0);
        if (torn) assert.match(st.notes[0]!, /truncated/);
        assert.equal(statSync(path).size, 22 + whole * recordSize, "the torn tail is cut off the file");
        // Appends continue after the cut and survive.
        r.apply([{ op: "put", record: record(100 + cut) }]);
        await r.close();
        const again = make();
        assert.deepEqual(ids((await again.open()).records).slice(-1), [100 + cut]);
        await again.close();
      }
    });
  });

  it("skips the rest of a corrupt non-last segment with a note, and recovers the others", async () => {
    await withDir(async (dir, make) => {
      const s = make({ segmentBytes: 4096 });
      await s.open();
      for (let i = 1; i <= 200; i++) s.apply([{ op: "put", record: record(i) }]);
      await s.close();
      const files = queueFiles(dir);
      assert.ok(files.length >= 3);
      const first = join(dir, "queues", files[0]!);
      const bytes = readFileSync(first);
      bytes[1000]! ^= 0xff;
      writeFileSync(first, bytes);
      const r = make({ segmentBytes: 4096 });
      const got = ids((await r.open()).records);
      const st = r.stats().recovery;
      assert.equal(st.discardedRecords, 1);
      assert.match(st.notes[0]!, /skipped/);
      assert.ok(got.length > 100 && got.length < 200, `${got.length} records`);
      assert.deepEqual(got.slice(-100), Array.from({ length: 100 }, (_, i) => 101 + i));
      assert.equal(got[got.length - 1], 200);
      assert.equal(statSync(first).size, bytes.byteLength, "a non-last segment is not truncated");
    });
  });

  it("truncates a torn journal tail and continues the sequence after it", async () => {
    await withDir(async (dir, make) => {
      const s = make();
      await s.open();
      for (let i = 1; i <= 10; i++) s.apply([{ op: "journal", entry: entry("j", i) }]);
      await s.close();
      const path = join(dir, "streams", "j", segmentFileName(1));
      truncateSync(path, statSync(path).size - 3);
      const r = make();
      assert.deepEqual((await r.open()).streams, [{ name: "j", first: 1, head: 9 }]);
      assert.equal(r.stats().recovery.entries, 9);
      r.apply([{ op: "journal", entry: entry("j", 10, "again") }]);
      const got = await r.read("j", { seq: 8 }, 10, 1 << 20);
      assert.deepEqual(got.map((e) => [e.seq, text(e.content[0])]), [[8, "e8"], [9, "e9"], [10, "again"]]);
    });
  });

  it("deletes a last segment torn inside its header, and sets aside an unreadable one elsewhere", async () => {
    await withDir(async (dir, make) => {
      const s = make({ segmentBytes: 4096 });
      await s.open();
      for (let i = 1; i <= 100; i++) s.apply([{ op: "put", record: record(i) }]);
      await s.close();
      const files = queueFiles(dir);
      writeFileSync(join(dir, "queues", segmentFileName(99)), Uint8Array.of(0x4d, 0x4c, 0x4d));
      const firstPath = join(dir, "queues", files[0]!);
      const bytes = readFileSync(firstPath);
      bytes[2] = 0;
      writeFileSync(firstPath, bytes);
      const r = make({ segmentBytes: 4096 });
      const state = await r.open();
      assert.equal(state.records[state.records.length - 1]!.id, 100);
      assert.equal(existsSync(join(dir, "queues", segmentFileName(99))), false);
      assert.equal(existsSync(`${firstPath}.bad`), true);
      assert.equal(r.stats().recovery.notes.length, 2);
      assert.equal(state.lastId, 100);
    });
  });

  it("refuses a segment of another format version with STORAGE_VERSION and leaves it untouched", async () => {
    await withDir(async (dir, make) => {
      const s = make();
      await s.open();
      s.apply([{ op: "put", record: record(1) }]);
      await s.close();
      const path = join(dir, "queues", segmentFileName(1));
      const bytes = readFileSync(path);
      bytes[4] = 2;
      writeFileSync(path, bytes);
      await assert.rejects(make().open(), (e) => e instanceof StorageError && e.code === "STORAGE_VERSION" && /version 2/.test(e.message));
      assert.deepEqual(readFileSync(path), bytes);
      // The lock was released: fixing the file lets a store open.
      bytes[4] = 1;
      writeFileSync(path, bytes);
      assert.deepEqual(ids((await make().open()).records), [1]);
    });
  });

  it("keeps lastId when every record is done and old segments are gone", async () => {
    await withDir(async (_dir, make) => {
      const s = make({ segmentBytes: 4096 });
      await s.open();
      for (let i = 1; i <= 100; i++) s.apply([{ op: "put", record: record(i) }, { op: "done", id: i }]);
      s.flush();
      for (let i = 0; i < 20; i++) await s.maintain();
      assert.equal(s.stats().queues.segments, 1);
      await s.close();
      const state = await make({ segmentBytes: 4096 }).open();
      assert.deepEqual([state.records.length, state.lastId], [0, 100]);
    });
  });
});

describe("FileStore compaction", () => {
  it("deletes done segments and compacts mostly-done ones, keeping ids and order across a restart", async () => {
    await withDir(async (dir, make) => {
      const s = make({ segmentBytes: 4096 });
      await s.open();
      const keep: number[] = [];
      for (let i = 1; i <= 400; i++) {
        s.apply([{ op: "put", record: record(i) }]);
        if (i % 10 === 0) keep.push(i);
      }
      s.apply([{ op: "cursor", stream: "s", consumer: "c", seq: 9 }]);
      for (let i = 1; i <= 400; i++) if (i % 10 !== 0) s.apply([{ op: "done", id: i }]);
      s.flush();
      const before = s.stats().queues;
      for (let i = 0; i < 60; i++) await s.maintain();
      const after = s.stats().queues;
      assert.ok(after.segments < before.segments / 2, `${before.segments} -> ${after.segments} segments`);
      assert.ok(after.bytes < before.bytes / 2, `${before.bytes} -> ${after.bytes} bytes`);
      assert.equal(after.records, 40);
      assert.equal(queueFiles(dir).length, after.segments);
      s.apply([{ op: "done", id: 10 }]);
      await s.close();
      const state = await make({ segmentBytes: 4096 }).open();
      assert.deepEqual(ids(state.records), keep.slice(1));
      assert.deepEqual(state.cursors, [{ stream: "s", consumer: "c", seq: 9 }]);
      assert.equal(state.lastId, 400);
    });
  });

  it("keeps a segment whose DONE records cancel PUTs of an older segment that still exists", async () => {
    await withDir(async (_dir, make) => {
      const s = make({ segmentBytes: 4096 });
      await s.open();
      let id = 0;
      while (s.stats().queues.segments < 2) s.apply([{ op: "put", record: record(++id) }]);
      const live = id;
      // Segment 2: DONE 2 (a PUT of segment 1, which stays mostly live), then records done at once.
      s.apply([{ op: "done", id: 2 }]);
      while (s.stats().queues.segments < 3) s.apply([{ op: "put", record: record(++id) }, { op: "done", id }]);
      s.flush();
      for (let i = 0; i < 10; i++) await s.maintain();
      await s.close();
      const state = await make({ segmentBytes: 4096 }).open();
      assert.deepEqual(ids(state.records), Array.from({ length: live }, (_, i) => i + 1).filter((x) => x !== 2));
    });
  });

  it("recovers a record once when an interrupted compaction left it in two segments, and a later DONE ends both", async () => {
    await withDir(async (dir, make) => {
      const s = make({ segmentBytes: 4096 });
      await s.open();
      s.apply([{ op: "put", record: record(1) }]);
      await s.close();
      // The same PUT again in a later segment, as a compaction copies it before deleting the original.
      copyFileSync(join(dir, "queues", segmentFileName(1)), join(dir, "queues", segmentFileName(2)));
      const r = make({ segmentBytes: 4096 });
      assert.deepEqual(ids((await r.open()).records), [1]);
      r.apply([{ op: "done", id: 1 }]);
      await r.close();
      assert.deepEqual(ids((await make({ segmentBytes: 4096 }).open()).records), []);
    });
  });
});

describe("FileStore lock", () => {
  it("refuses a second store on the same directory, in this process and from a live process", async () => {
    await withDir(async (dir, make) => {
      const a = make();
      await a.open();
      await assert.rejects(make().open(), (e) => code(e) === "STORAGE_LOCKED");
      await a.close();
      const b = make();
      await b.open();
      await b.close();
      // A lock held by a live process (pid 1 always exists).
      writeFileSync(join(dir, "LOCK"), "1\n");
      await assert.rejects(make().open(), (e) => code(e) === "STORAGE_LOCKED" && /process 1/.test((e as Error).message));
    });
  });

  it("takes over a lock left by a process that is gone", async () => {
    await withDir(async (dir, make) => {
      writeFileSync(join(dir, "LOCK"), "2147483646\n");
      const s = make();
      await s.open();
      assert.equal(readFileSync(join(dir, "LOCK"), "utf8").trim(), String(process.pid));
      await s.close();
      assert.equal(existsSync(join(dir, "LOCK")), false);
    });
  });
});

describe("FileStore disk errors", () => {
  it("fails to open a directory that cannot be created (parent is a regular file) with STORAGE_IO", async () => {
    const t = tempDir();
    try {
      writeFileSync(join(t.dir, "file"), "x");
      await assert.rejects(new FileStore({ dir: join(t.dir, "file", "data"), clock: clock() }).open(), (e) => code(e) === "STORAGE_IO");
    } finally {
      t.done();
    }
  });

  it("sets failed and counts writeErrors when a write fails, never throwing from apply or flush", async () => {
    await withDir(async (dir, make) => {
      const s = make({ fsync: "always" });
      await s.open();
      // queues/ becomes a regular file: creating the first segment fails, for root too.
      rmSync(join(dir, "queues"), { recursive: true });
      writeFileSync(join(dir, "queues"), "not a directory");
      s.apply([{ op: "put", record: record(1) }]);
      s.flush();
      assert.equal(code(s.failed), "STORAGE_IO");
      assert.equal(s.stats().writeErrors, 1);
      assert.match(s.stats().lastError!, /cannot write/);
      s.apply([{ op: "put", record: record(2) }]);
      s.flush();
      assert.equal(s.stats().writeErrors, 1);
      assert.equal(s.pending, false);
      await assert.rejects(s.sync(), (e) => code(e) === "STORAGE_IO");
      await s.close();
    });
  });
});

describe("FileStore journal", () => {
  it("reads any position of a journal spread over many segments, from disk and from the unflushed tail", async () => {
    await withDir(async (_dir, make) => {
      const s = make({ segmentBytes: 16 * 1024 });
      await s.open();
      for (let i = 1; i <= 3000; i++) {
        s.apply([{ op: "journal", entry: entry("big", i, "p".repeat(i % 200)) }]);
        if (i === 2900) s.flush();
      }
      assert.ok(s.stats().streams[0]!.segments > 10);
      for (const from of [1, 2, 77, 1234, 2899, 2900, 2901, 2999, 3000]) {
        const got = await s.read("big", { seq: from }, 3, 1 << 20);
        assert.deepEqual(got.map((e) => e.seq), [from, from + 1, from + 2].filter((x) => x <= 3000), `from ${from}`);
        assert.equal(text(got[0]!.content[0]), "p".repeat(from % 200));
      }
      // One big read crosses segment boundaries without a gap.
      const all = await s.read("big", { seq: 1 }, 5000, 64 << 20);
      assert.deepEqual(all.map((e) => e.seq), Array.from({ length: 3000 }, (_, i) => i + 1));
    });
  });

  it("reads an entry larger than a read chunk", async () => {
    await withDir(async (_dir, make) => {
      const s = make();
      await s.open();
      s.apply([{ op: "journal", entry: entry("s", 1, "a") }, { op: "journal", entry: entry("s", 2, "b".repeat(300_000)) }, { op: "journal", entry: entry("s", 3, "c") }]);
      s.flush();
      const got = await s.read("s", { seq: 1 }, 10, 1);
      assert.deepEqual(got.map((e) => e.seq), [1]);
      const two = await s.read("s", { seq: 2 }, 10, 1);
      assert.equal(two[0]!.content[0]!.byteLength, 300_000);
      assert.deepEqual((await s.read("s", { seq: 2 }, 10, 1 << 20)).map((e) => e.seq), [2, 3]);
    });
  });

  it("stores a stream under a safe directory name and recovers its real name from the segment header", async () => {
    await withDir(async (dir, make) => {
      const names = ["Weather/EU", "..", "", "é ü", "x".repeat(255)];
      const s = make();
      await s.open();
      for (const n of names) s.apply([{ op: "journal", entry: entry(n, 1) }]);
      await s.close();
      const dirs = readdirSync(join(dir, "streams")).sort();
      assert.deepEqual(dirs, names.map(streamDirName).sort());
      for (const d of dirs) assert.match(d, /^[a-z0-9._%~-]+$/);
      const state = await make().open();
      assert.deepEqual(state.streams.map((x) => x.name).sort(), [...names].sort());
    });
  });
});

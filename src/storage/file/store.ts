/**
 * The file store: an append-only, segmented log under a data directory (design.md §5).
 *
 * Layout: `dir/LOCK`, `dir/queues/<index>.seg` (PUT, DONE and CURSOR records) and
 * `dir/streams/<stream>/<first seq>.seg` (JOURNAL records). `apply` encodes into in-memory
 * batches (one per file), `flush` writes each batch with one write call, `sync` flushes and
 * fdatasyncs every file written since the last sync, shared by concurrent callers (group commit).
 * The files of this folder (`src/storage/file/`) are the only ones in src/storage that do I/O.
 */
import { closeSync, fsync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { clearInterval, setInterval, setTimeout } from "node:timers";
import { crc32 } from "node:zlib";
import {
  BodyReader, decodeCursor, decodeJournal, decodeSegmentHeader, encodeCursor, encodeDone, encodeJournal, encodePut,
  encodeSegmentHeader, RecordType, SegmentKind,
} from "../codec.ts";
import type { ByteWriter } from "../byte-writer.ts";
import { StorageError } from "../errors.ts";
import { recoverQueues, recoverStreams, type FileJournalSegment, type RecoveryTally } from "./recover.ts";
import { lockDirectory } from "./lock.ts";
import { SegmentFile } from "./segment.ts";
import { INDEX_EVERY, SparseIndex } from "../journal-index.ts";
import { GroupCommit } from "../group-commit.ts";
import { cursorKey, QueueLedger } from "../ledger.ts";
import { segmentAt } from "../memory-store.ts";
import { segmentFileName, streamDirName } from "../naming.ts";
import { DEFAULT_SYNC_INTERVAL, emptyRecovery, resolveOptions, type ResolvedOptions, type StoreOptions } from "../options.ts";
import { JournalBook, retentionOf, rollLimits } from "../retention.ts";
import { scanRecords } from "../scan.ts";
import type {
  BrokerStore, FsyncPolicy, JournalEntry, QueuedRecord, ReadFrom, RecoveredState, StorageOp, StorageStats,
} from "../types.ts";

/** Options of a {@link FileStore}. */
export interface FileStoreOptions extends StoreOptions {
  /** Data directory (created if missing). */
  dir: string;
  /** Sync period under the `interval` policy, ms (default 100). */
  syncInterval?: number;
}

/** How often retention and queue compaction run, ms (also soon after a segment rolls). */
export const MAINTENANCE_INTERVAL = 1000;
/** Pending bytes at which `apply` flushes by itself, so that a batch stays bounded. */
export const FLUSH_BYTES = 8 * 1024 * 1024;

interface FileJournal {
  readonly name: string;
  readonly dir: string;
  readonly book: JournalBook<FileJournalSegment>;
}

type Crc = (data: Uint8Array, initial?: number) => number;
const crc: Crc = crc32 as Crc;

function ioError(e: unknown, what: string): StorageError {
  return e instanceof StorageError ? e : new StorageError("STORAGE_IO", `${what}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}

function syncDirectory(dir: string): Promise<void> {
  return new Promise((resolve) => {
    let fd: number;
    try {
      fd = openSync(dir, "r");
    } catch {
      return resolve(); // some platforms cannot open a directory: nothing more to do there
    }
    fsync(fd, () => {
      closeSync(fd);
      resolve();
    });
  });
}

/**
 * @example
 * ```ts
 * const store = new FileStore({ dir: "data", fsync: "always", clock });
 * const state = await store.open();       // what survived the last run
 * store.apply([{ op: "put", record }]);
 * await store.sync();                      // on disk
 * await store.close();
 * ```
 */
export class FileStore implements BrokerStore {
  readonly kind = "file" as const;
  readonly #o: ResolvedOptions;
  readonly #dir: string;
  readonly #syncInterval: number;
  #release: (() => void) | undefined;
  #ledger = new QueueLedger();
  #queueFiles = new Map<number, SegmentFile>();
  #active = 0;
  readonly #journals = new Map<string, FileJournal>();
  /** Files with pending bytes, in the order they got them. */
  readonly #dirty = new Set<SegmentFile>();
  /** Files written since the last sync. */
  readonly #unsynced = new Set<SegmentFile>();
  /** Files being fdatasynced: not to be closed meanwhile. */
  readonly #syncing = new Set<SegmentFile>();
  /** Files no longer appended to: closed once written and synced. */
  readonly #retired = new Set<SegmentFile>();
  /** Files to delete at the next flush. */
  readonly #doomed = new Set<SegmentFile>();
  /** Directories that got new entries since the last sync. */
  readonly #newDirs = new Set<string>();
  #pendingBytes = 0;
  #failed: Error | undefined;
  #writeErrors = 0;
  #recovery = emptyRecovery(0);
  readonly #commit = new GroupCommit(() => this.#syncNow());
  #timers: ReturnType<typeof setInterval>[] = [];
  #opened = false;
  #closed = false;
  #crashed = false;
  #maintaining: Promise<void> | undefined;
  readonly #reader = new BodyReader();

  constructor(options: FileStoreOptions) {
    this.#o = resolveOptions(options, "interval");
    this.#dir = options.dir;
    this.#syncInterval = options.syncInterval ?? DEFAULT_SYNC_INTERVAL;
    if (!(this.#syncInterval > 0)) throw new StorageError("STORAGE_CONFIG", `syncInterval must be positive, got ${this.#syncInterval}`);
  }

  get fsync(): FsyncPolicy {
    return this.#o.fsync;
  }

  get pending(): boolean {
    return this.#dirty.size > 0 && this.#failed === undefined;
  }

  get failed(): Error | undefined {
    return this.#failed;
  }

  /** The data directory. */
  get dir(): string {
    return this.#dir;
  }

  async open(): Promise<RecoveredState> {
    if (this.#opened || this.#closed) throw new StorageError("STORAGE_CONFIG", "a FileStore opens once");
    try {
      mkdirSync(this.#dir, { recursive: true });
    } catch (e) {
      throw ioError(e, `cannot create ${this.#dir}`);
    }
    const release = lockDirectory(this.#dir);
    try {
      const state = this.#recover();
      this.#release = release;
      this.#opened = true;
      this.#startTimers();
      return state;
    } catch (e) {
      for (const f of this.#allFiles()) f.close();
      release();
      throw ioError(e, `cannot recover ${this.#dir}`);
    }
  }

  #recover(): RecoveredState {
    const { clock, maxRecordBytes } = this.#o;
    const started = performance.now();
    const tally: RecoveryTally = { entries: 0, discardedBytes: 0, discardedRecords: 0, notes: [] };
    const queues = recoverQueues(join(this.#dir, "queues"), maxRecordBytes, crc, tally);
    this.#ledger = queues.ledger;
    this.#queueFiles = queues.files;
    for (const n of queues.files.keys()) this.#active = n;
    const streams = recoverStreams(join(this.#dir, "streams"), maxRecordBytes, crc, tally);
    const now = clock.wallNow();
    for (const [name, { dir, segments }] of streams) {
      const journal = this.#newJournal(name, dir);
      for (const seg of segments) journal.book.push(seg);
      for (const gone of journal.book.trim(now)) gone.file.remove();
    }
    const records = queues.records;
    for (let i = 1; i < records.length; i++) {
      if (records[i]!.id < records[i - 1]!.id) {
        records.sort((a, b) => a.id - b.id);
        break;
      }
    }
    // Decoded in the shape of a QueuedRecord, `deadline` still wall-clock time: converted in place.
    for (const r of records) r.deadline = clock.coreOf(r.deadline);
    const cursors = [...this.#ledger.cursors.values()].map(({ stream, consumer, seq }) => ({ stream, consumer, seq }));
    let entries = 0;
    for (const j of this.#journals.values()) entries += j.book.entries;
    this.#recovery = {
      at: clock.wallNow(), ms: performance.now() - started, records: records.length, entries,
      discardedBytes: tally.discardedBytes, discardedRecords: tally.discardedRecords, notes: tally.notes,
    };
    const streamStates = [...this.#journals.values()].map((j) => ({ name: j.name, first: j.book.first, head: j.book.head }));
    return { records: records as QueuedRecord[], streams: streamStates, cursors, lastId: this.#ledger.lastId };
  }

  #startTimers(): void {
    if (this.#o.fsync === "interval") {
      this.#timers.push(setInterval(() => {
        if (this.#dirty.size > 0 || this.#unsynced.size > 0) this.sync().catch(() => {});
      }, this.#syncInterval));
    }
    this.#timers.push(setInterval(() => void this.#maintain(), MAINTENANCE_INTERVAL));
    for (const t of this.#timers) t.unref();
  }

  #newJournal(name: string, dir: string): FileJournal {
    const retention = retentionOf(name, this.#o.retention, this.#o.rules);
    const journal: FileJournal = { name, dir, book: new JournalBook(retention, rollLimits(retention, this.#o.segmentBytes)) };
    this.#journals.set(name, journal);
    return journal;
  }

  *#allFiles(): Iterable<SegmentFile> {
    yield* this.#queueFiles.values();
    for (const j of this.#journals.values()) for (const s of j.book.segments) yield s.file;
    yield* this.#doomed;
  }

  #fail(e: unknown, what: string): void {
    this.#writeErrors++;
    this.#failed ??= ioError(e, what);
  }

  apply(ops: readonly StorageOp[]): void {
    if (this.#failed !== undefined || !this.#opened || this.#closed) return;
    for (const op of ops) {
      switch (op.op) {
        case "put": {
          const r = op.record;
          const size = this.#appendQueue((w) => encodePut(w, r, this.#o.clock.wallOf(r.deadline), crc, this.#o.maxRecordBytes));
          if (size < 0) return this.#tooLarge(`record ${r.id}`);
          this.#ledger.put(r.id, this.#active, size);
          break;
        }
        case "done": {
          if (!this.#ledger.live.has(op.id)) break;
          const size = this.#appendQueue((w) => encodeDone(w, op.id, crc, this.#o.maxRecordBytes));
          this.#ledger.done(op.id, this.#active, size);
          break;
        }
        case "cursor": {
          const prev = this.#ledger.cursors.get(cursorKey(op.stream, op.consumer));
          if (prev !== undefined && op.seq <= prev.seq) break;
          const size = this.#appendQueue((w) => encodeCursor(w, op.stream, op.consumer, op.seq, crc, this.#o.maxRecordBytes));
          if (size < 0) return this.#tooLarge(`cursor of ${op.consumer} on ${op.stream}`);
          this.#ledger.cursor(op.stream, op.consumer, op.seq, this.#active, size);
          break;
        }
        case "journal":
          if (!this.#appendJournal(op.entry)) return this.#tooLarge(`journal entry ${op.entry.stream}#${op.entry.seq}`);
          break;
      }
      this.#afterQueueAppend();
    }
    if (this.#pendingBytes >= FLUSH_BYTES) this.flush();
  }

  #tooLarge(what: string): void {
    this.#writeErrors++;
    this.#failed ??= new StorageError("STORAGE_TOO_LARGE", `${what} exceeds maxRecordBytes (${this.#o.maxRecordBytes})`);
  }

  /** Encodes a record into the active queue segment (created if there is none); returns its size or -1. */
  #appendQueue(encode: (w: ByteWriter) => number): number {
    let file = this.#queueFiles.get(this.#active);
    if (file === undefined) file = this.#newQueueSegment();
    const size = encode(file.writer());
    if (size > 0) {
      this.#dirty.add(file);
      this.#pendingBytes += size;
    }
    return size;
  }

  #afterQueueAppend(): void {
    const file = this.#queueFiles.get(this.#active);
    if (file !== undefined && file.size >= this.#o.segmentBytes) {
      this.#newQueueSegment();
      this.#soon();
    }
  }

  #newQueueSegment(): SegmentFile {
    const old = this.#queueFiles.get(this.#active);
    if (old !== undefined) this.#retired.add(old);
    const index = this.#active + 1;
    const dir = join(this.#dir, "queues");
    const file = new SegmentFile(join(dir, segmentFileName(index)), 0);
    const size = encodeSegmentHeader(file.writer(), SegmentKind.QUEUE, this.#ledger.lastId, "", crc);
    this.#ledger.addSegment(index, size, this.#ledger.lastId);
    this.#queueFiles.set(index, file);
    this.#active = index;
    this.#dirty.add(file);
    this.#newDirs.add(dir);
    return file;
  }

  #appendJournal(e: JournalEntry): boolean {
    const journal = this.#journals.get(e.stream) ?? this.#newJournal(e.stream, join(this.#dir, "streams", streamDirName(e.stream)));
    const { book } = journal;
    if (e.seq <= book.head) return true;
    const time = this.#o.clock.wallNow();
    let seg = book.active ?? this.#newJournalSegment(journal, e.seq, time);
    const w = seg.file.writer();
    const start = w.length;
    const size = encodeJournal(w, e, time, crc, this.#o.maxRecordBytes);
    if (size < 0) return false;
    if (book.needsRoll(size, time)) {
      // Encoded first to learn its size: moved to a new segment as is.
      const bytes = w.bytes.slice(start, start + size);
      w.length = start;
      seg = this.#newJournalSegment(journal, e.seq, time);
      seg.file.writer().raw(bytes);
    }
    seg.index.note(e.seq, seg.file.size - size, time);
    book.record(e.seq, size, time);
    this.#dirty.add(seg.file);
    this.#pendingBytes += size;
    for (const gone of book.trim(time)) this.#doom(gone.file);
    return true;
  }

  #newJournalSegment(journal: FileJournal, base: number, time: number): FileJournalSegment {
    const old = journal.book.active;
    if (old !== undefined) this.#retired.add(old.file);
    const file = new SegmentFile(join(journal.dir, segmentFileName(base)), 0);
    const bytes = encodeSegmentHeader(file.writer(), SegmentKind.JOURNAL, base, journal.name, crc);
    const seg: FileJournalSegment = { base, last: base - 1, entries: 0, bytes, firstTime: time, lastTime: time, file, index: new SparseIndex() };
    journal.book.push(seg);
    this.#dirty.add(file);
    this.#newDirs.add(journal.dir);
    this.#newDirs.add(join(this.#dir, "streams"));
    return seg;
  }

  #doom(file: SegmentFile): void {
    this.#doomed.add(file);
    this.#dirty.delete(file);
    file.deleted = true;
  }

  flush(): void {
    if (this.#failed !== undefined || this.#crashed) return;
    try {
      for (const f of this.#dirty) {
        f.write();
        this.#unsynced.add(f);
        this.#dirty.delete(f);
      }
      this.#pendingBytes = 0;
      for (const f of this.#doomed) {
        if (this.#syncing.has(f)) continue;
        this.#doomed.delete(f);
        this.#unsynced.delete(f);
        this.#retired.delete(f);
        f.remove();
      }
      for (const f of this.#retired) {
        if (this.#dirty.has(f) || this.#syncing.has(f) || (this.#unsynced.has(f) && this.#o.fsync !== "never")) continue;
        this.#retired.delete(f);
        this.#unsynced.delete(f);
        f.close();
        f.release();
      }
    } catch (e) {
      this.#fail(e, `cannot write to ${this.#dir}`);
    }
  }

  sync(): Promise<void> {
    if (!this.#opened) return Promise.resolve();
    return this.#commit.run();
  }

  async #syncNow(): Promise<void> {
    this.flush();
    if (this.#failed !== undefined) throw this.#failed;
    const files = [...this.#unsynced];
    this.#unsynced.clear();
    for (const f of files) this.#syncing.add(f);
    const dirs = [...this.#newDirs];
    this.#newDirs.clear();
    try {
      await Promise.all([...files.map((f) => f.sync()), ...dirs.map(syncDirectory)]);
    } catch (e) {
      this.#fail(e, `cannot sync ${this.#dir}`);
      throw this.#failed;
    } finally {
      for (const f of files) {
        this.#syncing.delete(f);
        if (this.#retired.has(f) && !this.#dirty.has(f) && !this.#unsynced.has(f)) {
          this.#retired.delete(f);
          f.close();
          f.release();
        }
      }
    }
  }

  /** Schedules a maintenance step soon (after a segment rolled). */
  #soon(): void {
    setTimeout(() => void this.#maintain(), 0).unref();
  }

  /**
   * One bounded step of retention (idle streams age out) and queue compaction: at most one queue
   * segment deleted or compacted. Runs by itself every {@link MAINTENANCE_INTERVAL} ms and after
   * a queue segment rolls; concurrent calls share the step in progress.
   */
  maintain(): Promise<void> {
    return this.#maintain();
  }

  #maintain(): Promise<void> {
    if (this.#maintaining !== undefined || this.#closed || this.#failed !== undefined || !this.#opened) return this.#maintaining ?? Promise.resolve();
    const run = (async () => {
      const now = this.#o.clock.wallNow();
      for (const j of this.#journals.values()) for (const gone of j.book.trim(now)) this.#doom(gone.file);
      for (const step of this.#ledger.plan(this.#active, 1)) {
        if (step.op === "compact") await this.#compact(step.index);
        if (this.#closed || this.#failed !== undefined) return;
        const file = this.#queueFiles.get(step.index);
        if (file !== undefined) this.#doom(file);
        this.#queueFiles.delete(step.index);
        this.#ledger.removeSegment(step.index);
      }
      this.flush();
    })().catch((e) => this.#fail(e, "maintenance failed")).finally(() => {
      this.#maintaining = undefined;
    });
    this.#maintaining = run;
    return run;
  }

  /** Copies the live records of queue segment `index` forward (raw, ids kept), then syncs them. */
  async #compact(index: number): Promise<void> {
    const file = this.#queueFiles.get(index);
    if (file === undefined) return;
    this.flush();
    const bytes = file.read(0, file.size);
    const h = decodeSegmentHeader(bytes, crc);
    if (h.status !== "ok") return;
    const reader = this.#reader;
    scanRecords(bytes, h.header.size, bytes.byteLength, this.#o.maxRecordBytes, crc, (type, b, view, body, end, offset) => {
      const raw = b.subarray(offset, end);
      if (type === RecordType.PUT) {
        const id = view.getFloat64(body, true);
        if (!this.#ledger.holds(id, index)) return;
        const size = this.#appendQueue((w) => (w.raw(raw), raw.byteLength));
        this.#ledger.put(id, this.#active, size);
        this.#ledger.moved(id, index);
      } else if (type === RecordType.CURSOR) {
        const c = decodeCursor(reader.reset(b, view, body, end));
        const home = c && this.#ledger.cursors.get(cursorKey(c.stream, c.consumer));
        if (c === undefined || home?.seg !== index || home.seq !== c.seq) return;
        const size = this.#appendQueue((w) => (w.raw(raw), raw.byteLength));
        this.#ledger.cursor(c.stream, c.consumer, c.seq, this.#active, size);
      }
      this.#afterQueueAppend();
    });
    // The copies must be on disk before the original goes, whatever the fsync policy.
    await this.sync();
  }

  async read(stream: string, from: ReadFrom, maxEntries: number, maxBytes: number): Promise<JournalEntry[]> {
    const journal = this.#journals.get(stream);
    const out: JournalEntry[] = [];
    if (journal === undefined || maxEntries <= 0 || this.#closed) return out;
    const { book } = journal;
    for (const gone of book.trim(this.#o.clock.wallNow())) this.#doom(gone.file);
    const segs = book.segments;
    const want = "seq" in from ? Math.max(from.seq, book.first) : book.first;
    let time = "time" in from ? from.time : -Infinity;
    let i = segmentAt(segs, want);
    while (i < segs.length - 1 && segs[i]!.lastTime < time) i++;
    let bytes = 0;
    let full = false;
    const chunk = Math.min(Math.max(64 * 1024, maxBytes + 2 * INDEX_EVERY), 4 * 1024 * 1024);
    const reader = this.#reader;
    for (; i < segs.length && !full; i++) {
      const seg = segs[i]!;
      if (seg.last < want || seg.index.offsets.length === 0) continue;
      let pos = Math.max(seg.index.offsetOf(want), time === -Infinity ? -1 : seg.index.offsetOfTime(time), seg.index.offsets[0]!);
      let length = chunk;
      while (pos < seg.file.size && !full) {
        const data = seg.file.read(pos, length);
        const scan = scanRecords(data, 0, data.byteLength, this.#o.maxRecordBytes, crc, (type, b, view, body, end, offset) => {
          if (type !== RecordType.JOURNAL) return false;
          const seq = view.getFloat64(body, true);
          if (seq < want || view.getFloat64(body + 8, true) < time) return;
          const size = end - offset;
          if (out.length >= maxEntries || (out.length > 0 && bytes + size > maxBytes)) {
            full = true;
            return "stop";
          }
          const e = decodeJournal(reader.reset(b, view, body, end));
          if (e === undefined) return false;
          out.push({ stream, seq: e.seq, time: e.time, sender: e.sender, subject: e.subject, content: e.content });
          bytes += size;
          time = -Infinity;
        });
        pos += scan.end;
        if (scan.stop === "bad") break;
        if (scan.stop === "short") length = Math.max(chunk, scan.need!);
      }
    }
    return out;
  }

  stats(): StorageStats {
    const now = this.#o.clock.wallNow();
    const streams: StorageStats["streams"] = [];
    for (const j of this.#journals.values()) {
      for (const gone of j.book.trim(now)) this.#doom(gone.file);
      const b = j.book;
      streams.push({ name: j.name, bytes: b.bytes, entries: b.entries, first: b.first, head: b.head, segments: b.segments.length });
    }
    return {
      kind: "file", dir: this.#dir, fsync: this.#o.fsync,
      queues: { bytes: this.#ledger.bytes, records: this.#ledger.live.size, segments: this.#ledger.segments.size },
      streams, recovery: { ...this.#recovery, notes: [...this.#recovery.notes] }, writeErrors: this.#writeErrors,
      ...(this.#failed === undefined ? {} : { lastError: this.#failed.message }),
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    await this.#maintaining;
    if (this.#opened && this.#failed === undefined) {
      try {
        await this.sync();
      } catch { /* counted in writeErrors; closing goes on */ }
    }
    this.#closed = true;
    this.#shut();
  }

  /**
   * Stops as a kill -9 would: what was not flushed is lost, files are closed, the lock released.
   * For crash tests.
   */
  crash(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#crashed = true;
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    this.#dirty.clear();
    this.#shut();
  }

  #shut(): void {
    for (const f of this.#allFiles()) {
      try {
        f.close();
      } catch { /* already gone */ }
    }
    this.#release?.();
    this.#release = undefined;
  }
}

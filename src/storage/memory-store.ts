/**
 * A store in memory: the same interface and retention as the file store, nothing on disk. It
 * survives its core: `close()` then `open()` again returns what was kept, the way a file store
 * recovers after a restart (deadlines go through wall-clock time in between).
 */
import { journalRecordSize, putRecordSize, RECORD_HEADER, segmentHeaderSize } from "./codec.ts";
import { StorageError } from "./errors.ts";
import { cursorKey } from "./ledger.ts";
import { emptyRecovery, resolveOptions, type ResolvedOptions, type StoreOptions } from "./options.ts";
import { JournalBook, retentionOf, rollLimits, type JournalSegmentSummary } from "./retention.ts";
import type {
  BrokerStore, FsyncPolicy, JournalEntry, QueuedRecord, ReadFrom, RecoveredState, StorageOp, StorageStats,
} from "./types.ts";

interface MemorySegment extends JournalSegmentSummary {
  readonly entries_: { entry: JournalEntry; size: number }[];
}

/**
 * @example
 * ```ts
 * const store = new MemoryStore({ clock: new ManualClock(Date.now()) });
 * await store.open();
 * store.apply([{ op: "journal", entry: { stream: "s", seq: 1, time: 0, sender: "a", subject: "x", content: [] } }]);
 * await store.read("s", { seq: 1 }, 10, 1 << 20); // [the entry, stamped with a time]
 * ```
 */
export class MemoryStore implements BrokerStore {
  readonly kind = "memory" as const;
  readonly #o: ResolvedOptions;
  /** Live records, deadlines as wall-clock ms. */
  readonly #records = new Map<number, QueuedRecord>();
  readonly #cursors = new Map<string, { stream: string; consumer: string; seq: number }>();
  readonly #journals = new Map<string, JournalBook<MemorySegment>>();
  #lastId = 0;
  #pending = false;
  #failed: Error | undefined;
  #writeErrors = 0;
  #recovery = emptyRecovery(0);

  constructor(options: StoreOptions) {
    this.#o = resolveOptions(options, "never");
  }

  get fsync(): FsyncPolicy {
    return this.#o.fsync;
  }

  get pending(): boolean {
    return this.#pending;
  }

  get failed(): Error | undefined {
    return this.#failed;
  }

  async open(): Promise<RecoveredState> {
    const { clock } = this.#o;
    const records = [...this.#records.values()].sort((a, b) => a.id - b.id).map((r) => ({ ...r, deadline: clock.coreOf(r.deadline) }));
    const now = clock.wallNow();
    for (const book of this.#journals.values()) book.trim(now);
    const streams = [...this.#journals].map(([name, b]) => ({ name, first: b.first, head: b.head }));
    let entries = 0;
    for (const b of this.#journals.values()) entries += b.entries;
    this.#recovery = { ...emptyRecovery(now), records: records.length, entries };
    return { records, streams, cursors: [...this.#cursors.values()].map((c) => ({ ...c })), lastId: this.#lastId };
  }

  apply(ops: readonly StorageOp[]): void {
    if (this.#failed !== undefined) return;
    for (const op of ops) {
      switch (op.op) {
        case "put": this.#put(op.record); break;
        case "done":
          this.#records.delete(op.id);
          if (op.id > this.#lastId) this.#lastId = op.id;
          break;
        case "journal": this.#journal(op.entry); break;
        case "cursor": {
          const key = cursorKey(op.stream, op.consumer);
          const prev = this.#cursors.get(key);
          if (prev === undefined || op.seq > prev.seq) this.#cursors.set(key, { stream: op.stream, consumer: op.consumer, seq: op.seq });
          break;
        }
      }
      if (this.#failed !== undefined) return;
      this.#pending = true;
    }
  }

  #tooLarge(what: string, size: number): void {
    this.#writeErrors++;
    this.#failed = new StorageError("STORAGE_TOO_LARGE", `${what} of ${size} bytes exceeds maxRecordBytes (${this.#o.maxRecordBytes})`);
  }

  #put(r: QueuedRecord): void {
    const size = putRecordSize(r);
    if (size - RECORD_HEADER > this.#o.maxRecordBytes) return this.#tooLarge(`record ${r.id}`, size);
    this.#records.set(r.id, { ...r, deadline: this.#o.clock.wallOf(r.deadline), content: r.content.map((f) => f.slice()) });
    if (r.id > this.#lastId) this.#lastId = r.id;
  }

  #book(stream: string): JournalBook<MemorySegment> {
    let book = this.#journals.get(stream);
    if (book === undefined) {
      const retention = retentionOf(stream, this.#o.retention, this.#o.rules);
      book = new JournalBook<MemorySegment>(retention, rollLimits(retention, this.#o.segmentBytes));
      this.#journals.set(stream, book);
    }
    return book;
  }

  #journal(e: JournalEntry): void {
    const size = journalRecordSize(e);
    if (size - RECORD_HEADER > this.#o.maxRecordBytes) return this.#tooLarge(`journal entry ${e.stream}#${e.seq}`, size);
    const book = this.#book(e.stream);
    if (e.seq <= book.head) return;
    const time = this.#o.clock.wallNow();
    if (book.needsRoll(size, time)) {
      book.push({ base: e.seq, last: e.seq - 1, entries: 0, bytes: segmentHeaderSize(e.stream), firstTime: time, lastTime: time, entries_: [] });
    }
    const entry: JournalEntry = { stream: e.stream, seq: e.seq, time, sender: e.sender, subject: e.subject, content: e.content.map((f) => f.slice()) };
    book.active!.entries_.push({ entry, size });
    book.record(e.seq, size, time);
    book.trim(time);
  }

  flush(): void {
    this.#pending = false;
  }

  async sync(): Promise<void> {
    this.#pending = false;
  }

  async read(stream: string, from: ReadFrom, maxEntries: number, maxBytes: number): Promise<JournalEntry[]> {
    const book = this.#journals.get(stream);
    if (book === undefined) return [];
    book.trim(this.#o.clock.wallNow());
    const out: JournalEntry[] = [];
    const seq = "seq" in from ? Math.max(from.seq, book.first) : book.first;
    // Times are nearly ordered: once one entry is at or after `from.time`, the rest follow in seq order.
    let time = "time" in from ? from.time : -Infinity;
    let bytes = 0;
    for (let i = segmentAt(book.segments, seq); i < book.segments.length; i++) {
      for (const { entry, size } of book.segments[i]!.entries_) {
        if (entry.seq < seq || entry.time < time) continue;
        if (out.length >= maxEntries || (out.length > 0 && bytes + size > maxBytes)) return out;
        out.push(entry);
        bytes += size;
        time = -Infinity;
      }
    }
    return out;
  }

  stats(): StorageStats {
    let bytes = 0;
    for (const r of this.#records.values()) bytes += putRecordSize(r);
    const now = this.#o.clock.wallNow();
    const streams = [...this.#journals].map(([name, b]) => {
      b.trim(now);
      return { name, bytes: b.bytes, entries: b.entries, first: b.first, head: b.head, segments: b.segments.length };
    });
    return {
      kind: "memory", fsync: this.#o.fsync, queues: { bytes, records: this.#records.size, segments: 0 }, streams,
      recovery: { ...this.#recovery, notes: [...this.#recovery.notes] }, writeErrors: this.#writeErrors,
      ...(this.#failed === undefined ? {} : { lastError: this.#failed.message }),
    };
  }

  async close(): Promise<void> {
    this.#pending = false;
  }
}

/** Index of the segment holding `seq` (the last whose base is <= seq; 0 when before all). */
export function segmentAt(segments: readonly { base: number }[], seq: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (segments[mid]!.base <= seq) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

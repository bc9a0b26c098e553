/**
 * The broker's storage interface (design.md §5). The broker core decides *what* must be kept and
 * emits {@link StorageOp}s in the order it makes its decisions; a store applies them in that
 * order. Two stores implement it: `MemoryStore` (tests, replay without a disk) and `FileStore`
 * (an append-only segmented log under a data directory).
 *
 * Times: `deadline` fields use the core's clock (monotonic ms, `Infinity` = none). A store that
 * outlives the process converts them to wall-clock time with the {@link StoreClock} it is given,
 * and back on recovery, so a timeout keeps counting while the broker is down.
 */

/** When the store forces its writes to disk (docs/broker.md "Durability"). */
export type FsyncPolicy = "always" | "interval" | "never";

/** A mailbox message or service request the broker keeps until it is done. */
export interface QueuedRecord {
  /** Assigned by the core: unique, increasing, never reused (recovery resumes after the highest). */
  readonly id: number;
  readonly kind: "mailbox" | "service";
  /** MLM address of the sender ("" = anonymous). */
  readonly sender: string;
  /** Mailbox address or service name. */
  readonly address: string;
  readonly subject: string;
  readonly tracker: string;
  /** Core clock, `Infinity` for none. */
  readonly deadline: number;
  /** Content frames. The store copies what it keeps before `apply` returns. */
  readonly content: readonly Uint8Array[];
}

/** One stream message in a stream's journal. */
export interface JournalEntry {
  readonly stream: string;
  /** Per-stream sequence number, from 1, assigned by the core, never reused. */
  readonly seq: number;
  /** Wall-clock ms when the store took it (stamped by the store, 0 in ops from the core). */
  readonly time: number;
  readonly sender: string;
  readonly subject: string;
  readonly content: readonly Uint8Array[];
}

/** What the core asks a store to do, in order. */
export type StorageOp =
  /** Keep a mailbox message or service request. */
  | { readonly op: "put"; readonly record: QueuedRecord }
  /** A kept record is done (delivered for good, confirmed, expired, withdrawn): never recover it. */
  | { readonly op: "done"; readonly id: number }
  /** Append a stream message to its stream's journal. */
  | { readonly op: "journal"; readonly entry: JournalEntry }
  /** A durable consumer acknowledged everything up to `seq` on `stream`. */
  | { readonly op: "cursor"; readonly stream: string; readonly consumer: string; readonly seq: number };

/** How long a stream's journal keeps entries. The first limit reached trims the oldest entries. */
export interface JournalRetention {
  /** Bytes of entries (as stored). */
  maxBytes: number;
  /** Age in ms (wall clock). */
  maxAge: number;
  /** Number of entries. */
  maxMessages: number;
}

/** Default retention per stream: 256 MiB, 7 days, 10 million entries. */
export const DEFAULT_RETENTION: JournalRetention = {
  maxBytes: 256 * 1024 * 1024,
  maxAge: 7 * 24 * 3600 * 1000,
  maxMessages: 10_000_000,
};

/** A retention override for the streams whose name matches `pattern` (a JS RegExp source, whole name). */
export interface RetentionRule {
  pattern: string;
  retention: Partial<JournalRetention>;
}

/** Converts between the core's clock and wall-clock ms. */
export interface StoreClock {
  /** Wall-clock ms of a core time (`Infinity` stays `Infinity`). */
  wallOf(coreTime: number): number;
  /** Core time of a wall-clock ms (`Infinity` stays `Infinity`). */
  coreOf(wallTime: number): number;
  /** Wall-clock ms now. */
  wallNow(): number;
}

/** A stream's journal as recovered. */
export interface RecoveredStream {
  readonly name: string;
  /** Oldest retained sequence (head + 1 when empty). */
  readonly first: number;
  /** Last sequence ever assigned (0 = none). */
  readonly head: number;
}

/** What recovery found on start (all empty for a new directory or a memory store). */
export interface RecoveredState {
  /** Records not done, in id order (which is the order the core accepted them). */
  readonly records: QueuedRecord[];
  readonly streams: RecoveredStream[];
  /** Durable consumers' acknowledged positions. */
  readonly cursors: { readonly stream: string; readonly consumer: string; readonly seq: number }[];
  /** Highest record id ever used (0 = none): the core continues after it. */
  readonly lastId: number;
}

/** Where a journal read starts. */
export type ReadFrom =
  | { readonly seq: number }
  /** The first entry taken at or after this wall-clock ms. */
  | { readonly time: number };

/** Storage figures for `stats()` and `malamute stat`. */
export interface StorageStats {
  kind: "memory" | "file";
  /** Data directory (file store). */
  dir?: string;
  fsync: FsyncPolicy;
  /** Bytes on disk (or held, memory store) for queued records, and how many live records. */
  queues: { bytes: number; records: number; segments: number };
  streams: { name: string; bytes: number; entries: number; first: number; head: number; segments: number }[];
  /** Last recovery: when it ended (wall ms), how long it took, what it found and what it threw away. */
  recovery: {
    at: number;
    ms: number;
    records: number;
    entries: number;
    discardedBytes: number;
    discardedRecords: number;
    /** Human-readable notes (one per truncated or unreadable segment). */
    notes: string[];
  };
  /** Writes that failed (disk full, permissions); the first error's message. */
  writeErrors: number;
  lastError?: string;
}

/**
 * A broker store. `apply` is synchronous and keeps order; everything else is asynchronous so
 * that a replicated store can implement it later (design.md §5).
 */
export interface BrokerStore {
  readonly kind: "memory" | "file";
  readonly fsync: FsyncPolicy;
  /** Open (and recover) the store. Called once, before anything else. */
  open(): Promise<RecoveredState>;
  /**
   * Apply ops in order. Content is copied before this returns (the caller may reuse its buffers).
   * Never throws: a failed write is counted (`stats().writeErrors`) and reported by `failed`.
   */
  apply(ops: readonly StorageOp[]): void;
  /**
   * Hand everything applied so far to the operating system (survives a kill -9 of the process,
   * not a power cut). Synchronous; cheap when nothing is pending.
   */
  flush(): void;
  /** Make everything applied so far durable (fsync). Resolves when it is. */
  sync(): Promise<void>;
  /** True when something was applied and not flushed yet. */
  readonly pending: boolean;
  /** Set once a write failed (disk full, permissions): the store accepts nothing more. */
  readonly failed: Error | undefined;
  /**
   * Up to `maxEntries` entries (and about `maxBytes`, at least one entry) of `stream`'s journal
   * from `from`, in sequence order, including entries applied but not yet flushed. Starts at the
   * oldest retained entry when `from` is older. Empty when there is nothing at or after `from`.
   */
  read(stream: string, from: ReadFrom, maxEntries: number, maxBytes: number): Promise<JournalEntry[]>;
  stats(): StorageStats;
  /** Flush, sync and close files. Idempotent. */
  close(): Promise<void>;
}

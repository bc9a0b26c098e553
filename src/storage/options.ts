/** Options both stores take, and their defaults. */
import { RECORD_ALLOWANCE } from "./codec.ts";
import { StorageError } from "./errors.ts";
import { checkRetention, compileRules, type CompiledRule } from "./retention.ts";
import { DEFAULT_RETENTION, type FsyncPolicy, type JournalRetention, type RetentionRule, type StoreClock } from "./types.ts";

/** Default size at which a segment file rolls: 64 MiB. */
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
/** Default largest record: the broker's default `maxMessageSize` (64 MiB) plus room for its fields. */
export const DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024 + RECORD_ALLOWANCE;
/** Default sync period under the `interval` policy, ms. */
export const DEFAULT_SYNC_INTERVAL = 100;

/** Options shared by {@link MemoryStore} and `FileStore`. */
export interface StoreOptions {
  /** Converts deadlines between core and wall-clock time, and stamps journal entries. */
  clock: StoreClock;
  /** Default `"interval"` (file), `"never"` (memory, where it only shows in stats). */
  fsync?: FsyncPolicy;
  /** Retention of every stream without a matching rule. Default {@link DEFAULT_RETENTION}. */
  retention?: Partial<JournalRetention>;
  /** Per-stream overrides; the first rule whose pattern matches the whole name applies. */
  rules?: RetentionRule[];
  /** Segment roll size, bytes (default 64 MiB, at least 4096). */
  segmentBytes?: number;
  /** Largest record (default 64 MiB + 1 MiB). A bigger one fails the store with `STORAGE_TOO_LARGE`. */
  maxRecordBytes?: number;
}

/** Options with defaults applied and checked. */
export interface ResolvedOptions {
  clock: StoreClock;
  fsync: FsyncPolicy;
  retention: JournalRetention;
  rules: CompiledRule[];
  segmentBytes: number;
  maxRecordBytes: number;
}

/** Applies defaults; throws `STORAGE_CONFIG` on a bad value. @example resolveOptions({ clock }, "never"); */
export function resolveOptions(o: StoreOptions, fsync: FsyncPolicy): ResolvedOptions {
  checkRetention(o.retention ?? {}, "retention");
  const policy = o.fsync ?? fsync;
  if (policy !== "always" && policy !== "interval" && policy !== "never") {
    throw new StorageError("STORAGE_CONFIG", `fsync must be always, interval or never, got ${String(policy)}`);
  }
  const segmentBytes = o.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  const maxRecordBytes = o.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  if (!Number.isSafeInteger(segmentBytes) || segmentBytes < 4096) {
    throw new StorageError("STORAGE_CONFIG", `segmentBytes must be an integer >= 4096, got ${segmentBytes}`);
  }
  if (!Number.isSafeInteger(maxRecordBytes) || maxRecordBytes < 64 || maxRecordBytes > 0xffff_ffff) {
    throw new StorageError("STORAGE_CONFIG", `maxRecordBytes must be an integer in [64, 2^32), got ${maxRecordBytes}`);
  }
  return {
    clock: o.clock, fsync: policy, retention: { ...DEFAULT_RETENTION, ...o.retention }, rules: compileRules(o.rules ?? []),
    segmentBytes, maxRecordBytes,
  };
}

/** A recovery summary with nothing in it. */
export function emptyRecovery(at: number): { at: number; ms: number; records: number; entries: number; discardedBytes: number; discardedRecords: number; notes: string[] } {
  return { at, ms: 0, records: 0, entries: 0, discardedBytes: 0, discardedRecords: 0, notes: [] };
}

/**
 * Broker storage (design.md §5): the store interface, a memory store and a file store (an
 * append-only segmented log with a length and CRC per record).
 *
 * @example
 * ```ts
 * import { FileStore, systemClock } from "./src/storage/mod.ts";
 * const store = new FileStore({ dir: "data", clock: systemClock(() => performance.now()) });
 * const { records, streams, cursors, lastId } = await store.open();
 * ```
 * @module
 */

export { FileStore, FLUSH_BYTES, MAINTENANCE_INTERVAL } from "./file/store.ts";
export type { FileStoreOptions } from "./file/store.ts";
export { systemClock } from "./file/clock.ts";
export { MemoryStore } from "./memory-store.ts";
export { ManualClock } from "./clock.ts";
export { StorageError } from "./errors.ts";
export type { StorageErrorCode } from "./errors.ts";
export { DEFAULT_MAX_RECORD_BYTES, DEFAULT_SEGMENT_BYTES, DEFAULT_SYNC_INTERVAL } from "./options.ts";
export type { StoreOptions } from "./options.ts";
export { FORMAT_VERSION, RECORD_ALLOWANCE } from "./codec.ts";
export { DEFAULT_RETENTION } from "./types.ts";
export type {
  BrokerStore, FsyncPolicy, JournalEntry, JournalRetention, QueuedRecord, ReadFrom, RecoveredState, RecoveredStream,
  RetentionRule, StorageOp, StorageStats, StoreClock,
} from "./types.ts";

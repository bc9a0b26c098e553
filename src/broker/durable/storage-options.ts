import { FileStore } from "../../storage/file/store.ts";
import { MemoryStore } from "../../storage/memory-store.ts";
import type { BrokerStore, FsyncPolicy, JournalRetention, RetentionRule, StoreClock } from "../../storage/types.ts";

/**
 * Where and how the broker keeps its state (docs/broker.md "Durability"). Give `dir` for a data
 * directory on local disk, `memory: true` for an in-memory store (stream replay without a disk;
 * nothing survives a restart), or your own `store`.
 *
 * @example
 * ```ts
 * const broker = await startBroker({ storage: { dir: "./data", fsync: "interval" } });
 * ```
 */
export interface BrokerStorageOptions {
  /** Data directory (created if missing). One broker at a time may use it. */
  dir?: string;
  /** An in-memory store instead of a directory. */
  memory?: boolean;
  /** A store of your own (takes precedence over `dir` and `memory`). */
  store?: BrokerStore;
  /** When writes are forced to disk. Default `interval`. */
  fsync?: FsyncPolicy;
  /** Under `interval`, ms between syncs (the most a power cut can lose). Default 100. */
  syncInterval?: number;
  /** Size at which a log segment is closed and a new one started. Default 64 MiB. */
  segmentBytes?: number;
  /** Default retention of every stream's journal. */
  retention?: Partial<JournalRetention>;
  /** Per-stream retention overrides, first match wins (a pattern is a JS RegExp matched against the whole name). */
  streams?: RetentionRule[];
  /** Journal stream messages (replay and durable consumers). Default true. */
  journal?: boolean;
  /** After a write error: `refuse` (default) refuses messages that need storing with CONFIRM 306; `memory` serves on without durability. */
  onFailure?: "refuse" | "memory";
}

/** The core's monotonic clock (performance.now) against wall-clock time, for deadlines that must survive a restart. */
export const brokerClock: StoreClock = {
  wallOf: (coreTime) => (coreTime === Infinity ? Infinity : coreTime - performance.now() + Date.now()),
  coreOf: (wallTime) => (wallTime === Infinity ? Infinity : wallTime - Date.now() + performance.now()),
  wallNow: () => Date.now(),
};

/** The store the options ask for, not opened yet; undefined when they ask for none. */
export function createStore(options: BrokerStorageOptions | undefined, maxMessageSize: number): BrokerStore | undefined {
  if (options === undefined) return undefined;
  if (options.store) return options.store;
  const common = { retention: options.retention, rules: options.streams, clock: brokerClock };
  if (options.dir !== undefined && options.dir !== "") {
    return new FileStore({
      ...common,
      dir: options.dir,
      fsync: options.fsync,
      syncInterval: options.syncInterval,
      segmentBytes: options.segmentBytes,
      maxRecordBytes: maxMessageSize + 64 * 1024,
    });
  }
  if (options.memory) return new MemoryStore(common);
  return undefined;
}

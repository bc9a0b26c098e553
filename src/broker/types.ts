/**
 * Types shared by the sans-I/O broker core and the server that drives it.
 * A connection is identified by `conn`, a string key (the hex of the ROUTER routing id);
 * the server keeps the key ↔ routing-id mapping.
 */
import type { BufferPoolStats } from "../util/buffer-pool.ts";
import type { AclOptions } from "./security/acl.ts";
import type { JournalEntry, ReadFrom, RecoveredState, StorageOp, StorageStats } from "../storage/types.ts";

/** Input to {@link BrokerCore.handle}. */
export type BrokerEvent =
  /**
   * A transport peer connected (optional: a context is also created by its first frames).
   * `curveKey`: the client's authenticated CURVE public key (Z85), when the transport has one.
   */
  | { type: "connect"; conn: string; curveKey?: string }
  /**
   * The transport refused a CURVE client's key during the handshake (it got ZMTP ERROR "400"):
   * counted (`curveRefused`) and logged, rate-limited. `key` is Z85.
   */
  | { type: "curve-refused"; key: string; address: string }
  /** One whole multipart message from `conn`, without the routing-id frame. */
  | { type: "frames"; conn: string; frames: Uint8Array[] }
  /** The transport peer went away. */
  | { type: "disconnect"; conn: string }
  /** The transport's unsent backlog for `conn` is high: stop pushing deliveries to it. */
  | { type: "congested"; conn: string }
  /** After `congested`: the backlog for `conn` is low again. */
  | { type: "drained"; conn: string }
  /** Resume work the core deferred (it asked with a `continue` action). */
  | { type: "continue" }
  /** Time passed: run expiries due at `now`. */
  | { type: "tick" }
  /** Graceful stop: tell senders of queued tracked messages, then ignore further input. */
  | { type: "shutdown" }
  /** The answer to a `read` action: journal entries in sequence order, or why there are none. */
  | { type: "journal"; ticket: number; entries: readonly JournalEntry[]; error?: string }
  /** The store can no longer write (disk full, permissions): durable messages are refused from now on. */
  | { type: "storage-failed"; reason: string };

/** Severity of a log action. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Output of {@link BrokerCore.handle}, to be executed in order. */
export type BrokerAction =
  /** Send an encoded MLM message (header + content frames) to `conn`. */
  | { type: "send"; conn: string; frames: Uint8Array[] }
  /** Close the transport connection of `conn`. */
  | { type: "disconnect"; conn: string; reason: string }
  /**
   * The core has deferred work (a large stream fan-out): feed it a `continue` event on a later
   * turn of the event loop, after pending input has been handled.
   */
  | { type: "continue" }
  /**
   * Apply these storage ops, in order, before executing the actions after this one (design.md
   * §5). Only emitted when the core was configured with `storage`. Under the `always` policy, no
   * send after it may leave before the ops are synced.
   */
  | { type: "store"; ops: StorageOp[] }
  /** Read a stream's journal for a consumer; answer with a `journal` event carrying `ticket`. */
  | { type: "read"; ticket: number; stream: string; from: ReadFrom; maxEntries: number; maxBytes: number }
  /** Something worth logging. */
  | { type: "log"; level: LogLevel; message: string; fields?: Record<string, unknown> }
  /**
   * Received content frames the core no longer references (delivered for good, confirmed,
   * expired or refused). Always the last action of a `handle` call, so every send before it
   * has been handed to the transport; an adapter that recycles buffers may reuse these once
   * those sends are written. Content the core keeps elsewhere is never listed.
   */
  | { type: "release"; frames: Uint8Array[] };

/** Bounds on everything the broker holds. All counts are messages, all sizes bytes. */
export interface BrokerLimits {
  /** Connections (contexts) at once; further ones are disconnected. Default 10 000. */
  maxConnections: number;
  /** Largest content (sum of frame sizes) of one message; larger ones are refused. Default 64 MiB. */
  maxMessageSize: number;
  /** Messages stored per mailbox (with `mailboxBytes` bounding their content). Default 100 000. */
  mailboxMessages: number;
  /** Content bytes stored per mailbox (C: `mlm_server/mailbox/size-limit`). Default 64 MiB. */
  mailboxBytes: number;
  /** Log one warning when a mailbox first holds more bytes (C: `size-warn`). Default: never. */
  mailboxWarnBytes: number;
  /** Requests queued per service (with `serviceQueueBytes` bounding their content). Default 100 000. */
  serviceQueueMessages: number;
  /** Content bytes queued per service (C: `mlm_server/service/queue/size-limit`). Default 64 MiB. */
  serviceQueueBytes: number;
  /** Log one warning when a service queue first holds more bytes. Default: never. */
  serviceQueueWarnBytes: number;
  /** Stream deliveries buffered per credit-aware reader that has no credit. Default 10 000. */
  streamBufferMessages: number;
  /** Content bytes buffered per such reader. Default 16 MiB. */
  streamBufferBytes: number;
  /** Malformed messages a connection may send before it is disconnected. Default 100. */
  maxMalformed: number;
  /** Tracked deliveries per connection whose CONFIRM the broker still waits for. Default 10 000. */
  pendingConfirms: number;
  /**
   * Content bytes of unconfirmed requests one worker may hold in flight; beyond it the oldest
   * counts as done (as for a C worker) and is no longer requeued. Default 64 MiB.
   */
  inflightBytes: number;
  /**
   * Messages the transport may hold unsent for one peer (libzmq's SNDHWM; ROUTER
   * `sendHighWaterMark.messages`). From half of it the peer counts as congested: stream
   * deliveries to it are dropped (credit-aware readers: buffered), mailbox messages and
   * service requests wait in the broker. Default 10 000.
   */
  peerSendMessages: number;
  /** Bytes the transport may hold unsent for one peer (ROUTER `sendHighWaterMark.bytes`). Default 32 MiB. */
  peerSendBytes: number;
  /** Frames in one incoming message; more closes the connection (transport). Default 1024. */
  maxMessageParts: number;
  /**
   * Bytes held across all connections in messages not yet completely received (transport
   * `receiveBudget`); a connection whose next frame would exceed it is closed. Default 256 MiB.
   */
  receiveBudget: number;
  /** ZMTP greeting and security handshake must finish within this many ms, else the connection closes. Default 10 000. */
  handshakeTimeout: number;
  /**
   * A connection that has not sent CONNECTION-OPEN this many ms after it appeared is closed,
   * whatever else it sends (PINGs do not extend it). Default 10 000; 0 = never.
   */
  openTimeout: number;
  /** Stream subscriptions (STREAM-READ stream + pattern) per connection; more get ERROR 300. Default 1 000. */
  patternsPerConnection: number;
  /** SERVICE-OFFERs per connection; more get ERROR 300 `too many offers` (the session stays). Default 1 000. */
  offersPerConnection: number;
  /**
   * Messages stored in all mailboxes and service queues together; beyond it a message that
   * would have to be stored is refused (CONFIRM 302 `broker storage full`). Default 1 000 000.
   */
  storedMessages: number;
  /** Content bytes stored in all mailboxes and service queues together; as `storedMessages`. Default 1 GiB. */
  storedBytes: number;
  /** Distinct patterns per stream; a STREAM-READ with a new pattern beyond it gets ERROR 300. Default 10 000. */
  patternsPerStream: number;
  /**
   * Pattern matches one event may do while fanning out STREAM-SENDs; the rest continues in
   * later turns of the event loop, so a stream with many patterns cannot starve other clients.
   * Per-stream order is kept. A match against a subject of n characters counts 1 + n/32 (a
   * 255-byte subject: 8). Default 2 000; 0 = no bound.
   */
  matchesPerTurn: number;
  /**
   * Expiries one event may process: queued messages past their timeout (each CONFIRM 301 to a
   * tracked sender) and connections past `timeout` or `openTimeout`. The rest continue in later
   * turns of the event loop, so 100 000 calls timing out together cannot stall other clients;
   * a queued message past its deadline is never delivered meanwhile. Default 1 000; 0 = no bound.
   */
  expiriesPerTurn: number;
  /** STREAM-SENDs waiting for their fan-out to continue (all streams); more are dropped and counted. Default 10 000. */
  streamBacklogMessages: number;
  /** Content bytes of those waiting STREAM-SENDs. Default 64 MiB. */
  streamBacklogBytes: number;
  /** Log lines of one kind (info and above) per `logWindow`; the rest are counted in one summary line. Default 10. */
  logBurst: number;
  /** Window of `logBurst`, ms. Default 60 000. */
  logWindow: number;
  /** Stream consumers (`malamute.stream` READ) per connection; more are refused (`LIMIT`). Default 100. */
  consumersPerConnection: number;
  /** Durable consumer names the broker keeps positions for; a READ with a new name beyond it is refused. Default 10 000. */
  durableConsumers: number;
  /** Streams with a journal (each holds one open file with a data directory); a STREAM-SEND to a further new stream is delivered live but not journaled (logged). Default 1 000. */
  journaledStreams: number;
  /** Journal entries read per step of a consumer's replay. Default 512. */
  replayBatchMessages: number;
  /** About this many bytes read per step of a replay (at least one entry). Default 1 MiB. */
  replayBatchBytes: number;
}

/** Configuration of a {@link BrokerCore}. */
export interface BrokerConfig {
  /** Client expiry in ms after its last input (C: `server/timeout`). Default 10 000; 0 = never. */
  timeout?: number;
  limits?: Partial<BrokerLimits>;
  /**
   * Keep mailboxes, service queues and stream journals in a store: the core emits `store` and
   * `read` actions (design.md §5). Without it the broker holds everything in memory only.
   */
  storage?: CoreStorageConfig;
  /** Which names each CURVE client key may use (see security/acl.ts). Default: no ACL, everything allowed. */
  acl?: AclOptions;
}

/** How the core uses its store. */
export interface CoreStorageConfig {
  /** Journal stream messages (replay, durable consumers). Default true. */
  journal?: boolean;
  /**
   * After a `storage-failed` event: `refuse` (default) refuses messages that would have to be
   * stored (CONFIRM 306); `memory` keeps serving from memory without durability.
   */
  onFailure?: "refuse" | "memory";
  /** The store's figures, for `stats()` and the admin STATS answer. */
  describe?: () => StorageStats;
}

export type { RecoveredState };

/** Cumulative counters. */
export interface BrokerCounters {
  /** Deliveries sent (STREAM-, MAILBOX- and SERVICE-DELIVER). */
  delivered: number;
  /** Messages that had to wait (mailbox, service queue, or reader buffer). */
  queued: number;
  /** Queued messages discarded because their timeout passed. */
  expired: number;
  /** Messages refused or discarded: limits, no route, reader buffer overflow, lost on disconnect. */
  dropped: number;
  /** Inputs that failed to decode. */
  malformed: number;
  /** CONFIRMs forwarded from recipients to senders. */
  confirmed: number;
  /** Failure CONFIRMs the broker sent itself. */
  failed: number;
  /** In-flight requests put back in their queue because the worker left. */
  requeued: number;
  /** Connections that expired (no input for `timeout` ms). */
  connectionsExpired: number;
  /** Connections cut off by the broker (malformed input, connection limit). */
  connectionsRefused: number;
  /** Stream deliveries dropped because the reader's connection was congested (libzmq drops at SNDHWM). */
  droppedCongested: number;
  /** STREAM-READs refused for `patternsPerConnection`, `patternsPerStream` or an invalid pattern, and SERVICE-OFFERs for `offersPerConnection` or an invalid pattern. */
  subscriptionsRefused: number;
  /** Connections closed because they sent no CONNECTION-OPEN within `openTimeout`. */
  openTimeouts: number;
  /** Log lines left out by the rate limit (`logBurst` per `logWindow`). */
  logsSuppressed: number;
  /** Tracked service requests their senders withdrew (CONFIRM 305, docs/mlm-extensions.md §2). */
  withdrawn: number;
  /** Messages stored in the broker's store (mailbox and service records; not journal entries). */
  stored: number;
  /** Messages recovered from the store at start. */
  recovered: number;
  /** Journal entries delivered to consumers from history (not live). */
  replayed: number;
  /** Messages refused because the store could not write (CONFIRM 306). */
  storageRefused: number;
  /** Commands refused by the ACL (ERROR 300 or CONFIRM 300 `not authorized`). */
  aclRefused: number;
  /** CURVE clients refused during the handshake (ZMTP ERROR "400"), as reported by the server. */
  curveRefused: number;
}

/**
 * One connection in {@link BrokerStats.clientList}.
 *
 * @example
 * ```ts
 * for (const c of broker.stats().clientList) console.log(c.address, c.idleMs, c.reads);
 * ```
 */
export interface BrokerClientStats {
  /** The transport's connection id (hex routing id). */
  conn: string;
  /** Its authenticated CURVE public key (Z85, 40 characters); absent without CURVE. */
  curveKey?: string;
  /** MLM address; "" when anonymous or not opened yet. */
  address: string;
  /** Completed CONNECTION-OPEN. */
  opened: boolean;
  /** Milliseconds since its last input. */
  idleMs: number;
  /** Sent CREDIT at least once, so deliveries wait for credit. */
  creditAware: boolean;
  /** Credit left (meaningful when `creditAware`). */
  credit: number;
  /** Stream it writes to ("" = none). */
  writes: string;
  /** Streams it reads. */
  reads: string[];
  /** Services it offers. */
  offers: string[];
  /** Tracked requests delivered to it and not confirmed yet. */
  inflight: number;
  /** Stream deliveries waiting for its credit. */
  buffered: number;
  /** The transport's backlog for it is high: deliveries are held back. */
  congested: boolean;
}

/**
 * Receives the broker's per-service figures as they happen (the HTTP metrics adapter records
 * them into histograms). Called synchronously inside `handle`, so it must be cheap and must not
 * keep `content` (its buffers may be reused once `handle` returns).
 *
 * @example
 * ```ts
 * core.observe({
 *   dispatched: (service, waitMs) => waits.record(service, waitMs),
 *   confirmed: (code, service, roundTripMs) => confirms.count(code),
 *   watched: new Set(["forge.events"]),
 *   published: (stream, subject, sender, content) => console.log(stream, subject, sender, content.length),
 * });
 * ```
 */
export interface BrokerObserver {
  /** A service request left for a worker after `waitMs` in the queue (0: delivered at once; -1: unknown, recovered). */
  dispatched(service: string, waitMs: number): void;
  /**
   * A CONFIRM reached (or the broker sent one to) a tracked sender with `code`. `service` is set
   * when it settles a service request, `roundTripMs` when that request was held in flight
   * (dispatch to the worker's CONFIRM).
   */
  confirmed(code: number, service: string | undefined, roundTripMs: number | undefined): void;
  /** Streams whose STREAM-SENDs go to `published` (contents: only these, chosen by the operator). */
  readonly watched?: ReadonlySet<string>;
  published?(stream: string, subject: string, sender: string, content: readonly Uint8Array[]): void;
}

/** Messages and bytes that crossed the broker's socket, by MLM command (`startBroker` only). */
export interface BrokerTraffic {
  messagesIn: number;
  messagesOut: number;
  /** Sum of all frame sizes (MLM headers included). */
  bytesIn: number;
  bytesOut: number;
  /** Messages received by MLM command name, e.g. `SERVICE_SEND` (malformed headers: `UNKNOWN`). */
  kindsIn: Record<string, number>;
  kindsOut: Record<string, number>;
}

/**
 * Where the broker serves HTTP (metrics, admin API); see `malamute`'s `startBroker`.
 *
 * @example
 * ```ts
 * const http: BrokerHttpSettings = { listen: "127.0.0.1:8222", auth: { bearer: "s3cret" } };
 * ```
 */
export interface BrokerHttpSettings {
  /** `host:port` to bind (port 0 = any free one). Default host when only `:port` is given: 127.0.0.1. */
  listen: string;
  /** Ask every request for a bearer token or basic-auth credentials. Default: none. */
  auth?: { bearer: string } | { username: string; password: string };
}

/** Snapshot returned by {@link BrokerCore.stats}. */
export interface BrokerStats {
  /** Contexts that completed CONNECTION-OPEN. */
  clients: number;
  /** All contexts, opened or not. */
  connections: number;
  /**
   * Every context, opened or not (the admin STATS answer lists at most the first 1,000, in
   * connection order; `connections` has the total).
   */
  clientList: BrokerClientStats[];
  mailboxes: { address: string; depth: number; bytes: number }[];
  streams: { name: string; readers: number; writers: number }[];
  /** Journaled streams: last sequence number and consumers attached (empty without a journal). */
  journals?: { name: string; head: number; consumers: number }[];
  services: { name: string; workers: number; queued: number; bytes: number; inflight: number }[];
  counters: BrokerCounters;
  /** Tracked service requests held (queued, or in flight at a credit-aware worker): the ones a sender may withdraw. */
  held: number;
  /** The store's figures, when the broker has one. */
  storage?: StorageStats;
  /** Reuse of large message buffers, when the server recycles them (`startBroker`, zmtp on Node). */
  bufferPool?: BufferPoolStats;
  /** Socket traffic, when a server runs the core (`startBroker`). */
  traffic?: BrokerTraffic;
}

/**
 * Types shared by the sans-I/O broker core and the server that drives it.
 * A connection is identified by `conn`, a string key (the hex of the ROUTER routing id);
 * the server keeps the key ↔ routing-id mapping.
 */
import type { BufferPoolStats } from "../util/buffer-pool.ts";

/** Input to {@link BrokerCore.handle}. */
export type BrokerEvent =
  /** A transport peer connected (optional: a context is also created by its first frames). */
  | { type: "connect"; conn: string }
  /** One whole multipart message from `conn`, without the routing-id frame. */
  | { type: "frames"; conn: string; frames: Uint8Array[] }
  /** The transport peer went away. */
  | { type: "disconnect"; conn: string }
  /** Time passed: run expiries due at `now`. */
  | { type: "tick" }
  /** Graceful stop: tell senders of queued tracked messages, then ignore further input. */
  | { type: "shutdown" };

/** Severity of a log action. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Output of {@link BrokerCore.handle}, to be executed in order. */
export type BrokerAction =
  /** Send an encoded MLM message (header + content frames) to `conn`. */
  | { type: "send"; conn: string; frames: Uint8Array[] }
  /** Close the transport connection of `conn`. */
  | { type: "disconnect"; conn: string; reason: string }
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
  /** Messages stored per mailbox. Default 10 000. */
  mailboxMessages: number;
  /** Content bytes stored per mailbox (C: `mlm_server/mailbox/size-limit`). Default 64 MiB. */
  mailboxBytes: number;
  /** Log one warning when a mailbox first holds more bytes (C: `size-warn`). Default: never. */
  mailboxWarnBytes: number;
  /** Requests queued per service. Default 10 000. */
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
}

/** Configuration of a {@link BrokerCore}. */
export interface BrokerConfig {
  /** Client expiry in ms after its last input (C: `server/timeout`). Default 10 000; 0 = never. */
  timeout?: number;
  limits?: Partial<BrokerLimits>;
}

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
  /** Tracked service requests their senders withdrew (CONFIRM 305, docs/mlm-extensions.md §2). */
  withdrawn: number;
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
  services: { name: string; workers: number; queued: number; bytes: number; inflight: number }[];
  counters: BrokerCounters;
  /** Tracked service requests held (queued, or in flight at a credit-aware worker): the ones a sender may withdraw. */
  held: number;
  /** Reuse of large message buffers, when the server recycles them (`startBroker`, zmtp on Node). */
  bufferPool?: BufferPoolStats;
}

// The broker core's state, shared by the modules of src/broker/core/: one object per core,
// its fields read and written directly by their plain functions (one shape, so every access
// on the hot path stays monomorphic). It holds the settings derived from the config, the
// registries (connections, addresses, mailboxes, streams, services), the per-event scratch
// (`out`, `released`, budgets) and the counters.
import { ADDRESS_TAKEN, encode } from "../../proto/mod.ts";
import type { StorageOp } from "../../storage/types.ts";
import { DeadlineHeap } from "../../util/deadline-heap.ts";
import { StreamJournals } from "../durable/journals.ts";
import { HELLO_ANSWER, HELLO_ANSWER_REPLAY } from "../extensions.ts";
import { DEFAULT_TIMEOUT, resolveLimits } from "../limits.ts";
import { LogLimiter } from "../log-limit.ts";
import type { Conn } from "../model/conn.ts";
import { HeldRequests } from "../model/held.ts";
import type { StoredMessage } from "../model/message.ts";
import type { QueueTotals } from "../model/queue.ts";
import type { Mailbox, Service } from "../model/service.ts";
import type { Stream } from "../model/stream.ts";
import { compilePattern } from "../pattern.ts";
import type { Pattern } from "../pattern.ts";
import { type Acl, compileAcl } from "../security/acl.ts";
import { ACL_REFUSED, OFFER_REFUSED, SUBSCRIPTION_REFUSED } from "../status.ts";
import type {
  BrokerAction, BrokerConfig, BrokerCounters, BrokerLimits, BrokerObserver, CoreStorageConfig,
} from "../types.ts";
import { denied } from "./connections.ts";
import { persist } from "./persistence.ts";
import { deliver, log } from "./output.ts";

const PATTERN_CACHE = 1024;

/**
 * What compiling a stream pattern costs of the per-event match budget: measured at 8–30 µs
 * (warm–cold) for a short non-literal pattern, about what 15 matches of a short subject take.
 */
export const COMPILE_COST = 15;

/** `senderConn` of a message recovered from the store: no connection has this key (keys are hex). */
export const RECOVERED = "recovered";

/** Everything a {@link BrokerCore} knows; created once by its constructor. */
export class CoreState {
  readonly timeout: number;
  readonly limits: BrokerLimits;
  readonly conns = new Map<string, Conn>();
  /** Connections from least to most recently active, for O(1) expiry checks. */
  lruHead: Conn | undefined = undefined;
  lruTail: Conn | undefined = undefined;
  /** Connections not opened yet, oldest first (they must OPEN within `openTimeout`). */
  waitHead: Conn | undefined = undefined;
  waitTail: Conn | undefined = undefined;
  readonly openTimeout: number;
  /** Address → the connection that currently owns it. */
  readonly owners = new Map<string, Conn>();
  readonly mailboxes = new Map<string, Mailbox>();
  readonly streams = new Map<string, Stream>();
  readonly services = new Map<string, Service>();
  readonly deadlines = new DeadlineHeap<StoredMessage>();
  readonly patterns = new Map<string, Pattern>();
  /** Tracked service requests held (queued or in flight), for WITHDRAW. */
  readonly held = new HeldRequests();
  readonly counters: BrokerCounters = {
    delivered: 0, queued: 0, expired: 0, dropped: 0, malformed: 0, confirmed: 0, failed: 0, requeued: 0,
    connectionsExpired: 0, connectionsRefused: 0, withdrawn: 0, droppedCongested: 0, subscriptionsRefused: 0,
    openTimeouts: 0, logsSuppressed: 0, stored: 0, recovered: 0, replayed: 0, storageRefused: 0,
    aclRefused: 0, curveRefused: 0,
  };
  readonly logLimiter: LogLimiter;
  /** Streams with fan-outs waiting for a later turn, in the order they get it. */
  readonly busyStreams = new Set<Stream>();
  /** STREAM-SENDs in those waiting fan-outs, and their content bytes. */
  backlog = 0;
  backlogBytes = 0;
  /** A `continue` action is out and its event has not come back yet. */
  continueAsked = false;
  /** Pattern matches left in this event. */
  budget = Infinity;
  readonly matchesPerTurn: number;
  /** Expiries left in this event. */
  expiries = Infinity;
  readonly expiriesPerTurn: number;
  /** Deliveries and bytes one connection may get per turn (a quarter of its transport's high-water marks). */
  readonly burstMessages: number;
  readonly burstBytes: number;
  /** Connections with a burst count to reset at the next `continue` turn. */
  readonly bursting: Conn[] = [];
  /** Connections that spent their burst: resumed at the next `continue` turn. */
  readonly stalled = new Set<Conn>();
  out: BrokerAction[] = [];
  /** Content frames let go of during this `handle` call (see the `release` action). */
  released: Uint8Array[] = [];
  now = 0;
  /** Header frame of the message being handled (a SEND's DELIVER is spliced from it). */
  header: Uint8Array = new Uint8Array(0);
  seq = 0;
  closed = false;
  readonly okHeader: Uint8Array;
  readonly pongHeader: Uint8Array;
  readonly invalidHeader: Uint8Array;
  readonly addressTakenHeader: Uint8Array;
  readonly failedHeader: Uint8Array;
  readonly helloHeader: Uint8Array;
  readonly subscriptionRefusedHeader: Uint8Array;
  readonly tooManyOffersHeader: Uint8Array;
  readonly aclRefusedHeader: Uint8Array;
  /** What each CURVE key may use; undefined: no ACL, everything allowed. */
  readonly acl: Acl | undefined;
  /** What every mailbox and service queue holds together (`storedMessages`, `storedBytes`). */
  readonly stored: QueueTotals = { count: 0, bytes: 0 };
  /** Set when the core keeps its state in a store (design.md §5). */
  readonly storage: CoreStorageConfig | undefined;
  /** The store can no longer write and `onFailure` is `refuse`: messages that need storing are refused. */
  storeFailed = false;
  /** The ops of the `store` action of this `handle` call, once there is one. */
  ops: StorageOp[] | undefined = undefined;
  /** Last store record id used. */
  lastId = 0;
  /** Stream journals and their consumers (docs/mlm-extensions.md §4). */
  readonly journals: StreamJournals;
  /** Failure CONFIRMs for recovered messages whose sender was not back yet, by sender address. */
  readonly parked = new Map<string, Uint8Array[][]>();
  parkedCount = 0;
  /** Per-service figures and selected stream messages go here (the HTTP metrics adapter). */
  observer: BrokerObserver | undefined = undefined;

  /** A compiled pattern, from a bounded cache (cleared when full). */
  readonly pattern = (source: string): Pattern => {
    let pattern = this.patterns.get(source);
    if (!pattern) {
      if (this.patterns.size >= PATTERN_CACHE) this.patterns.clear();
      pattern = compilePattern(source);
      this.patterns.set(source, pattern);
    }
    return pattern;
  };

  /** A stream pattern needed for its first match: a compile is charged to the match budget. */
  readonly chargedPattern = (source: string): Pattern => {
    if (!this.patterns.has(source)) this.budget -= COMPILE_COST;
    return this.pattern(source);
  };

  constructor(config: BrokerConfig) {
    const timeout = config.timeout ?? DEFAULT_TIMEOUT;
    this.timeout = timeout > 0 && Number.isFinite(timeout) ? timeout : Infinity;
    this.limits = resolveLimits(config.limits);
    this.openTimeout = this.limits.openTimeout > 0 ? this.limits.openTimeout : Infinity;
    this.matchesPerTurn = this.limits.matchesPerTurn > 0 ? this.limits.matchesPerTurn : Infinity;
    this.expiriesPerTurn = this.limits.expiriesPerTurn > 0 ? this.limits.expiriesPerTurn : Infinity;
    this.burstMessages = Math.max(1, Math.floor(this.limits.peerSendMessages / 4));
    this.burstBytes = Math.max(1, Math.floor(this.limits.peerSendBytes / 4));
    this.logLimiter = new LogLimiter(this.limits.logBurst, this.limits.logWindow);
    this.okHeader = encode({ type: "OK", code: 200, reason: "" })[0] as Uint8Array;
    this.pongHeader = encode({ type: "CONNECTION_PONG" })[0] as Uint8Array;
    this.invalidHeader = encode({ type: "ERROR", code: 500, reason: "" })[0] as Uint8Array;
    this.addressTakenHeader = encode({ type: "ERROR", code: 500, reason: ADDRESS_TAKEN })[0] as Uint8Array;
    this.failedHeader = encode({ type: "ERROR", code: 300, reason: "" })[0] as Uint8Array;
    this.subscriptionRefusedHeader = encode({ type: "ERROR", code: 300, reason: SUBSCRIPTION_REFUSED })[0] as Uint8Array;
    this.storage = config.storage;
    this.journals = new StreamJournals({
      limits: this.limits,
      deliver: (conn, frames) => deliver(this, conn, frames),
      send: (conn, frames) => this.out.push({ type: "send", conn: conn.key, frames }),
      read: (action) => this.out.push(action),
      persist: (op) => persist(this, op),
      log: (level, message, fields) => log(this, level, message, fields),
      pattern: this.pattern,
      replayed: () => this.counters.replayed++,
      storeFailed: () => this.storeFailed,
      mayRead: (conn, stream) => !denied(this, conn, "read", stream),
    }, config.storage !== undefined && config.storage.journal !== false);
    this.helloHeader = encode({
      type: "OK", code: 200, reason: this.journals.enabled ? HELLO_ANSWER_REPLAY : HELLO_ANSWER,
    })[0] as Uint8Array;
    this.tooManyOffersHeader = encode({ type: "ERROR", code: 300, reason: OFFER_REFUSED })[0] as Uint8Array;
    this.aclRefusedHeader = encode({ type: "ERROR", code: 300, reason: ACL_REFUSED })[0] as Uint8Array;
    this.acl = config.acl ? compileAcl(config.acl) : undefined;
  }
}

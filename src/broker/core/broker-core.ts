import { ADDRESS_TAKEN, decode, encode } from "../../proto/mod.ts";
import { deliverHeader, exactConfirm, stringField } from "../../proto/splice.ts";
import type { MailboxSend, MlmMessage, ServiceSend, StreamRead, StreamSend } from "../../proto/types.ts";
import { Conn } from "../model/conn.ts";
import { DeadlineHeap } from "../../util/deadline-heap.ts";
import { concatBytes } from "../../util/bytes.ts";
import { HELLO_ANSWER, HELLO_ANSWER_REPLAY, HelloFlag } from "../extensions.ts";
import { StreamJournals } from "../durable/journals.ts";
import type { RecoveredState, StorageOp } from "../../storage/types.ts";
import { FanOut } from "../model/fanout.ts";
import { HeldRequests } from "../model/held.ts";
import { LogLimiter } from "../log-limit.ts";
import { DEFAULT_TIMEOUT, resolveLimits } from "../limits.ts";
import { contentBytes, NO_CONTENT, StoredMessage } from "../model/message.ts";
import { compilePattern, exactSubject } from "../pattern.ts";
import type { Pattern } from "../pattern.ts";
import type { Selector } from "../model/stream.ts";
import type { Origin } from "../model/routes.ts";
import { obtain, reclaimIfIdle } from "../model/registry.ts";
import { isReady, Mailbox, Service } from "../model/service.ts";
import { type Acl, type AclRight, compileAcl } from "../security/acl.ts";
import {
  ACL_REFUSED, ADMIN_SERVICE, ConfirmStatus, OFFER_REFUSED, PATTERN_REFUSED, STORE_FULL, STREAM_SERVICE, SUBSCRIPTION_REFUSED,
} from "../status.ts";
import type { QueueTotals } from "../model/queue.ts";
import { Stream } from "../model/stream.ts";
import type {
  BrokerClientStats,
  BrokerAction, BrokerConfig, BrokerCounters, BrokerEvent, BrokerLimits, BrokerObserver, BrokerStats, CoreStorageConfig,
  LogLevel,
} from "../types.ts";

const MAX_CREDIT = 0x3fffffff;
/** Clients listed in an admin STATS answer, which has to stay one reasonable message. */
const ADMIN_CLIENT_LIST_MAX = 1000;
const PATTERN_CACHE = 1024;
/**
 * What compiling a stream pattern costs of the per-event match budget: measured at 8–30 µs
 * (warm–cold) for a short non-literal pattern, about what 15 matches of a short subject take.
 */
const COMPILE_COST = 15;
const utf8 = new TextEncoder();
/** `senderConn` of a message recovered from the store: no connection has this key (keys are hex). */
const RECOVERED = "recovered";


/** A subject as exact patterns see it: up to its first NUL (patterns stop there, as in C). */
function subjectKey(subject: string): string {
  const nul = subject.indexOf("\0");
  return nul < 0 ? subject : subject.slice(0, nul);
}

/**
 * The Malamute broker as a sans-I/O state machine: feed it events with the current
 * time, execute the actions it returns, and call `handle({ type: "tick" }, now)` at
 * `nextDeadline()`. It reads no clock and touches no socket, so tests drive it with a
 * fake clock and raw MLM frames.
 *
 * Behaviour follows docs/broker.md (C malamute where it works; trackers, CONFIRM,
 * credit, timeouts and requeue as decided in design.md §3).
 *
 * @example
 * ```ts
 * const core = new BrokerCore({ timeout: 10_000 });
 * for (const action of core.handle({ type: "frames", conn: "0011223344", frames }, Date.now())) {
 *   if (action.type === "send") router.send(idOf(action.conn), action.frames);
 * }
 * ```
 */
export class BrokerCore {
  readonly #timeout: number;
  readonly #limits: BrokerLimits;
  readonly #conns = new Map<string, Conn>();
  /** Connections from least to most recently active, for O(1) expiry checks. */
  #lruHead: Conn | undefined = undefined;
  #lruTail: Conn | undefined = undefined;
  /** Connections not opened yet, oldest first (they must OPEN within `openTimeout`). */
  #waitHead: Conn | undefined = undefined;
  #waitTail: Conn | undefined = undefined;
  readonly #openTimeout: number;
  /** Address → the connection that currently owns it. */
  readonly #owners = new Map<string, Conn>();
  readonly #mailboxes = new Map<string, Mailbox>();
  readonly #streams = new Map<string, Stream>();
  readonly #services = new Map<string, Service>();
  readonly #deadlines = new DeadlineHeap<StoredMessage>();
  readonly #patterns = new Map<string, Pattern>();
  /** Tracked service requests held (queued or in flight), for WITHDRAW. */
  readonly #held = new HeldRequests();
  readonly #counters: BrokerCounters = {
    delivered: 0, queued: 0, expired: 0, dropped: 0, malformed: 0, confirmed: 0, failed: 0, requeued: 0,
    connectionsExpired: 0, connectionsRefused: 0, withdrawn: 0, droppedCongested: 0, subscriptionsRefused: 0,
    openTimeouts: 0, logsSuppressed: 0, stored: 0, recovered: 0, replayed: 0, storageRefused: 0,
    aclRefused: 0, curveRefused: 0,
  };
  readonly #logLimiter: LogLimiter;
  /** Streams with fan-outs waiting for a later turn, in the order they get it. */
  readonly #busyStreams = new Set<Stream>();
  /** STREAM-SENDs in those waiting fan-outs, and their content bytes. */
  #backlog = 0;
  #backlogBytes = 0;
  /** A `continue` action is out and its event has not come back yet. */
  #continueAsked = false;
  /** Pattern matches left in this event. */
  #budget = Infinity;
  readonly #matchesPerTurn: number;
  /** Expiries left in this event. */
  #expiries = Infinity;
  readonly #expiriesPerTurn: number;
  /** Deliveries and bytes one connection may get per turn (a quarter of its transport's high-water marks). */
  readonly #burstMessages: number;
  readonly #burstBytes: number;
  /** Connections with a burst count to reset at the next `continue` turn. */
  readonly #bursting: Conn[] = [];
  /** Connections that spent their burst: resumed at the next `continue` turn. */
  readonly #stalled = new Set<Conn>();
  #out: BrokerAction[] = [];
  /** Content frames let go of during this `handle` call (see the `release` action). */
  #released: Uint8Array[] = [];
  #now = 0;
  /** Header frame of the message being handled (a SEND's DELIVER is spliced from it). */
  #header: Uint8Array = new Uint8Array(0);
  #seq = 0;
  #closed = false;
  readonly #okHeader: Uint8Array;
  readonly #pongHeader: Uint8Array;
  readonly #invalidHeader: Uint8Array;
  readonly #addressTakenHeader: Uint8Array;
  readonly #failedHeader: Uint8Array;
  readonly #helloHeader: Uint8Array;
  readonly #subscriptionRefusedHeader: Uint8Array;
  readonly #tooManyOffersHeader: Uint8Array;
  readonly #aclRefusedHeader: Uint8Array;
  /** What each CURVE key may use; undefined: no ACL, everything allowed. */
  readonly #acl: Acl | undefined;
  /** What every mailbox and service queue holds together (`storedMessages`, `storedBytes`). */
  readonly #stored: QueueTotals = { count: 0, bytes: 0 };
  /** Set when the core keeps its state in a store (design.md §5). */
  readonly #storage: CoreStorageConfig | undefined;
  /** The store can no longer write and `onFailure` is `refuse`: messages that need storing are refused. */
  #storeFailed = false;
  /** The ops of the `store` action of this `handle` call, once there is one. */
  #ops: StorageOp[] | undefined = undefined;
  /** Last store record id used. */
  #lastId = 0;
  /** Stream journals and their consumers (docs/mlm-extensions.md §4). */
  readonly #journals: StreamJournals;
  /** Failure CONFIRMs for recovered messages whose sender was not back yet, by sender address. */
  readonly #parked = new Map<string, Uint8Array[][]>();
  #parkedCount = 0;
  /** Per-service figures and selected stream messages go here (the HTTP metrics adapter). */
  #observer: BrokerObserver | undefined = undefined;

  constructor(config: BrokerConfig = {}) {
    const timeout = config.timeout ?? DEFAULT_TIMEOUT;
    this.#timeout = timeout > 0 && Number.isFinite(timeout) ? timeout : Infinity;
    this.#limits = resolveLimits(config.limits);
    this.#openTimeout = this.#limits.openTimeout > 0 ? this.#limits.openTimeout : Infinity;
    this.#matchesPerTurn = this.#limits.matchesPerTurn > 0 ? this.#limits.matchesPerTurn : Infinity;
    this.#expiriesPerTurn = this.#limits.expiriesPerTurn > 0 ? this.#limits.expiriesPerTurn : Infinity;
    this.#burstMessages = Math.max(1, Math.floor(this.#limits.peerSendMessages / 4));
    this.#burstBytes = Math.max(1, Math.floor(this.#limits.peerSendBytes / 4));
    this.#logLimiter = new LogLimiter(this.#limits.logBurst, this.#limits.logWindow);
    this.#okHeader = encode({ type: "OK", code: 200, reason: "" })[0] as Uint8Array;
    this.#pongHeader = encode({ type: "CONNECTION_PONG" })[0] as Uint8Array;
    this.#invalidHeader = encode({ type: "ERROR", code: 500, reason: "" })[0] as Uint8Array;
    this.#addressTakenHeader = encode({ type: "ERROR", code: 500, reason: ADDRESS_TAKEN })[0] as Uint8Array;
    this.#failedHeader = encode({ type: "ERROR", code: 300, reason: "" })[0] as Uint8Array;
    this.#subscriptionRefusedHeader = encode({ type: "ERROR", code: 300, reason: SUBSCRIPTION_REFUSED })[0] as Uint8Array;
    this.#storage = config.storage;
    this.#journals = new StreamJournals({
      limits: this.#limits,
      deliver: (conn, frames) => this.#deliver(conn, frames),
      send: (conn, frames) => this.#out.push({ type: "send", conn: conn.key, frames }),
      read: (action) => this.#out.push(action),
      persist: (op) => this.#persist(op),
      log: (level, message, fields) => this.#log(level, message, fields),
      pattern: this.#pattern,
      replayed: () => this.#counters.replayed++,
      storeFailed: () => this.#storeFailed,
      mayRead: (conn, stream) => !this.#denied(conn, "read", stream),
    }, config.storage !== undefined && config.storage.journal !== false);
    this.#helloHeader = encode({
      type: "OK", code: 200, reason: this.#journals.enabled ? HELLO_ANSWER_REPLAY : HELLO_ANSWER,
    })[0] as Uint8Array;
    this.#tooManyOffersHeader = encode({ type: "ERROR", code: 300, reason: OFFER_REFUSED })[0] as Uint8Array;
    this.#aclRefusedHeader = encode({ type: "ERROR", code: 300, reason: ACL_REFUSED })[0] as Uint8Array;
    this.#acl = config.acl ? compileAcl(config.acl) : undefined;
  }

  /** Whether storing `bytes` more would go beyond what all queues together may hold. */
  #storeFull(bytes: number): boolean {
    const stored = this.#stored;
    return stored.count >= this.#limits.storedMessages || stored.bytes + bytes > this.#limits.storedBytes;
  }

  /**
   * Report queue waits, round trips, CONFIRM statuses and the messages of `observer.watched`
   * streams to `observer` from now on (`undefined` stops it). One observer at a time.
   */
  observe(observer: BrokerObserver | undefined): void {
    this.#observer = observer;
  }

  /** The limits in force (defaults filled in). */
  get limits(): Readonly<BrokerLimits> {
    return this.#limits;
  }

  /** Client expiry in ms (`Infinity` = never). */
  get timeout(): number {
    return this.#timeout;
  }

  /**
   * Process one event at time `now` (ms, monotonic) and return what to do, in order.
   * Expiries due at `now` run first. Never throws on bad input.
   */
  handle(event: BrokerEvent, now: number): BrokerAction[] {
    const out: BrokerAction[] = [];
    this.#out = out;
    this.#ops = undefined;
    if (this.#closed) return out;
    if (now > this.#now) this.#now = now;
    this.#budget = this.#matchesPerTurn;
    this.#expiries = this.#expiriesPerTurn;
    // Cleared before the expiries run, so that they can ask for another turn.
    if (event.type === "continue") this.#continueAsked = false;
    try {
      this.#dispatchEvent(event);
    } catch (error) {
      // A bug must cost at most this one event, never the broker.
      this.#log("error", "internal error while handling an event", {
        event: event.type, conn: "conn" in event ? event.conn : undefined, error: String(error),
      });
    }
    if (this.#released.length > 0) {
      out.push({ type: "release", frames: this.#released });
      this.#released = [];
    }
    return out;
  }

  #dispatchEvent(event: BrokerEvent): void {
    this.#expire();
    switch (event.type) {
      case "frames":
        this.#frames(event.conn, event.frames);
        break;
      case "connect": {
        const conn = this.#conns.get(event.conn) ?? this.#newConn(event.conn);
        if (conn && event.curveKey !== undefined) {
          conn.curveKey = event.curveKey;
          if (this.#acl) conn.acl = this.#acl.rulesFor(event.curveKey);
          this.#log("debug", "connection authenticated", { conn: conn.key, curveKey: event.curveKey });
        }
        break;
      }
      case "curve-refused":
        this.#counters.curveRefused++;
        this.#log("warn", "CURVE client key refused", { key: event.key, address: event.address });
        break;
      case "disconnect": {
        const conn = this.#conns.get(event.conn);
        if (conn) {
          this.#log("debug", "connection closed by peer", { conn: conn.key, address: conn.address });
          this.#deregister(conn);
        }
        break;
      }
      case "congested": {
        const conn = this.#conns.get(event.conn);
        if (conn) conn.congested = true;
        break;
      }
      case "drained": {
        const conn = this.#conns.get(event.conn);
        if (conn?.congested) {
          conn.congested = false;
          this.#ready(conn);
        }
        break;
      }
      case "continue":
        this.#resumeBursts();
        this.#resumeFanOuts();
        break;
      case "tick":
        break;
      case "shutdown":
        this.#shutdown();
        break;
      case "journal":
        this.#journals.answer(event.ticket, event.entries, event.error);
        break;
      case "storage-failed":
        this.#storageFailed(event.reason);
        break;
    }
  }

  /** When the next expiry is due (absolute ms), or undefined if nothing is scheduled. */
  nextDeadline(): number | undefined {
    let next = Infinity;
    if (this.#lruHead && this.#timeout !== Infinity) next = this.#lruHead.lastActive + this.#timeout;
    if (this.#waitHead && this.#waitHead.since + this.#openTimeout < next) next = this.#waitHead.since + this.#openTimeout;
    const top = this.#deadlines.peek();
    if (top && top.deadline < next) next = top.deadline;
    const summary = this.#logLimiter.nextDue();
    if (summary !== undefined && summary < next) next = summary;
    return next === Infinity ? undefined : next;
  }

  /**
   * A snapshot of clients, mailboxes, streams, services and counters. `now` (same clock as
   * `handle`) dates the clients' idle times; default: the time of the last event handled.
   * `maxClients` bounds `clientList`.
   */
  stats(now: number = this.#now, maxClients = Infinity): BrokerStats {
    let clients = 0;
    const clientList: BrokerClientStats[] = [];
    for (const conn of this.#conns.values()) {
      if (conn.opened) clients++;
      if (clientList.length < maxClients) clientList.push(conn.snapshot(now));
    }
    return {
      clients,
      connections: this.#conns.size,
      clientList,
      mailboxes: [...this.#mailboxes.values()].map((m) => ({
        address: m.address, depth: m.queue.count, bytes: m.queue.bytes,
      })),
      streams: [...this.#streams.values()].map((s) => ({ name: s.name, readers: s.readers.size, writers: s.writers })),
      services: [...this.#services.values()].map((s) => ({
        name: s.name, workers: s.workers, queued: s.queue.count, bytes: s.queue.bytes, inflight: s.inflight,
      })),
      journals: this.#journals.stats(),
      counters: { ...this.#counters },
      held: this.#held.size,
      ...(this.#storage?.describe ? { storage: this.#storage.describe() } : {}),
    };
  }

  // ---------------------------------------------------------------- connections

  #newConn(key: string): Conn | undefined {
    if (this.#conns.size >= this.#limits.maxConnections) {
      this.#counters.connectionsRefused++;
      this.#out.push({ type: "disconnect", conn: key, reason: "too many connections" });
      this.#log("warn", "connection refused: limit reached", { conn: key, limit: this.#limits.maxConnections });
      return undefined;
    }
    const conn = new Conn(key, this.#now);
    if (this.#acl) conn.acl = this.#acl.rulesFor(undefined);
    this.#conns.set(key, conn);
    this.#lruAppend(conn);
    conn.waitPrev = this.#waitTail;
    if (this.#waitTail) this.#waitTail.waitNext = conn;
    else this.#waitHead = conn;
    this.#waitTail = conn;
    return conn;
  }

  /** `conn` opened or left: it no longer waits for its OPEN. */
  #unwait(conn: Conn): void {
    if (conn.waitPrev) conn.waitPrev.waitNext = conn.waitNext;
    else if (this.#waitHead === conn) this.#waitHead = conn.waitNext;
    else return;
    if (conn.waitNext) conn.waitNext.waitPrev = conn.waitPrev;
    else this.#waitTail = conn.waitPrev;
    conn.waitPrev = conn.waitNext = undefined;
  }

  #touch(conn: Conn): void {
    if (conn.lastActive === this.#now) return;
    conn.lastActive = this.#now;
    if (this.#lruTail === conn) return;
    this.#lruRemove(conn);
    this.#lruAppend(conn);
  }

  #lruAppend(conn: Conn): void {
    conn.lruPrev = this.#lruTail;
    conn.lruNext = undefined;
    if (this.#lruTail) this.#lruTail.lruNext = conn;
    else this.#lruHead = conn;
    this.#lruTail = conn;
  }

  #lruRemove(conn: Conn): void {
    if (conn.lruPrev) conn.lruPrev.lruNext = conn.lruNext;
    else if (this.#lruHead === conn) this.#lruHead = conn.lruNext;
    if (conn.lruNext) conn.lruNext.lruPrev = conn.lruPrev;
    else if (this.#lruTail === conn) this.#lruTail = conn.lruPrev;
    conn.lruPrev = conn.lruNext = undefined;
  }

  #expire(): void {
    const now = this.#now;
    const timeout = this.#timeout;
    let conn = this.#lruHead;
    for (const { kind, count } of this.#logLimiter.due(now)) {
      this.#out.push({ type: "log", level: "info", message: `${count} more "${kind}" log lines suppressed`, fields: { kind, count } });
    }
    while (conn && conn.lastActive + timeout <= now) {
      if (!this.#spendExpiry()) return;
      this.#counters.connectionsExpired++;
      this.#log("info", "connection expired", { conn: conn.key, address: conn.address });
      this.#out.push({ type: "disconnect", conn: conn.key, reason: "expired" });
      this.#deregister(conn);
      conn = this.#lruHead;
    }
    let waiting = this.#waitHead;
    while (waiting && waiting.since + this.#openTimeout <= now) {
      if (!this.#spendExpiry()) return;
      this.#counters.openTimeouts++;
      this.#log("info", "connection closed: no CONNECTION-OPEN in time", { conn: waiting.key, limit: this.#openTimeout });
      this.#out.push({ type: "disconnect", conn: waiting.key, reason: "no CONNECTION-OPEN in time" });
      this.#deregister(waiting);
      waiting = this.#waitHead;
    }
    let top = this.#deadlines.peek();
    while (top && top.deadline <= now) {
      if (!this.#spendExpiry()) return;
      this.#deadlines.delete(top);
      this.#expireMessage(top);
      top = this.#deadlines.peek();
    }
  }

  /** Take one expiry from this event's budget; when it is spent, ask for a later turn instead. */
  #spendExpiry(): boolean {
    if (this.#expiries > 0) {
      this.#expiries--;
      return true;
    }
    this.#askContinue();
    return false;
  }

  /**
   * Whether a stored message is past its deadline, so it must not be delivered: it is expired
   * now, or by a later turn when this event's expiry budget is spent (it is still in the heap).
   */
  #overdue(message: StoredMessage): boolean {
    if (message.deadline > this.#now) return false;
    if (this.#spendExpiry()) {
      this.#deadlines.delete(message);
      this.#expireMessage(message);
    }
    return true;
  }

  /** Forget a connection: its address, writer, subscriptions, offers; requeue its in-flight requests. */
  #deregister(conn: Conn): void {
    if (!conn.alive) return;
    conn.alive = false;
    this.#conns.delete(conn.key);
    this.#lruRemove(conn);
    this.#unwait(conn);
    if (conn.address !== "" && this.#owners.get(conn.address) === conn) this.#owners.delete(conn.address);
    if (conn.writer) {
      conn.writer.writers--;
      this.#reclaimStream(conn.writer);
      conn.writer = undefined;
    }
    if (conn.reading) {
      for (const stream of conn.reading) {
        stream.removeReader(conn);
        this.#reclaimStream(stream);
      }
      conn.reading = undefined;
      conn.patterns = 0;
    }
    const touched = conn.offering;
    if (touched) for (const service of touched) service.removeWorker(conn);
    conn.offering = undefined;
    const lost = conn.buffered;
    if (lost > 0) {
      this.#counters.dropped += lost;
      this.#log("debug", "buffered stream deliveries dropped with their reader", { conn: conn.key, count: lost });
    }
    conn.buffer = undefined;
    conn.routes = undefined;
    this.#journals.cancel(conn);
    const inflight = conn.inflight;
    conn.inflight = undefined;
    conn.inflightBytes = 0;
    if (inflight && inflight.size > 0) this.#requeue([...inflight]);
    if (touched) for (const service of touched) this.#dispatch(service);
  }

  // ---------------------------------------------------------------- input

  #frames(key: string, frames: Uint8Array[]): void {
    let conn = this.#conns.get(key);
    if (conn) this.#touch(conn);
    else {
      conn = this.#newConn(key);
      if (!conn) return;
    }
    const result = decode(frames);
    if (!result.ok) {
      this.#malformed(conn, result.error);
      return;
    }
    const message = result.message;
    this.#header = frames[0] as Uint8Array;
    if (!conn.opened) this.#inStart(conn, message);
    else this.#inConnected(conn, message);
  }

  #malformed(conn: Conn, error: Error): void {
    this.#counters.malformed++;
    conn.malformed++;
    if (conn.malformed > this.#limits.maxMalformed) {
      this.#counters.connectionsRefused++;
      this.#log("warn", "too many malformed messages: disconnecting", {
        conn: conn.key, address: conn.address, count: conn.malformed,
      });
      this.#out.push({ type: "disconnect", conn: conn.key, reason: "too many malformed messages" });
      this.#deregister(conn);
    } else {
      this.#log("debug", "malformed message dropped", { conn: conn.key, error: error.message });
    }
  }

  #inStart(conn: Conn, message: MlmMessage): void {
    switch (message.type) {
      case "CONNECTION_OPEN":
        this.#open(conn, message.address);
        return;
      case "CONNECTION_CLOSE":
        // The C broker crashes here; answering and forgetting the context is what its model says.
        this.#reply(conn, this.#okHeader);
        this.#deregister(conn);
        return;
      case "CONFIRM":
        if (message.tracker === "") {
          // HELLO (docs/mlm-extensions.md §1); a repeated one replaces the flags.
          conn.noMailboxConfirms = (message.code & HelloFlag.NO_MAILBOX_CONFIRMS) !== 0;
          conn.storedConfirms = (message.code & HelloFlag.STORED_CONFIRMS) !== 0;
          this.#reply(conn, this.#helloHeader);
          return;
        }
        this.#reply(conn, this.#invalidHeader);
        return;
      default:
        this.#reply(conn, this.#invalidHeader);
    }
  }

  #inConnected(conn: Conn, message: MlmMessage): void {
    switch (message.type) {
      case "STREAM_SEND":
        this.#streamSend(conn, message);
        return;
      case "MAILBOX_SEND":
        this.#mailboxSend(conn, message);
        return;
      case "SERVICE_SEND":
        this.#serviceSend(conn, message);
        return;
      case "CONNECTION_PING":
        this.#reply(conn, this.#pongHeader);
        return;
      case "CREDIT":
        this.#credit(conn, message.amount);
        return;
      case "CONFIRM":
        if (message.code === ConfirmStatus.WITHDRAWN && this.#withdraw(conn, message.tracker)) return;
        this.#confirm(conn, message.tracker, message.code, message.reason, this.#header);
        return;
      case "STREAM_WRITE":
        this.#streamWrite(conn, message.stream);
        return;
      case "STREAM_READ":
        this.#streamRead(conn, message);
        return;
      case "STREAM_CANCEL":
        this.#streamCancel(conn, message.stream);
        return;
      case "SERVICE_OFFER":
        this.#serviceOffer(conn, message.address, message.pattern);
        return;
      case "CONNECTION_CLOSE":
        this.#reply(conn, this.#okHeader);
        this.#log("debug", "connection closed", { conn: conn.key, address: conn.address });
        this.#deregister(conn);
        return;
      default:
        // A second OPEN, or a message only the broker sends: out of state, session dropped (as C).
        this.#reply(conn, this.#invalidHeader);
        this.#log("debug", "command invalid in state connected", { conn: conn.key, command: message.type });
        this.#deregister(conn);
    }
  }

  #reply(conn: Conn, header: Uint8Array): void {
    this.#out.push({ type: "send", conn: conn.key, frames: [header] });
  }

  /** True (and counted, logged) when the ACL does not let `conn` use `name` as `right`. */
  #denied(conn: Conn, right: AclRight, name: string): boolean {
    if (conn.acl.allows(right, name)) return false;
    this.#counters.aclRefused++;
    this.#log("warn", "refused by the ACL", { conn: conn.key, key: conn.curveKey, acl: conn.acl.name, right, name });
    return true;
  }

  /** ERROR 300 `not authorized` unless the ACL lets `conn` use `name` as `right`. */
  #deniedWithError(conn: Conn, right: AclRight, name: string): boolean {
    if (!this.#denied(conn, right, name)) return false;
    this.#reply(conn, this.#aclRefusedHeader);
    return true;
  }

  #open(conn: Conn, address: string): void {
    if (this.#deniedWithError(conn, "mailbox", address)) return;
    let displaced: Conn | undefined;
    if (address !== "") {
      displaced = this.#owners.get(address);
      if (displaced) {
        this.#log("info", "address taken over by a newer connection", {
          address, previous: displaced.key, conn: conn.key,
        });
        this.#deregister(displaced);
      }
      this.#owners.set(address, conn);
    }
    conn.opened = true;
    conn.address = address;
    this.#unwait(conn);
    this.#reply(conn, this.#okHeader);
    // Told at once, so it does not go on sending into a session that is gone; an ERROR 500 is
    // what any MLM client expects for that, and the reason tells ours not to take it back.
    if (displaced) this.#reply(displaced, this.#addressTakenHeader);
    this.#log("debug", "connection opened", conn.curveKey === undefined
      ? { conn: conn.key, address }
      : { conn: conn.key, address, curveKey: conn.curveKey });
    if (address === "") return;
    const parked = this.#parked.get(address);
    if (parked) {
      this.#parked.delete(address);
      this.#parkedCount -= parked.length;
      for (const frames of parked) this.#out.push({ type: "send", conn: conn.key, frames });
    }
    this.#drainMailbox(conn);
  }

  #credit(conn: Conn, amount: number): void {
    conn.creditAware = true;
    conn.credit = Math.min(conn.credit + amount, MAX_CREDIT);
    if (conn.credit === 0) return;
    this.#ready(conn);
  }

  /** `conn` can take deliveries again (credit, or its backlog drained): hand it what waits. */
  #ready(conn: Conn): void {
    this.#flushBuffer(conn);
    this.#journals.resume(conn);
    if (conn.address !== "") this.#drainMailbox(conn);
    if (conn.offering) for (const service of conn.offering) this.#dispatch(service);
  }

  /** Spend credit and emit a delivery. */
  #deliver(conn: Conn, frames: Uint8Array[]): void {
    if (conn.creditAware) conn.credit--;
    this.#counters.delivered++;
    this.#out.push({ type: "send", conn: conn.key, frames });
    if (conn.burst === 0) this.#bursting.push(conn);
    conn.burst++;
    conn.burstBytes += contentBytes(frames);
    if (!conn.burstFull && (conn.burst >= this.#burstMessages || conn.burstBytes >= this.#burstBytes)) {
      conn.burstFull = true;
      this.#stalled.add(conn);
      this.#askContinue();
    }
  }

  /** A new turn: the transport has reported congestion for what was sent; resume the connections that spent their burst. */
  #resumeBursts(): void {
    if (this.#bursting.length === 0) return;
    for (const conn of this.#bursting) {
      conn.burst = 0;
      conn.burstBytes = 0;
      conn.burstFull = false;
    }
    this.#bursting.length = 0;
    if (this.#stalled.size === 0) return;
    const stalled = [...this.#stalled];
    this.#stalled.clear();
    for (const conn of stalled) if (conn.alive) this.#ready(conn);
  }

  // ---------------------------------------------------------------- trackers and CONFIRM

  #route(recipient: Conn, tracker: string, origin: Origin): void {
    const evicted = recipient.confirmRoutes().add(tracker, origin, this.#limits.pendingConfirms);
    if (evicted instanceof StoredMessage) this.#settle(recipient, evicted);
  }

  /** A request held in flight by `worker` is done (confirmed, or its route was evicted). */
  #settle(worker: Conn, request: StoredMessage): void {
    if (!worker.inflight?.delete(request)) return;
    this.#held.delete(request);
    worker.inflightBytes -= request.bytes;
    this.#forget(request);
    this.#dropContent(request);
    const service = this.#services.get(request.address);
    if (service) {
      service.inflight--;
      this.#reclaimService(service);
    }
  }

  /** `header`: the CONFIRM as received, forwarded as it is when it holds nothing more. */
  #confirm(conn: Conn, tracker: string, code: number, reason: string, header: Uint8Array): void {
    const origin = conn.routes?.take(tracker);
    if (!origin) {
      this.#log("debug", "CONFIRM for an unknown tracker ignored", { conn: conn.key, tracker });
      return;
    }
    if (origin instanceof StoredMessage) this.#settle(conn, origin);
    if (this.#observer) this.#observeConfirm(origin, code, true);
    if (this.#sendConfirm(origin, tracker, code, reason, exactConfirm(header) ? header : undefined)) this.#counters.confirmed++;
  }

  /**
   * WITHDRAW (docs/mlm-extensions.md §2) of the requests `conn` sent with `tracker`: queued ones
   * are removed and confirmed 305, in-flight ones are marked so they are not requeued. False
   * when it names no held request (the CONFIRM is then an ordinary one).
   */
  #withdraw(conn: Conn, tracker: string): boolean {
    if (tracker === "") return false;
    const found = this.#held.find(conn.address, conn.key, tracker);
    if (found.length === 0) return false;
    for (const request of found) {
      const service = this.#services.get(request.address);
      if (service && request.queue === service.queue) {
        this.#unqueueRequest(service, request);
        this.#withdrawn(request);
        this.#reclaimService(service);
      } else {
        request.withdrawn = true;
      }
    }
    return true;
  }

  /** A held request leaves for good because its sender withdrew it. */
  #withdrawn(request: StoredMessage): void {
    this.#held.delete(request);
    this.#counters.withdrawn++;
    this.#sendConfirm(request, request.tracker, ConfirmStatus.WITHDRAWN, "withdrawn");
    this.#forget(request);
    this.#dropContent(request);
  }

  /** `settled`: the CONFIRM came from the worker, so a held request's round trip ends now. */
  #observeConfirm(origin: Origin, code: number, settled: boolean): void {
    const request = origin instanceof StoredMessage && origin.kind === "service" ? origin : undefined;
    const roundTrip = settled && request && request.at >= 0 ? this.#now - request.at : undefined;
    (this.#observer as BrokerObserver).confirmed(code, request?.address, roundTrip);
  }

  /** Send CONFIRM to the origin's current connection; false when it is gone. */
  #sendConfirm(origin: Origin, tracker: string, code: number, reason: string, encoded?: Uint8Array): boolean {
    const target = origin.sender !== "" ? this.#owners.get(origin.sender) : this.#conns.get(origin.senderConn);
    if (!target || !target.opened) return false;
    const frames = encoded ? [encoded] : encode({ type: "CONFIRM", tracker, code, reason });
    this.#out.push({ type: "send", conn: target.key, frames });
    return true;
  }

  /** Refuse or discard a message: count it as dropped and tell a tracked sender. */
  #fail(origin: Origin, tracker: string, code: number, reason: string): void {
    this.#counters.dropped++;
    this.#notify(origin, tracker, code, reason);
  }

  /** Refuse a message `conn` sent: count it, tell a tracked sender, and let go of its content. */
  #refuse(conn: Conn, message: MailboxSend | ServiceSend, code: number, reason: string): void {
    this.#fail(this.#origin(conn), message.tracker, code, reason);
    this.#release(message.content);
  }

  /** Tell the sender of a tracked message that it failed. */
  #notify(origin: Origin, tracker: string, code: number, reason: string): void {
    if (tracker === "") return;
    this.#counters.failed++;
    if (this.#observer) this.#observeConfirm(origin, code, false);
    if (this.#sendConfirm(origin, tracker, code, reason)) return;
    if (origin.senderConn === RECOVERED && origin.sender !== "") this.#park(origin.sender, tracker, code, reason);
  }

  /**
   * Hold a failure CONFIRM for a message recovered from the store (e.g. expired while the broker
   * was down) until its sender's address is back: it could not be connected yet. At most
   * `pendingConfirms` are held in all; beyond that they are dropped.
   */
  #park(address: string, tracker: string, code: number, reason: string): void {
    if (this.#parkedCount >= this.#limits.pendingConfirms) return;
    this.#parkedCount++;
    const list = this.#parked.get(address);
    const confirm = encode({ type: "CONFIRM", tracker, code, reason });
    if (list) list.push(confirm);
    else this.#parked.set(address, [confirm]);
  }

  // ---------------------------------------------------------------- streams

  #stream(name: string): Stream {
    return obtain(this.#streams, name, Stream);
  }

  #reclaimStream(stream: Stream): void {
    reclaimIfIdle(this.#streams, stream);
  }

  #pattern = (source: string): Pattern => {
    let pattern = this.#patterns.get(source);
    if (!pattern) {
      if (this.#patterns.size >= PATTERN_CACHE) this.#patterns.clear();
      pattern = compilePattern(source);
      this.#patterns.set(source, pattern);
    }
    return pattern;
  };

  /**
   * Whether `source` compiles; if not, refuse the command with ERROR 300 (counted, logged; the
   * session stays). The compile is charged to the turn's budget and cached for the first match.
   */
  #patternRefused(conn: Conn, command: string, source: string): boolean {
    const pattern = this.#chargedPattern(source);
    if (pattern.valid) return false;
    this.#counters.subscriptionsRefused++;
    this.#log("warn", `${command} refused: invalid pattern`, {
      conn: conn.key, address: conn.address, pattern: source, error: pattern.error,
    });
    // ERROR 300's header up to its reason, then the reason cut to the 255 bytes a string field holds.
    const reason = stringField(`${PATTERN_REFUSED}: ${pattern.error ?? ""}`);
    this.#reply(conn, concatBytes([this.#failedHeader.subarray(0, this.#failedHeader.length - 1), reason]));
    return true;
  }

  /** A stream pattern needed for its first match: a compile is charged to the match budget. */
  #chargedPattern = (source: string): Pattern => {
    if (!this.#patterns.has(source)) this.#budget -= COMPILE_COST;
    return this.#pattern(source);
  };

  #streamWrite(conn: Conn, name: string): void {
    if (this.#deniedWithError(conn, "write", name)) return;
    const previous = conn.writer;
    if (previous?.name !== name) {
      const stream = this.#stream(name);
      stream.writers++;
      conn.writer = stream;
      if (previous) {
        previous.writers--;
        this.#reclaimStream(previous);
      }
    }
    this.#reply(conn, this.#okHeader);
  }

  #streamRead(conn: Conn, message: StreamRead): void {
    if (this.#deniedWithError(conn, "read", message.stream)) return;
    const stream = this.#stream(message.stream);
    const source = message.pattern;
    const limits = this.#limits;
    if (!stream.has(conn, source)) {
      const tooMany = conn.patterns >= limits.patternsPerConnection
        ? "patternsPerConnection"
        : !stream.selectors.has(source) && stream.selectors.size >= limits.patternsPerStream
        ? "patternsPerStream"
        : undefined;
      if (tooMany !== undefined) {
        // ERROR 300: a C client's set_consumer fails; the session stays (docs/broker.md).
        this.#counters.subscriptionsRefused++;
        this.#log("warn", "subscription refused: limit reached", {
          conn: conn.key, address: conn.address, stream: stream.name, limit: tooMany,
        });
        this.#out.push({ type: "send", conn: conn.key, frames: [this.#subscriptionRefusedHeader] });
        this.#reclaimStream(stream);
        return;
      }
      // A pattern some reader already has compiled; a literal needs no compile (see exactSubject).
      if (!stream.selectors.has(source) && exactSubject(source) === undefined && this.#patternRefused(conn, "STREAM-READ", source)) {
        this.#reclaimStream(stream);
        return;
      }
      stream.addReader(conn, source, exactSubject);
      conn.patterns++;
      (conn.reading ??= new Set()).add(stream);
    }
    this.#reply(conn, this.#okHeader);
  }

  #streamCancel(conn: Conn, name: string): void {
    this.#journals.cancel(conn, name);
    const stream = this.#streams.get(name);
    if (stream) {
      conn.patterns -= stream.removeReader(conn);
      conn.reading?.delete(stream);
      this.#reclaimStream(stream);
    }
    this.#reply(conn, this.#okHeader);
  }

  #streamSend(conn: Conn, message: StreamSend): void {
    const stream = conn.writer;
    if (!stream) {
      // As C: an exception. ERROR 300 ends the session; C clients treat it as fatal.
      this.#counters.dropped++;
      this.#reply(conn, this.#failedHeader);
      this.#log("debug", "STREAM-SEND without a writer stream", { conn: conn.key, address: conn.address });
      this.#deregister(conn);
      this.#release(message.content);
      return;
    }
    if (this.#journals.enabled) this.#journals.append(stream.name, conn, message);
    if (this.#observer?.watched?.has(stream.name)) {
      this.#observer.published?.(stream.name, message.subject, conn.address, message.content);
    }
    const fan = new FanOut(stream, conn, message.subject, message.content, contentBytes(message.content), ++this.#seq);
    // A stream's messages go out in order: behind a fan-out that waits, a new one waits too.
    if (stream.pending.length > 0 || !this.#fanOut(fan)) this.#defer(fan);
  }

  /**
   * Deliver `fan` to the readers whose patterns match, spending the event's match budget;
   * false when the budget ran out first (the fan-out keeps its place and must be resumed).
   */
  #fanOut(fan: FanOut): boolean {
    const stream = fan.stream;
    // Matching time grows with the subject: a long one costs more of the budget.
    const cost = 1 + (fan.subject.length >> 5);
    if (fan.cursor === undefined) {
      // Stamps are enough when the fan-out cannot span turns; otherwise other fan-outs would reuse them.
      if (stream.scanned.size * cost + stream.uncompiled * COMPILE_COST + 1 > this.#budget) fan.seen = new Set();
      this.#budget--;
      const exact = stream.exact.get(subjectKey(fan.subject));
      if (exact) for (const selector of exact) this.#fanOutTo(fan, selector);
      fan.cursor = stream.scanned.values();
    }
    const cursor = fan.cursor;
    while (this.#budget > 0) {
      const next = cursor.next();
      if (next.done) {
        // Buffered deliveries share the content with each other; those are left to the GC.
        if (!fan.kept) this.#release(fan.content);
        return true;
      }
      this.#budget -= cost;
      const selector = next.value;
      if ((selector.pattern ?? stream.patternOf(selector, this.#chargedPattern)).matches(fan.subject)) {
        this.#fanOutTo(fan, selector);
      }
    }
    return false;
  }

  #fanOutTo(fan: FanOut, selector: Selector): void {
    const readers = selector.readers;
    for (let i = 0; i < readers.length; i++) {
      const reader = readers[i] as Conn;
      if (reader === fan.sender) continue;
      const seen = fan.seen;
      if (seen) {
        if (seen.has(reader)) continue;
        seen.add(reader);
      } else {
        if (reader.stamp === fan.seq) continue;
        reader.stamp = fan.seq;
      }
      const frames = fan.frames ??= encode({
        type: "STREAM_DELIVER", address: fan.stream.name, sender: fan.sender.address, subject: fan.subject,
        content: fan.content,
      });
      if (reader.creditAware && (reader.credit === 0 || reader.buffer !== undefined || reader.congested)) {
        if (this.#buffer(reader, frames)) fan.kept = true;
      } else if (reader.congested) {
        // As libzmq at SNDHWM: a reader that does not keep up loses stream messages.
        this.#counters.dropped++;
        this.#counters.droppedCongested++;
      } else this.#deliver(reader, frames);
    }
  }

  /** Park a fan-out until a later turn, within the backlog limits (beyond them it is dropped). */
  #defer(fan: FanOut): void {
    const limits = this.#limits;
    // A started fan-out is never dropped half-way (at most one per event is over the limits).
    const full = this.#backlog >= limits.streamBacklogMessages || this.#backlogBytes + fan.bytes > limits.streamBacklogBytes;
    if (full && fan.cursor === undefined) {
      this.#counters.dropped++;
      this.#log("warn", "stream backlog full: message dropped", { stream: fan.stream.name, backlog: this.#backlog });
      this.#release(fan.content);
      return;
    }
    this.#backlog++;
    this.#backlogBytes += fan.bytes;
    fan.stream.pending.push(fan);
    this.#busyStreams.add(fan.stream);
    this.#askContinue();
  }

  #askContinue(): void {
    if (this.#continueAsked) return;
    this.#continueAsked = true;
    this.#out.push({ type: "continue" });
  }

  /** Continue waiting fan-outs, one stream after another, until the budget is spent. */
  #resumeFanOuts(): void {
    const busy = this.#busyStreams;
    while (this.#budget > 0 && busy.size > 0) {
      const stream = busy.values().next().value as Stream;
      busy.delete(stream);
      const pending = stream.pending;
      while (pending.length > 0) {
        const fan = pending[0] as FanOut;
        if (!this.#fanOut(fan)) break;
        pending.shift();
        this.#backlog--;
        this.#backlogBytes -= fan.bytes;
      }
      // Back of the line: streams take turns.
      if (pending.length > 0) busy.add(stream);
      else this.#reclaimStream(stream);
    }
    if (busy.size > 0) this.#askContinue();
  }

  /** Hold a delivery for a reader without credit; false when its buffer is full (dropped). */
  #buffer(reader: Conn, frames: Uint8Array[]): boolean {
    const bytes = contentBytes(frames);
    const limits = this.#limits;
    if (reader.buffered >= limits.streamBufferMessages || reader.bufferBytes + bytes > limits.streamBufferBytes) {
      this.#counters.dropped++;
      this.#log("debug", "reader buffer full: stream message dropped", { conn: reader.key, address: reader.address });
      return false;
    }
    (reader.buffer ??= []).push(frames);
    reader.bufferBytes += bytes;
    this.#counters.queued++;
    return true;
  }

  #flushBuffer(reader: Conn): void {
    const buffer = reader.buffer;
    if (!buffer) return;
    let head = reader.bufferHead;
    while (head < buffer.length && reader.credit > 0 && !reader.congested) {
      const frames = buffer[head] as Uint8Array[];
      buffer[head++] = undefined;
      reader.bufferBytes -= contentBytes(frames);
      this.#deliver(reader, frames);
    }
    if (head === buffer.length) {
      reader.buffer = undefined;
      reader.bufferHead = 0;
      reader.bufferBytes = 0;
    } else if (head > 1024 && head * 2 > buffer.length) {
      buffer.splice(0, head);
      reader.bufferHead = 0;
    } else {
      reader.bufferHead = head;
    }
  }

  // ---------------------------------------------------------------- mailboxes

  #mailboxSend(conn: Conn, message: MailboxSend): void {
    if (this.#denied(conn, "send", message.address)) {
      this.#refuse(conn, message, ConfirmStatus.FAILED, ACL_REFUSED);
      return;
    }
    if (message.address === "") {
      this.#refuse(conn, message, ConfirmStatus.NO_ROUTE, "no route: empty address");
      return;
    }
    const bytes = contentBytes(message.content);
    if (bytes > this.#limits.maxMessageSize) {
      this.#refuse(conn, message, ConfirmStatus.LIMIT, "message too large");
      return;
    }
    const taken = this.#mail(
      conn.key, conn.address, message.address, message.subject, message.tracker, message.content, bytes,
      message.timeout, this.#origin(conn), conn,
    );
    if (taken) this.#acknowledge(conn, message.tracker);
  }

  /** CONFIRM 202: `conn` asked to know when the broker has taken its tracked messages (docs/mlm-extensions.md §3). */
  #acknowledge(conn: Conn, tracker: string): void {
    if (!conn.storedConfirms || tracker === "") return;
    this.#out.push({ type: "send", conn: conn.key, frames: encode({ type: "CONFIRM", tracker, code: ConfirmStatus.STORED, reason: "stored" }) });
  }

  /** The origin of what `conn` sends: one object per connection, since its address is fixed once it is open. */
  #origin(conn: Conn): Origin {
    return conn.origin ??= { senderConn: conn.key, sender: conn.address };
  }

  /** Deliver to the address owner now if it can take it, else store in its mailbox; false when refused. */
  #mail(
    senderConn: string, sender: string, address: string, subject: string, tracker: string, content: Uint8Array[],
    bytes: number, timeout: number, from?: Origin, spliceFrom?: Conn,
  ): boolean {
    const target = this.#owners.get(address);
    let box = this.#mailboxes.get(address);
    if (target && !box && isReady(target)) {
      this.#deliverMail(target, senderConn, sender, subject, tracker, content, from, spliceFrom);
      this.#release(content);
      return true;
    }
    const limits = this.#limits;
    if (box && (box.queue.count >= limits.mailboxMessages || box.queue.bytes + bytes > limits.mailboxBytes)) {
      if (!box.full) {
        box.full = true;
        this.#log("warn", "mailbox full: refusing messages", {
          address, depth: box.queue.count, bytes: box.queue.bytes, status: ConfirmStatus.LIMIT,
        });
      }
      this.#fail({ senderConn, sender }, tracker, ConfirmStatus.LIMIT, "mailbox full");
      this.#release(content);
      return false;
    }
    if (!box && bytes > limits.mailboxBytes) {
      this.#fail({ senderConn, sender }, tracker, ConfirmStatus.LIMIT, "mailbox full");
      this.#release(content);
      return false;
    }
    if (this.#storeFull(bytes)) {
      this.#fail({ senderConn, sender }, tracker, ConfirmStatus.LIMIT, STORE_FULL);
      this.#release(content);
      return false;
    }
    if (this.#storeFailed && senderConn !== "") {
      this.#unavailable({ senderConn, sender }, tracker);
      this.#release(content);
      return false;
    }
    if (!box) {
      box = new Mailbox(address, this.#stored);
      this.#mailboxes.set(address, box);
    }
    box.full = false;
    const deadline = timeout > 0 ? this.#now + timeout : Infinity;
    const stored = new StoredMessage("mailbox", senderConn, sender, address, subject, tracker, content, bytes, deadline);
    box.queue.push(stored);
    if (deadline !== Infinity) this.#deadlines.add(stored);
    this.#counters.queued++;
    this.#keep(stored);
    if (!box.warned && box.queue.bytes > limits.mailboxWarnBytes) {
      box.warned = true;
      this.#log("warn", "mailbox above its size-warn threshold", { address, bytes: box.queue.bytes });
    }
    return true;
  }

  #deliverMail(
    target: Conn, senderConn: string, sender: string, subject: string, tracker: string, content: Uint8Array[],
    origin: Origin | undefined, spliceFrom?: Conn,
  ): void {
    this.#deliver(target, spliceFrom
      ? this.#spliced(spliceFrom, content)
      : encode({ type: "MAILBOX_DELIVER", sender, address: target.address, subject, tracker, content }));
    if (tracker !== "" && senderConn !== "" && !target.noMailboxConfirms) {
      this.#route(target, tracker, origin ?? { senderConn, sender });
    }
  }

  #drainMailbox(conn: Conn): void {
    const box = this.#mailboxes.get(conn.address);
    if (!box) return;
    const queue = box.queue;
    let stored = queue.head;
    while (stored && isReady(conn)) {
      const next = stored.next;
      if (!this.#overdue(stored)) {
        queue.remove(stored);
        this.#deadlines.delete(stored);
        this.#deliverMail(conn, stored.senderConn, stored.sender, stored.subject, stored.tracker, stored.content, stored);
        this.#forget(stored);
        this.#dropContent(stored);
      }
      stored = next;
    }
    this.#afterMailboxRemoval(box);
  }

  #afterMailboxRemoval(box: Mailbox): void {
    const queue = box.queue;
    if (queue.count === 0) {
      if (this.#mailboxes.get(box.address) === box) this.#mailboxes.delete(box.address);
      return;
    }
    if (box.warned && queue.bytes <= this.#limits.mailboxWarnBytes / 2) box.warned = false;
  }

  // ---------------------------------------------------------------- services

  #service(name: string): Service {
    let service = this.#services.get(name);
    if (service === undefined) {
      service = new Service(name, this.#stored);
      this.#services.set(name, service);
    }
    return service;
  }

  #reclaimService(service: Service): void {
    reclaimIfIdle(this.#services, service);
  }

  #serviceOffer(conn: Conn, name: string, source: string): void {
    if (this.#deniedWithError(conn, "offer", name)) return;
    if (conn.offers >= this.#limits.offersPerConnection) {
      this.#counters.subscriptionsRefused++;
      this.#reply(conn, this.#tooManyOffersHeader);
      this.#log("warn", "SERVICE-OFFER refused: too many offers on one connection", {
        conn: conn.key, address: conn.address, limit: this.#limits.offersPerConnection,
      });
      return;
    }
    if (this.#patternRefused(conn, "SERVICE-OFFER", source)) return;
    conn.offers++;
    const service = this.#service(name);
    service.offers.push({ conn, source, pattern: this.#pattern(source) });
    (conn.offering ??= new Set()).add(service);
    this.#reply(conn, this.#okHeader);
    this.#dispatch(service);
  }

  #serviceSend(conn: Conn, message: ServiceSend): void {
    if (this.#denied(conn, "request", message.address)) {
      this.#refuse(conn, message, ConfirmStatus.FAILED, ACL_REFUSED);
      return;
    }
    if (message.address === ADMIN_SERVICE) {
      this.#admin(conn, message);
      return;
    }
    if (message.address === STREAM_SERVICE) {
      this.#journals.command(conn, message);
      this.#release(message.content);
      return;
    }
    const bytes = contentBytes(message.content);
    if (bytes > this.#limits.maxMessageSize) {
      this.#refuse(conn, message, ConfirmStatus.LIMIT, "message too large");
      return;
    }
    const service = this.#service(message.address);
    const deadline = message.timeout > 0 ? this.#now + message.timeout : Infinity;
    const index = service.pick(message.subject);
    if (index >= 0) {
      const worker = (service.offers[index] as { conn: Conn }).conn;
      if (message.tracker === "" || !worker.creditAware) {
        // Delivered for good at once: nothing is held, so no StoredMessage is made for it.
        this.#deliverNow(service, index, conn, message);
        this.#acknowledge(conn, message.tracker);
        return;
      }
    }
    const request = new StoredMessage(
      "service", conn.key, conn.address, message.address, message.subject, message.tracker, message.content, bytes,
      deadline,
    );
    request.at = this.#now;
    if (index >= 0) {
      const worker = (service.offers[index] as { conn: Conn }).conn;
      if (this.#storeFailed && worker.creditAware && request.tracker !== "") {
        // It would be held in flight, and kept for a requeue after a crash: that needs the store.
        this.#unavailable(request, request.tracker);
        this.#dropContent(request);
        this.#reclaimService(service);
        return;
      }
      this.#deliverRequest(service, index, request, conn);
      this.#acknowledge(conn, request.tracker);
      return;
    }
    const limits = this.#limits;
    const queue = service.queue;
    if (this.#storeFull(bytes)) {
      this.#fail(request, request.tracker, ConfirmStatus.LIMIT, STORE_FULL);
      this.#dropContent(request);
      this.#reclaimService(service);
      return;
    }
    if (queue.count >= limits.serviceQueueMessages || queue.bytes + bytes > limits.serviceQueueBytes) {
      if (!service.full) {
        service.full = true;
        this.#log("warn", "service queue full: refusing requests", {
          service: service.name, depth: queue.count, bytes: queue.bytes, status: ConfirmStatus.LIMIT,
        });
      }
      this.#fail(request, request.tracker, ConfirmStatus.LIMIT, "service queue full");
      this.#dropContent(request);
      this.#reclaimService(service);
      return;
    }
    if (this.#storeFailed) {
      this.#unavailable(request, request.tracker);
      this.#dropContent(request);
      this.#reclaimService(service);
      return;
    }
    service.full = false;
    queue.push(request);
    this.#held.add(request);
    if (deadline !== Infinity) this.#deadlines.add(request);
    this.#counters.queued++;
    this.#keep(request);
    this.#acknowledge(conn, request.tracker);
    if (!service.warned && queue.bytes > limits.serviceQueueWarnBytes) {
      service.warned = true;
      this.#log("warn", "service queue above its size-warn threshold", { service: service.name, bytes: queue.bytes });
    }
  }

  /** As {@link #deliverRequest} for a request just received and not held (untracked, or for a C worker). */
  #deliverNow(service: Service, index: number, conn: Conn, message: ServiceSend): void {
    const worker = service.offers[index]?.conn as Conn;
    service.rotate(index);
    this.#observer?.dispatched(service.name, 0);
    this.#deliver(worker, this.#spliced(conn, message.content));
    this.#release(message.content);
    // A route is kept so a CONFIRM still reaches the requester.
    if (message.tracker !== "") this.#route(worker, message.tracker, this.#origin(conn));
  }

  /**
   * The DELIVER of the SEND `conn` sent in this event: its header spliced from the SEND's
   * (the owner of a mailbox address is the addressee, so the address is the SEND's too).
   */
  #spliced(conn: Conn, content: Uint8Array[]): Uint8Array[] {
    const frames = new Array<Uint8Array>(content.length + 1);
    frames[0] = deliverHeader(conn.senderField ??= stringField(conn.address), this.#header);
    for (let i = 0; i < content.length; i++) frames[i + 1] = content[i] as Uint8Array;
    return frames;
  }

  /** `spliceFrom`: the request is the SERVICE-SEND this connection sent in this event. */
  #deliverRequest(service: Service, index: number, request: StoredMessage, spliceFrom?: Conn): void {
    const worker = service.offers[index]?.conn as Conn;
    service.rotate(index);
    this.#observer?.dispatched(service.name, request.at >= 0 ? this.#now - request.at : -1);
    request.at = this.#now;
    // Kept before it leaves: under fsync `always`, nothing is delivered before it is on disk.
    if (request.tracker !== "" && worker.creditAware) this.#keep(request);
    this.#deliver(worker, spliceFrom ? this.#spliced(spliceFrom, request.content) : encode({
      type: "SERVICE_DELIVER", sender: request.sender, address: request.address, subject: request.subject,
      tracker: request.tracker, content: request.content,
    }));
    if (request.tracker === "" || !worker.creditAware) {
      // Delivered for good (C workers never confirm); a route is kept so a CONFIRM still reaches the requester.
      this.#held.delete(request);
      this.#forget(request);
      this.#dropContent(request);
      if (request.tracker !== "") this.#route(worker, request.tracker, request);
      return;
    }
    // Held until the worker confirms; requeued if it leaves first (or after a crash: it is kept).
    (worker.inflight ??= new Set()).add(request);
    this.#held.add(request);
    worker.inflightBytes += request.bytes;
    service.inflight++;
    this.#route(worker, request.tracker, request);
    if (worker.inflightBytes > this.#limits.inflightBytes) {
      if (worker.inflight.size > 1) {
        this.#log("debug", "worker holds too many unconfirmed requests: the oldest count as done", {
          conn: worker.key, address: worker.address, bytes: worker.inflightBytes,
        });
      }
      for (const oldest of worker.inflight) {
        if (worker.inflightBytes <= this.#limits.inflightBytes) break;
        this.#settle(worker, oldest);
      }
    }
  }

  /** Hand queued requests to ready workers, oldest first. */
  #dispatch(service: Service): void {
    if (service.offers.length > 0) {
      let request = service.queue.head;
      while (request) {
        const next = request.next;
        if (this.#overdue(request)) {
          request = next;
          continue;
        }
        const index = service.pick(request.subject);
        if (index >= 0) {
          this.#unqueueRequest(service, request);
          this.#deliverRequest(service, index, request);
        } else if (!service.anyReady()) break;
        request = next;
      }
    }
    this.#reclaimService(service);
  }

  #unqueueRequest(service: Service, request: StoredMessage): void {
    service.queue.remove(request);
    this.#deadlines.delete(request);
    if (service.warned && service.queue.bytes <= this.#limits.serviceQueueWarnBytes / 2) service.warned = false;
  }

  /** Put in-flight requests (in delivery order) back at the head of their queues. */
  #requeue(requests: StoredMessage[]): void {
    const services = new Set<Service>();
    for (let i = requests.length - 1; i >= 0; i--) {
      const request = requests[i] as StoredMessage;
      const service = this.#service(request.address);
      service.inflight--;
      if (request.withdrawn) {
        this.#withdrawn(request);
        services.add(service);
        continue;
      }
      if (request.deadline <= this.#now) {
        this.#held.delete(request);
        this.#counters.expired++;
        this.#notify(request, request.tracker, ConfirmStatus.EXPIRED, "expired");
        this.#forget(request);
        this.#dropContent(request);
        services.add(service);
        continue;
      }
      service.queue.unshift(request);
      if (request.deadline !== Infinity) this.#deadlines.add(request);
      this.#counters.requeued++;
      services.add(service);
    }
    for (const service of services) this.#dispatch(service);
  }

  #admin(conn: Conn, message: ServiceSend): void {
    if (message.subject !== "STATS") {
      this.#refuse(conn, message, ConfirmStatus.FAILED, "unknown admin command");
      return;
    }
    if (conn.address === "") {
      this.#refuse(conn, message, ConfirmStatus.NO_ROUTE, "no route: anonymous requester");
      return;
    }
    this.#release(message.content);
    const body = utf8.encode(JSON.stringify(this.stats(this.#now, ADMIN_CLIENT_LIST_MAX)));
    this.#mail("", ADMIN_SERVICE, conn.address, message.subject, message.tracker, [body], body.byteLength, 0);
  }

  // ---------------------------------------------------------------- storage (design.md §5)

  /**
   * Take over what the store recovered: mailbox messages and service requests in the order they
   * were accepted (requests that were in flight at a worker are queued again), stream journals'
   * sequence numbers and durable consumers' positions. Call once, before the first event;
   * deadlines already passed expire (with their CONFIRM 301) at the first event.
   */
  restore(state: RecoveredState): void {
    if (this.#storage === undefined) return;
    if (state.lastId > this.#lastId) this.#lastId = state.lastId;
    for (const record of state.records) {
      const content = record.content as Uint8Array[];
      const bytes = contentBytes(content);
      const message = new StoredMessage(
        record.kind, RECOVERED, record.sender, record.address, record.subject, record.tracker, content, bytes,
        record.deadline,
      );
      message.id = record.id;
      if (record.kind === "mailbox") {
        let box = this.#mailboxes.get(record.address);
        if (!box) {
          box = new Mailbox(record.address, this.#stored);
          this.#mailboxes.set(record.address, box);
        }
        box.queue.push(message);
      } else {
        this.#service(record.address).queue.push(message);
        this.#held.add(message);
      }
      if (message.deadline !== Infinity) this.#deadlines.add(message);
      this.#counters.recovered++;
    }
    this.#journals.restore(state.streams, state.cursors);
  }

  /** Append a storage op to this event's `store` action (emitted where the first op was decided). */
  #persist(op: StorageOp): void {
    let ops = this.#ops;
    if (ops === undefined) {
      ops = this.#ops = [];
      this.#out.push({ type: "store", ops });
    }
    ops.push(op);
  }

  /** Keep a queued or held message in the store (no-op without one, and for the broker's own answers). */
  #keep(message: StoredMessage): void {
    if (this.#storage === undefined || message.id !== 0 || message.senderConn === "") return;
    if (this.#storeFailed) return;
    const id = message.id = ++this.#lastId;
    this.#counters.stored++;
    this.#persist({
      op: "put",
      record: {
        id, kind: message.kind, sender: message.sender, address: message.address, subject: message.subject,
        tracker: message.tracker, deadline: message.deadline, content: message.content,
      },
    });
  }

  /** A kept message is done for good. */
  #forget(message: StoredMessage): void {
    if (message.id === 0) return;
    this.#persist({ op: "done", id: message.id });
    message.id = 0;
  }

  /** Refuse a message because the store cannot write (CONFIRM 306). */
  #unavailable(origin: Origin, tracker: string): void {
    this.#counters.storageRefused++;
    this.#log("warn", "storage unavailable: message refused", { sender: origin.sender, status: ConfirmStatus.UNAVAILABLE });
    this.#fail(origin, tracker, ConfirmStatus.UNAVAILABLE, "storage unavailable");
  }

  #storageFailed(reason: string): void {
    if (this.#storage === undefined) return;
    const memory = this.#storage.onFailure === "memory";
    this.#log("error", memory ? "storage failed: serving from memory only, without durability" : "storage failed: refusing messages that need storing", { reason });
    if (!memory) this.#storeFailed = true;
  }

  // ---------------------------------------------------------------- expiry and shutdown

  #expireMessage(message: StoredMessage): void {
    if (message.kind === "mailbox") {
      const box = this.#mailboxes.get(message.address);
      if (!box || message.queue !== box.queue) return;
      box.queue.remove(message);
      this.#afterMailboxRemoval(box);
    } else {
      const service = this.#services.get(message.address);
      if (!service || message.queue !== service.queue) return;
      this.#unqueueRequest(service, message);
      this.#held.delete(message);
      this.#reclaimService(service);
    }
    this.#counters.expired++;
    this.#notify(message, message.tracker, ConfirmStatus.EXPIRED, "expired");
    this.#forget(message);
    this.#dropContent(message);
  }

  #shutdown(): void {
    const reason = "broker shutting down";
    // Messages in the store are not lost: they are there when the broker starts again.
    const lost = (m: StoredMessage): void => {
      if (m.id === 0) this.#fail(m, m.tracker, ConfirmStatus.SHUTDOWN, reason);
    };
    for (const box of this.#mailboxes.values()) {
      for (let m = box.queue.head; m; m = m.next) lost(m);
    }
    for (const service of this.#services.values()) {
      for (let m = service.queue.head; m; m = m.next) lost(m);
    }
    for (const conn of this.#conns.values()) {
      if (conn.inflight) for (const m of conn.inflight) lost(m);
      this.#counters.dropped += conn.buffered;
    }
    this.#held.clear();
    this.#busyStreams.clear();
    this.#closed = true;
    this.#log("info", "broker shut down", {});
  }

  /** The core lets go of a stored message's content: emptied, and listed for release once. */
  #dropContent(message: StoredMessage): void {
    if (message.content === NO_CONTENT) return;
    this.#release(message.content);
    message.content = NO_CONTENT;
  }

  /** `frames` will not be read again by the core (sends already queued may still hold them). */
  #release(frames: readonly Uint8Array[]): void {
    for (let i = 0; i < frames.length; i++) this.#released.push(frames[i] as Uint8Array);
  }

  /** Log; lines above debug are rate-limited per message text (a peer must not control the log volume). */
  #log(level: LogLevel, message: string, fields: Record<string, unknown>): void {
    if (level !== "debug" && !this.#logLimiter.admit(message, this.#now)) {
      this.#counters.logsSuppressed++;
      return;
    }
    this.#out.push({ type: "log", level, message, fields });
  }
}

import { ALLOW_ALL_RULES, type AclRules } from "../security/acl.ts";
import type { Consumer } from "../durable/consumer.ts";
import type { StoredMessage } from "./message.ts";
import { ConfirmRoutes, type Origin } from "./routes.ts";
import type { Service } from "./service.ts";
import type { Stream } from "./stream.ts";
import type { BrokerClientStats } from "../types.ts";

/**
 * The broker's state for one connection ("context" in the C broker). Created on the
 * transport's connect or on the first frames, `opened` after CONNECTION-OPEN. Optional
 * parts are created lazily so idle connections stay small.
 */
export class Conn {
  /** Completed CONNECTION-OPEN (state `connected`), else state `start`. */
  opened = false;
  /** MLM address ("" = anonymous). */
  address = "";
  /** Time of the last input; the connection expires `timeout` ms later. */
  lastActive: number;
  /** Links in the broker's least-recently-active list. */
  lruPrev: Conn | undefined = undefined;
  lruNext: Conn | undefined = undefined;
  /**
   * It sent HELLO, so it knows this broker takes CONFIRM (docs/mlm-extensions.md §1). Only such
   * recipients get confirmation routes for tracked deliveries that are not held: a C client
   * never confirms, and a route per delivery would be memory and old-generation garbage for
   * nothing.
   */
  saidHello = false;
  /** HELLO flag NO_MAILBOX_CONFIRMS: no CONFIRM route is kept for tracked mailbox deliveries to it. */
  noMailboxConfirms = false;
  /** HELLO flag STORED_CONFIRMS: its tracked sends get CONFIRM 202 once taken. */
  storedConfirms = false;
  /** Its stream consumers (docs/mlm-extensions.md §4), by stream name. */
  consumers: Map<string, Consumer> | undefined = undefined;
  /** The transport's backlog for it is high: no pushed deliveries until it drains. */
  congested = false;
  /**
   * Deliveries (and their bytes) pushed to it since the last `continue` turn. The transport
   * reports congestion only after a batch of actions has been sent, so one batch must not
   * overfill it: at a quarter of `peerSendMessages` or `peerSendBytes` it is `burstFull` (not
   * ready) until the next turn, which then resumes it.
   */
  burst = 0;
  burstBytes = 0;
  burstFull = false;
  /** Stream subscriptions (stream, pattern) held. */
  patterns = 0;
  /** When it appeared; it must OPEN within `openTimeout`. */
  readonly since: number;
  /** Links in the broker's list of connections not opened yet, oldest first. */
  waitPrev: Conn | undefined = undefined;
  waitNext: Conn | undefined = undefined;
  /** Sent CREDIT at least once: deliveries now spend `credit`. */
  creditAware = false;
  credit = 0;
  writer: Stream | undefined = undefined;
  reading: Set<Stream> | undefined = undefined;
  offering: Set<Service> | undefined = undefined;
  /** Tracked requests delivered to this (credit-aware) worker, in delivery order. */
  inflight: Set<StoredMessage> | undefined = undefined;
  /** Content bytes of the requests in `inflight`. */
  inflightBytes = 0;
  routes: ConfirmRoutes | undefined = undefined;
  /** What it sends comes from here (made once it is open; see `BrokerCore`). */
  origin: Origin | undefined = undefined;
  /** Its address as a header string field, for DELIVERs spliced from what it sends. */
  senderField: Uint8Array | undefined = undefined;
  /** Stream deliveries waiting for credit: encoded frames, consumed from `bufferHead`. */
  buffer: (Uint8Array[] | undefined)[] | undefined = undefined;
  bufferHead = 0;
  bufferBytes = 0;
  malformed = 0;
  /** SERVICE-OFFERs accepted on this connection (bounded by `offersPerConnection`). */
  offers = 0;
  /** Last stream message sequence delivered, so a reader gets a message at most once. */
  stamp = 0;
  /** False once deregistered. */
  alive = true;
  /** Authenticated CURVE public key (Z85), from the transport's connect event. */
  curveKey: string | undefined = undefined;
  /** What the ACL lets it use. */
  acl: AclRules = ALLOW_ALL_RULES;

  constructor(readonly key: string, now: number) {
    this.lastActive = now;
    this.since = now;
  }

  /** Buffered stream deliveries. */
  get buffered(): number {
    return this.buffer ? this.buffer.length - this.bufferHead : 0;
  }

  /** This connection as listed in the broker's stats. */
  snapshot(now: number): BrokerClientStats {
    return {
      conn: this.key,
      ...(this.curveKey !== undefined ? { curveKey: this.curveKey } : {}),
      address: this.address,
      opened: this.opened,
      idleMs: Math.max(0, Math.round(now - this.lastActive)),
      creditAware: this.creditAware,
      credit: this.credit,
      writes: this.writer?.name ?? "",
      reads: this.reading ? [...this.reading].map((s) => s.name) : [],
      offers: this.offering ? [...this.offering].map((s) => s.name) : [],
      inflight: this.inflight?.size ?? 0,
      buffered: this.buffered,
      congested: this.congested,
    };
  }

  confirmRoutes(): ConfirmRoutes {
    return (this.routes ??= new ConfirmRoutes());
  }
}

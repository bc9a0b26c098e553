import type { Conn } from "./conn.ts";
import type { Pattern } from "../pattern.ts";
import { MessageQueue, type QueueTotals } from "./queue.ts";

/** One SERVICE-OFFER: a worker connection and the subjects it takes. */
export interface Offer {
  readonly conn: Conn;
  readonly source: string;
  readonly pattern: Pattern;
}

/** True when `conn` may receive one more delivery now: it has credit, its transport is not congested and this turn's burst is not spent. */
export function isReady(conn: Conn): boolean {
  return !conn.congested && !conn.burstFull && (!conn.creditAware || conn.credit > 0);
}

/**
 * A named service: its offers, in rotation order, and the requests waiting for a
 * worker. Requests go to the first offer that matches and whose worker has credit;
 * that worker's offers then move to the back, so matching workers take turns.
 */
export class Service {
  readonly offers: Offer[] = [];
  readonly queue: MessageQueue;
  /** Tracked requests delivered to credit-aware workers and not yet confirmed. */
  inflight = 0;
  /** Whether the size-warn threshold has been reported and not re-armed yet. */
  warned = false;
  /** Whether the last request was refused for a limit (to log only transitions). */
  full = false;

  /** `totals` counts this service's queue together with the broker's other queues. */
  constructor(readonly name: string, totals?: QueueTotals) {
    this.queue = new MessageQueue(totals);
  }

  /** Index of the offer that should take a request with `subject`, or -1. */
  pick(subject: string): number {
    const offers = this.offers;
    for (let i = 0; i < offers.length; i++) {
      const offer = offers[i] as Offer;
      if (isReady(offer.conn) && offer.pattern.matches(subject)) return i;
    }
    return -1;
  }

  /** Whether any worker could take a request right now (has credit). */
  anyReady(): boolean {
    for (const offer of this.offers) if (isReady(offer.conn)) return true;
    return false;
  }

  /** Move the offers of the worker behind offer `index` to the back, keeping their order. */
  rotate(index: number): void {
    const offers = this.offers;
    const n = offers.length;
    if (n < 2) return;
    const conn = (offers[index] as Offer).conn;
    let count = 0;
    for (let i = 0; i < n; i++) if ((offers[i] as Offer).conn === conn) count++;
    if (count === 1) {
      // The common case (one offer per worker), done in place: this runs for every request.
      const offer = offers[index] as Offer;
      for (let i = index; i < n - 1; i++) offers[i] = offers[i + 1] as Offer;
      offers[n - 1] = offer;
      return;
    }
    let write = 0;
    const mine: Offer[] = [];
    for (let read = 0; read < n; read++) {
      const offer = offers[read] as Offer;
      if (offer.conn === conn) mine.push(offer);
      else offers[write++] = offer;
    }
    for (let i = 0; i < mine.length; i++) offers[write++] = mine[i] as Offer;
  }

  /** Remove every offer of `conn`; returns how many there were. */
  removeWorker(conn: Conn): number {
    const offers = this.offers;
    let write = 0;
    for (let read = 0; read < offers.length; read++) {
      const offer = offers[read] as Offer;
      if (offer.conn !== conn) offers[write++] = offer;
    }
    const removed = offers.length - write;
    offers.length = write;
    return removed;
  }

  /** Number of distinct workers offering. */
  get workers(): number {
    return new Set(this.offers.map((o) => o.conn)).size;
  }

  /** True when nothing refers to the service any more, so it can be forgotten. */
  get idle(): boolean {
    return this.offers.length === 0 && this.queue.count === 0 && this.inflight === 0;
  }
}

/** A mailbox: messages stored for an address until its owner can take them. */
export class Mailbox {
  readonly queue: MessageQueue;
  warned = false;
  full = false;
  /** `totals` counts this mailbox together with the broker's other queues. */
  constructor(readonly address: string, totals?: QueueTotals) {
    this.queue = new MessageQueue(totals);
  }
}

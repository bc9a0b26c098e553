/** Who gets the CONFIRM for a tracked delivery. */
export interface Origin {
  /** Connection key of the original sender. */
  readonly senderConn: string;
  /** MLM address of the original sender ("" = anonymous: only `senderConn` can get it). */
  readonly sender: string;
}

/**
 * Per-recipient map from tracker to the origin of each tracked delivery still waiting
 * for the recipient's CONFIRM. Trackers are chosen by senders, so two senders may use
 * the same one: entries with the same tracker are answered oldest first. The map is
 * bounded; C recipients never confirm, so the oldest entries make way for new ones.
 *
 * @example
 * ```ts
 * const routes = new ConfirmRoutes();
 * routes.add("t1", { senderConn: "00aa", sender: "alice" }, 10_000);
 * routes.take("t1"); // the origin, once
 * ```
 */
export class ConfirmRoutes {
  /**
   * Tracker → its oldest indexed entry (later ones with the same tracker follow `sameNext`).
   * Entries are indexed lazily, only when a take does not name the oldest entry: C peers never
   * confirm and credit-aware ones mostly confirm in delivery order, so most routes come and go
   * without a Map operation (four of them per route cost ~250 ns at 10,000 entries).
   */
  readonly #map = new Map<string, RouteEntry>();
  /**
   * Every entry in arrival order, so the oldest is found in O(1). (Taking the first key of a
   * Map after many deletions is not O(1) in V8: iteration walks the deleted slots.)
   */
  #oldest: RouteEntry | undefined = undefined;
  #newest: RouteEntry | undefined = undefined;
  /** The oldest entry not in `#map`; it and every newer entry are not, every older one is. */
  #unindexed: RouteEntry | undefined = undefined;
  /** Number of origins held. */
  size = 0;

  /** Remember an origin; returns the one evicted to stay within `limit`, if any. */
  add(tracker: string, origin: Origin, limit: number): Origin | undefined {
    let evicted: Origin | undefined;
    let entry: RouteEntry;
    const oldest = this.#oldest;
    if (this.size >= limit && oldest !== undefined) {
      // The oldest entry's object is reused: at the limit every add evicts (C peers never
      // confirm), and a new entry per add would only be promoted by the GC, live for `limit`
      // more adds, and make old-space garbage.
      evicted = oldest.origin;
      this.#remove(oldest);
      entry = oldest;
      entry.tracker = tracker;
      entry.origin = origin;
    } else entry = new RouteEntry(tracker, origin);
    entry.prev = this.#newest;
    if (this.#newest) this.#newest.next = entry;
    else this.#oldest = entry;
    this.#newest = entry;
    this.#unindexed ??= entry;
    this.size++;
    return evicted;
  }

  /** Remove and return the oldest origin recorded for `tracker`. */
  take(tracker: string): Origin | undefined {
    const oldest = this.#oldest;
    if (oldest === undefined) return undefined;
    // The oldest entry of all is the oldest of its tracker.
    let first: RouteEntry | undefined = oldest;
    if (oldest.tracker !== tracker) {
      this.#indexAll();
      first = this.#map.get(tracker);
      if (first === undefined) return undefined;
    }
    this.#remove(first);
    return first.origin;
  }

  #indexAll(): void {
    const map = this.#map;
    for (let entry = this.#unindexed; entry !== undefined; entry = entry.next) {
      entry.indexed = true;
      const first = map.get(entry.tracker);
      if (first === undefined) {
        entry.sameLast = entry;
        map.set(entry.tracker, entry);
      } else {
        (first.sameLast as RouteEntry).sameNext = entry;
        first.sameLast = entry;
      }
    }
    this.#unindexed = undefined;
  }

  /** Unlink `entry`, the oldest of its tracker (or an unindexed one at the head), from both orders. */
  #remove(entry: RouteEntry): void {
    if (entry.indexed) {
      const next = entry.sameNext;
      if (next === undefined) this.#map.delete(entry.tracker);
      else {
        next.sameLast = entry.sameLast;
        this.#map.set(entry.tracker, next);
      }
      entry.indexed = false;
    } else if (this.#unindexed === entry) this.#unindexed = entry.next;
    if (entry.prev) entry.prev.next = entry.next;
    else this.#oldest = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else this.#newest = entry.prev;
    entry.prev = entry.next = entry.sameNext = entry.sameLast = undefined;
    this.size--;
  }
}

/** One waiting CONFIRM route, linked in arrival order and, once indexed, among entries with its tracker. */
class RouteEntry {
  prev: RouteEntry | undefined = undefined;
  next: RouteEntry | undefined = undefined;
  /** The next entry with the same tracker. */
  sameNext: RouteEntry | undefined = undefined;
  /** On the first entry of a tracker: the last one with that tracker. */
  sameLast: RouteEntry | undefined = undefined;
  /** In the tracker map. */
  indexed = false;
  constructor(public tracker: string, public origin: Origin) {}
}

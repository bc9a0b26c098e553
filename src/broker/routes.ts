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
  /** Tracker → its oldest waiting entry (later ones with the same tracker follow `sameNext`). */
  readonly #map = new Map<string, RouteEntry>();
  /**
   * Every entry in arrival order, so the oldest is found in O(1). (Taking the first key of a
   * Map after many deletions is not O(1) in V8: iteration walks the deleted slots.)
   */
  #oldest: RouteEntry | undefined = undefined;
  #newest: RouteEntry | undefined = undefined;
  /** Number of origins held. */
  size = 0;

  /** Remember an origin; returns the one evicted to stay within `limit`, if any. */
  add(tracker: string, origin: Origin, limit: number): Origin | undefined {
    let evicted: Origin | undefined;
    let entry: RouteEntry;
    const oldest = this.#oldest;
    if (this.size >= limit && oldest !== undefined) {
      // The oldest entry is the first of its tracker. Its object is reused: C peers never
      // confirm, so at the limit every add evicts, and a new entry per add would only be
      // promoted by the GC, live for `limit` more adds, and make old-space garbage.
      evicted = oldest.origin;
      this.#unlink(oldest.tracker, oldest);
      entry = oldest;
      entry.tracker = tracker;
      entry.origin = origin;
    } else entry = new RouteEntry(tracker, origin);
    entry.prev = this.#newest;
    if (this.#newest) this.#newest.next = entry;
    else this.#oldest = entry;
    this.#newest = entry;
    const first = this.#map.get(tracker);
    if (first === undefined) {
      entry.sameLast = entry;
      this.#map.set(tracker, entry);
    } else {
      (first.sameLast as RouteEntry).sameNext = entry;
      first.sameLast = entry;
    }
    this.size++;
    return evicted;
  }

  /** Remove and return the oldest origin recorded for `tracker`. */
  take(tracker: string): Origin | undefined {
    const first = this.#map.get(tracker);
    if (first === undefined) return undefined;
    this.#unlink(tracker, first);
    return first.origin;
  }

  /** Unlink `first`, the oldest entry of `tracker`, from both orders. */
  #unlink(tracker: string, first: RouteEntry): void {
    const next = first.sameNext;
    if (next === undefined) this.#map.delete(tracker);
    else {
      next.sameLast = first.sameLast;
      this.#map.set(tracker, next);
    }
    if (first.prev) first.prev.next = first.next;
    else this.#oldest = first.next;
    if (first.next) first.next.prev = first.prev;
    else this.#newest = first.prev;
    first.prev = first.next = first.sameNext = first.sameLast = undefined;
    this.size--;
  }
}

/** One waiting CONFIRM route, linked in arrival order and among entries with its tracker. */
class RouteEntry {
  prev: RouteEntry | undefined = undefined;
  next: RouteEntry | undefined = undefined;
  /** The next entry with the same tracker. */
  sameNext: RouteEntry | undefined = undefined;
  /** On the first entry of a tracker: the last one with that tracker. */
  sameLast: RouteEntry | undefined = undefined;
  constructor(public tracker: string, public origin: Origin) {}
}

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
  /** Tracker → origins in arrival order, consumed from `head`. */
  readonly #map = new Map<string, Origin | Pending>();
  /** Number of origins held. */
  size = 0;

  /** Remember an origin; returns the one evicted to stay within `limit`, if any. */
  add(tracker: string, origin: Origin, limit: number): Origin | undefined {
    let evicted: Origin | undefined;
    if (this.size >= limit) evicted = this.#evictOldest();
    const existing = this.#map.get(tracker);
    if (existing === undefined) this.#map.set(tracker, origin);
    else if (existing instanceof Pending) existing.list.push(origin);
    else this.#map.set(tracker, new Pending([existing, origin]));
    this.size++;
    return evicted;
  }

  /** Remove and return the oldest origin recorded for `tracker`. */
  take(tracker: string): Origin | undefined {
    const existing = this.#map.get(tracker);
    if (existing === undefined) return undefined;
    this.size--;
    if (!(existing instanceof Pending)) {
      this.#map.delete(tracker);
      return existing;
    }
    const first = existing.list[existing.head] as Origin;
    existing.list[existing.head++] = undefined as unknown as Origin;
    if (existing.head === existing.list.length) this.#map.delete(tracker);
    else if (existing.head >= 1024 && existing.head * 2 >= existing.list.length) existing.compact();
    return first;
  }

  /** Remove one specific origin (used when a request is withdrawn without a CONFIRM). */
  delete(tracker: string, origin: Origin): void {
    const existing = this.#map.get(tracker);
    if (existing === origin) {
      this.#map.delete(tracker);
      this.size--;
    } else if (existing instanceof Pending) {
      const index = existing.list.indexOf(origin, existing.head);
      if (index < 0) return;
      existing.list.splice(index, 1);
      this.size--;
      if (existing.head === existing.list.length) this.#map.delete(tracker);
    }
  }

  #evictOldest(): Origin | undefined {
    const first = this.#map.keys().next();
    if (first.done) return undefined;
    return this.take(first.value);
  }
}

/** Several deliveries with the same tracker: a FIFO consumed from `head`. */
class Pending {
  head = 0;
  constructor(public list: Origin[]) {}

  compact(): void {
    this.list = this.list.slice(this.head);
    this.head = 0;
  }
}

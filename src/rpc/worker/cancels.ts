/**
 * Remembers cancels of calls a worker has not started yet (they were still queued in the
 * broker when the caller gave up), so that such a call is answered without running it.
 * Bounded: entries leave at their expiry, and the oldest go first when full.
 *
 * @example
 * ```ts
 * const early = new EarlyCancels(1000);
 * early.add("abc.1", Date.now() + 5000, Date.now());
 * early.take("abc.1", Date.now()); // true, and forgotten
 * ```
 */
export class EarlyCancels {
  readonly #expiry = new Map<string, number>();

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.#expiry.size;
  }

  add(callId: string, expiresAt: number, now: number): void {
    this.#expiry.delete(callId);
    this.#expiry.set(callId, expiresAt);
    this.#prune(now);
  }

  /** Whether `callId` was cancelled (and not expired); forgets it either way. */
  take(callId: string, now: number): boolean {
    const expiresAt = this.#expiry.get(callId);
    if (expiresAt === undefined) return false;
    this.#expiry.delete(callId);
    return expiresAt > now;
  }

  #prune(now: number): void {
    // Insertion order is roughly expiry order; stop at the first live entry unless over capacity.
    for (const [id, expiresAt] of this.#expiry) {
      if (expiresAt > now && this.#expiry.size <= this.capacity) break;
      this.#expiry.delete(id);
    }
  }
}

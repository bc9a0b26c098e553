import { DeadlineHeap as IndexedHeap, type Scheduled } from "../util/deadline-heap.ts";

/** Something with a deadline that a {@link DeadlineHeap} can hold. */
export interface HeapEntry extends Scheduled {
  /** Absolute time (ms since the epoch) at which `expire` runs. */
  readonly deadline: number;
  /** Position in the heap, -1 when not in one (maintained by the heap). */
  heapIndex: number;
}

// setTimeout fires at once for delays past 2^31-1 ms.
const MAX_DELAY = 0x7fffffff;

/**
 * Runs `expire(entry)` for each entry whose deadline passes, with a single timer for all of
 * them: a timer per call costs more than the call's own work on some runtimes. Removing an
 * entry that settled in time is O(log n) and leaves the timer alone; a timer that fires with
 * nothing due re-arms itself for the new earliest deadline (or stops when empty).
 *
 * @example
 * ```ts
 * const heap = new DeadlineHeap<Call>((call) => call.timeout());
 * heap.add(call);    // call.deadline = Date.now() + 5000
 * heap.remove(call); // settled in time
 * heap.clear();      // stop the timer
 * ```
 */
export class DeadlineHeap<T extends HeapEntry> {
  readonly #heap = new IndexedHeap<T>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #armedFor = Infinity;

  constructor(
    private readonly expire: (entry: T) => void,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.#heap.size;
  }

  add(entry: T): void {
    this.#heap.add(entry);
    if (entry.deadline < this.#armedFor) this.#arm();
  }

  remove(entry: T): void {
    // The timer stays armed even when empty: it finds nothing due, and a busy caller making
    // one call at a time would otherwise pay for a new timer per call.
    this.#heap.delete(entry);
  }

  /** Forget every entry and stop the timer. */
  clear(): void {
    this.#heap.clear();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Infinity;
  }

  #arm(): void {
    const top = this.#heap.peek();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Infinity;
    if (top === undefined) return;
    this.#armedFor = top.deadline;
    this.#timer = setTimeout(() => this.#fire(), Math.min(Math.max(0, top.deadline - this.now()), MAX_DELAY));
  }

  #fire(): void {
    this.#timer = undefined;
    this.#armedFor = Infinity;
    const now = this.now();
    for (let top = this.#heap.peek(); top !== undefined && top.deadline <= now; top = this.#heap.peek()) {
      this.#heap.delete(top);
      this.expire(top);
    }
    if (this.#timer === undefined) this.#arm();
  }
}

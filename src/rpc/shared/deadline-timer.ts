// One timer for every deadline of a client or a worker; the indexed heap it wraps is
// src/util/deadline-heap.ts (the broker's), this adds the in-order queue and the timer.
import { DeadlineHeap as IndexedHeap, type Scheduled } from "../../util/deadline-heap.ts";

/** Something with a deadline that a {@link DeadlineTimer} can hold. */
export interface DeadlineEntry extends Scheduled {
  /** Absolute time (ms since the epoch) at which `expire` runs. */
  readonly deadline: number;
  /** Position in the heap, -1 when not in one (maintained by the heap). */
  heapIndex: number;
  /** Position in the in-order queue, -1 when not in it (maintained by the DeadlineTimer). */
  queuePos: number;
}

// setTimeout fires at once for delays past 2^31-1 ms.
const MAX_DELAY = 0x7fffffff;
/** The queue is rebuilt when it holds this many slots and four times more than live entries. */
const COMPACT_MIN = 64;

/**
 * Runs `expire(entry)` for each entry whose deadline passes, with a single timer for all of
 * them: a timer per call costs more than the call's own work on some runtimes.
 *
 * Most calls of a client share one timeout, so their deadlines arrive in order: such entries
 * go to a queue, where adding and removing are O(1) (a removed entry leaves a hole, skipped
 * when it reaches the front; holes are squeezed out once they outnumber live entries four to
 * one, so a long call at the front cannot make the queue grow without bound). An entry due
 * before the last one queued goes to a binary heap instead (O(log n)). Removing an entry that
 * settled in time leaves the timer alone; a timer that fires with nothing due re-arms itself
 * for the new earliest deadline (or stops when empty).
 *
 * @example
 * ```ts
 * const timer = new DeadlineTimer<Call>((call) => call.timeout());
 * timer.add(call);    // call.deadline = Date.now() + 5000
 * timer.remove(call); // settled in time
 * timer.clear();      // stop the timer
 * ```
 */
export class DeadlineTimer<T extends DeadlineEntry> {
  readonly #heap = new IndexedHeap<T>();
  /** Entries in deadline order, with holes (undefined) where entries were removed. */
  #queue: (T | undefined)[] = [];
  /** Index of the first slot that may hold an entry. */
  #head = 0;
  /** Position of `#queue[0]`: positions only grow, so a stale `queuePos` never matches. */
  #base = 0;
  /** Entries in the queue. */
  #queued = 0;
  /** Deadline of the last entry queued: later entries due earlier go to the heap. */
  #lastQueued = -Infinity;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #armedFor = Infinity;

  constructor(
    private readonly expire: (entry: T) => void,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.#heap.size + this.#queued;
  }

  /** Slots the queue holds, holes included (what its memory is proportional to). */
  get queueSlots(): number {
    return this.#queue.length - this.#head;
  }

  add(entry: T): void {
    if (entry.deadline >= this.#lastQueued) {
      entry.queuePos = this.#base + this.#queue.length;
      this.#queue.push(entry);
      this.#queued++;
      this.#lastQueued = entry.deadline;
    } else {
      this.#heap.add(entry);
    }
    if (entry.deadline < this.#armedFor) this.#arm();
  }

  remove(entry: T): void {
    // The timer stays armed even when empty: it finds nothing due, and a busy caller making
    // one call at a time would otherwise pay for a new timer per call.
    if (entry.queuePos < 0) {
      this.#heap.delete(entry);
      return;
    }
    const index = entry.queuePos - this.#base;
    entry.queuePos = -1;
    if (this.#queue[index] !== entry) return;
    this.#queue[index] = undefined;
    this.#queued--;
    this.#tidy();
  }

  /** Forget every entry and stop the timer. */
  clear(): void {
    this.#heap.clear();
    this.#base += this.#queue.length;
    this.#queue = [];
    this.#head = 0;
    this.#queued = 0;
    this.#lastQueued = -Infinity;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Infinity;
  }

  /** Skips holes at the front, and keeps the queue's memory in proportion to its entries. */
  #tidy(): void {
    const queue = this.#queue;
    while (this.#head < queue.length && queue[this.#head] === undefined) this.#head++;
    if (this.#head === queue.length) {
      this.#base += queue.length;
      this.#queue = [];
      this.#head = 0;
      this.#lastQueued = -Infinity;
      return;
    }
    const slots = queue.length - this.#head;
    if (slots >= COMPACT_MIN && slots > 4 * this.#queued) {
      const live: T[] = [];
      for (let i = this.#head; i < queue.length; i++) {
        const entry = queue[i];
        if (entry !== undefined) live.push(entry);
      }
      this.#rebase(live);
    } else if (this.#head >= COMPACT_MIN && this.#head * 2 > queue.length) {
      this.#rebase(queue.slice(this.#head) as T[]);
    }
  }

  /** Makes `entries` (in order, holes allowed) the whole queue, at fresh positions. */
  #rebase(entries: (T | undefined)[]): void {
    this.#base += this.#queue.length;
    this.#queue = entries;
    this.#head = 0;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      if (entry !== undefined) entry.queuePos = this.#base + i;
    }
  }

  /** The entry due first, or undefined. */
  #first(): T | undefined {
    const queued = this.#queued > 0 ? this.#queue[this.#head] : undefined;
    const top = this.#heap.peek();
    if (queued === undefined) return top;
    return top !== undefined && top.deadline < queued.deadline ? top : queued;
  }

  #arm(): void {
    const first = this.#first();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Infinity;
    if (first === undefined) return;
    this.#armedFor = first.deadline;
    this.#timer = setTimeout(() => this.#fire(), Math.min(Math.max(0, first.deadline - this.now()), MAX_DELAY));
  }

  #fire(): void {
    this.#timer = undefined;
    this.#armedFor = Infinity;
    const now = this.now();
    for (let first = this.#first(); first !== undefined && first.deadline <= now; first = this.#first()) {
      this.remove(first);
      this.expire(first);
    }
    if (this.#timer === undefined) this.#arm();
  }
}

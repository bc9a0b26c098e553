/** Something with a deadline that a {@link DeadlineHeap} can hold. */
export interface HeapEntry {
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
  readonly #items: T[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #armedFor = Infinity;

  constructor(
    private readonly expire: (entry: T) => void,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.#items.length;
  }

  add(entry: T): void {
    entry.heapIndex = this.#items.length;
    this.#items.push(entry);
    this.#up(entry.heapIndex);
    if (entry.deadline < this.#armedFor) this.#arm();
  }

  remove(entry: T): void {
    const i = entry.heapIndex;
    if (i < 0 || this.#items[i] !== entry) return;
    const last = this.#items.pop() as T;
    entry.heapIndex = -1;
    if (i < this.#items.length) {
      this.#items[i] = last;
      last.heapIndex = i;
      this.#down(i);
      this.#up(last.heapIndex);
    }
    // The timer stays armed even when empty: it finds nothing due, and a busy caller making
    // one call at a time would otherwise pay for a new timer per call.
  }

  /** Forget every entry and stop the timer. */
  clear(): void {
    for (const item of this.#items) item.heapIndex = -1;
    this.#items.length = 0;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Infinity;
  }

  #arm(): void {
    const top = this.#items[0];
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
    for (let top = this.#items[0]; top !== undefined && top.deadline <= now; top = this.#items[0]) {
      this.remove(top);
      this.expire(top);
    }
    if (this.#timer === undefined) this.#arm();
  }

  #up(i: number): void {
    const items = this.#items;
    const entry = items[i] as T;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] as T;
      if (p.deadline <= entry.deadline) break;
      items[i] = p;
      p.heapIndex = i;
      i = parent;
    }
    items[i] = entry;
    entry.heapIndex = i;
  }

  #down(i: number): void {
    const items = this.#items;
    const n = items.length;
    const entry = items[i] as T;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && (items[right] as T).deadline < (items[child] as T).deadline) child = right;
      const c = items[child] as T;
      if (c.deadline >= entry.deadline) break;
      items[i] = c;
      c.heapIndex = i;
      i = child;
    }
    items[i] = entry;
    entry.heapIndex = i;
  }
}

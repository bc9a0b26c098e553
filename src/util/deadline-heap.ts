/** Something with a deadline and a slot for its heap position. */
export interface Scheduled {
  readonly deadline: number;
  heapIndex: number;
}

/**
 * An indexed binary min-heap on `deadline`. Items remember their position, so a message
 * delivered before it expires is taken out in O(log n) instead of lingering as a
 * tombstone until its deadline.
 *
 * @example
 * ```ts
 * const heap = new DeadlineHeap<{ deadline: number; heapIndex: number }>();
 * const message = { deadline: now + 5000, heapIndex: -1 };
 * heap.add(message);
 * while (heap.peek() && heap.peek()!.deadline <= now) expire(heap.pop()!);
 * ```
 */
export class DeadlineHeap<T extends Scheduled> {
  readonly #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  /** The item with the earliest deadline. */
  peek(): T | undefined {
    return this.#items[0];
  }

  add(item: T): void {
    item.heapIndex = this.#items.length;
    this.#items.push(item);
    this.#up(item.heapIndex);
  }

  /** Forget every item (their `heapIndex` becomes -1). */
  clear(): void {
    for (const item of this.#items) item.heapIndex = -1;
    this.#items.length = 0;
  }

  pop(): T | undefined {
    const top = this.#items[0];
    if (top) this.delete(top);
    return top;
  }

  /** Remove `item` if it is in the heap. */
  delete(item: T): void {
    const index = item.heapIndex;
    const items = this.#items;
    if (index < 0 || items[index] !== item) return;
    item.heapIndex = -1;
    const last = items.pop() as T;
    if (last === item) return;
    items[index] = last;
    last.heapIndex = index;
    this.#up(index);
    this.#down(last.heapIndex);
  }

  #up(index: number): void {
    const items = this.#items;
    const item = items[index] as T;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = items[parentIndex] as T;
      if (parent.deadline <= item.deadline) break;
      items[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    items[index] = item;
    item.heapIndex = index;
  }

  #down(index: number): void {
    const items = this.#items;
    const n = items.length;
    const item = items[index] as T;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && (items[right] as T).deadline < (items[left] as T).deadline) child = right;
      const smaller = items[child] as T;
      if (smaller.deadline >= item.deadline) break;
      items[index] = smaller;
      smaller.heapIndex = index;
      index = child;
    }
    items[index] = item;
    item.heapIndex = index;
  }
}

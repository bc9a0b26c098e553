import type { StoredMessage } from "./message.ts";

/** Messages and content bytes held by a group of queues together (e.g. every queue of a broker). */
export interface QueueTotals {
  count: number;
  bytes: number;
}

/**
 * A FIFO of stored messages with O(1) push at either end and O(1) removal of any
 * member, so that expiry, re-queueing at the head and skip-over dispatch never scan.
 * The links live on the messages themselves (a message is in at most one queue),
 * which keeps the hot path free of per-message wrapper objects.
 *
 * @example
 * ```ts
 * const q = new MessageQueue();
 * q.push(message);
 * const first = q.shift();
 * ```
 */
export class MessageQueue {
  /** `totals`, when given, is kept up to date with this queue's additions and removals. */
  constructor(readonly totals?: QueueTotals) {}

  head: StoredMessage | undefined = undefined;
  tail: StoredMessage | undefined = undefined;
  /** Number of messages held. */
  count = 0;
  /** Sum of the content sizes of the messages held. */
  bytes = 0;

  /** Append at the tail. */
  push(message: StoredMessage): void {
    message.queue = this;
    message.prev = this.tail;
    message.next = undefined;
    if (this.tail) this.tail.next = message;
    else this.head = message;
    this.tail = message;
    this.#add(message.bytes);
  }

  /** Insert at the head (used when an in-flight request comes back). */
  unshift(message: StoredMessage): void {
    message.queue = this;
    message.next = this.head;
    message.prev = undefined;
    if (this.head) this.head.prev = message;
    else this.tail = message;
    this.head = message;
    this.#add(message.bytes);
  }

  /** Remove a message that is known to be in this queue. */
  remove(message: StoredMessage): void {
    if (message.queue !== this) return;
    if (message.prev) message.prev.next = message.next;
    else this.head = message.next;
    if (message.next) message.next.prev = message.prev;
    else this.tail = message.prev;
    message.prev = message.next = undefined;
    message.queue = undefined;
    this.#add(-message.bytes, -1);
  }

  #add(bytes: number, count = 1): void {
    this.count += count;
    this.bytes += bytes;
    const totals = this.totals;
    if (totals !== undefined) {
      totals.count += count;
      totals.bytes += bytes;
    }
  }

  /** Remove and return the head, if any. */
  shift(): StoredMessage | undefined {
    const first = this.head;
    if (first) this.remove(first);
    return first;
  }
}

import type { StoredMessage } from "./message.ts";

/**
 * Index of the tracked service requests the broker holds (queued, or in flight at a
 * credit-aware worker), by sender and tracker, so that a WITHDRAW (docs/mlm-extensions.md §2)
 * finds its request without scanning queues. The sender is its address, or its connection
 * when anonymous. Senders choose trackers, so one key may hold several requests.
 *
 * @example
 * ```ts
 * const held = new HeldRequests();
 * held.add(request);
 * held.find("alice", "00aa", "call-1"); // [request]
 * held.delete(request);
 * ```
 */
export class HeldRequests {
  readonly #map = new Map<string, StoredMessage | StoredMessage[]>();
  /** Requests indexed. */
  size = 0;

  /** Index a tracked request (no-op when untracked or already indexed). */
  add(request: StoredMessage): void {
    if (request.tracker === "" || request.heldKey !== undefined) return;
    const key = keyOf(request.sender, request.senderConn, request.tracker);
    request.heldKey = key;
    this.size++;
    const entry = this.#map.get(key);
    if (entry === undefined) this.#map.set(key, request);
    else if (Array.isArray(entry)) entry.push(request);
    else this.#map.set(key, [entry, request]);
  }

  /** Forget a request (no-op when not indexed). */
  delete(request: StoredMessage): void {
    const key = request.heldKey;
    if (key === undefined) return;
    request.heldKey = undefined;
    this.size--;
    const entry = this.#map.get(key);
    if (entry === request) this.#map.delete(key);
    else if (Array.isArray(entry)) {
      const index = entry.indexOf(request);
      if (index >= 0) entry.splice(index, 1);
      if (entry.length === 1) this.#map.set(key, entry[0] as StoredMessage);
    }
  }

  /** The requests `tracker` names for this sender, oldest first (a copy). */
  find(sender: string, senderConn: string, tracker: string): StoredMessage[] {
    const entry = this.#map.get(keyOf(sender, senderConn, tracker));
    if (entry === undefined) return [];
    return Array.isArray(entry) ? [...entry] : [entry];
  }

  /** Forget everything. */
  clear(): void {
    for (const entry of this.#map.values()) {
      if (Array.isArray(entry)) for (const request of entry) request.heldKey = undefined;
      else entry.heldKey = undefined;
    }
    this.#map.clear();
    this.size = 0;
  }
}

/** Named senders by address (so a reconnected sender still matches), anonymous ones by connection. */
function keyOf(sender: string, senderConn: string, tracker: string): string {
  // The length prefix keeps "ab"+"c" and "a"+"bc" apart; connection keys are hex, without ":".
  return sender !== "" ? `a${sender.length}:${sender}${tracker}` : `c${senderConn}:${tracker}`;
}

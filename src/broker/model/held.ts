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
  /**
   * Indexed requests by key. Requests are indexed lazily, by the first `find` after they were
   * added: nearly all leave (delivered, confirmed) before any WITHDRAW looks for them, and a key
   * string plus two Map operations per request were most of what holding one cost.
   */
  readonly #map = new Map<string, StoredMessage | StoredMessage[]>();
  /** Requests added since the last `find`, oldest first, linked through `heldPrev`/`heldNext`. */
  #head: StoredMessage | undefined = undefined;
  #tail: StoredMessage | undefined = undefined;
  /** Requests indexed or waiting to be. */
  size = 0;

  /** Index a tracked request (no-op when untracked or already indexed). */
  add(request: StoredMessage): void {
    if (request.tracker === "" || request.held) return;
    request.held = true;
    this.size++;
    request.heldPrev = this.#tail;
    request.heldNext = undefined;
    if (this.#tail) this.#tail.heldNext = request;
    else this.#head = request;
    this.#tail = request;
  }

  /** Forget a request (no-op when not indexed). */
  delete(request: StoredMessage): void {
    if (!request.held) return;
    request.held = false;
    this.size--;
    const key = request.heldKey;
    if (key === undefined) {
      this.#unlink(request);
      return;
    }
    request.heldKey = undefined;
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
    this.#indexWaiting();
    const entry = this.#map.get(keyOf(sender, senderConn, tracker));
    if (entry === undefined) return [];
    return Array.isArray(entry) ? [...entry] : [entry];
  }

  /** Forget everything. */
  clear(): void {
    for (const entry of this.#map.values()) {
      if (Array.isArray(entry)) for (const request of entry) forget(request);
      else forget(entry);
    }
    for (let request = this.#head; request; request = this.#head) {
      this.#unlink(request);
      forget(request);
    }
    this.#map.clear();
    this.size = 0;
  }

  /** Move the requests added since the last `find` into the map (they are newer than those in it). */
  #indexWaiting(): void {
    for (let request = this.#head; request; request = this.#head) {
      this.#unlink(request);
      const key = keyOf(request.sender, request.senderConn, request.tracker);
      request.heldKey = key;
      const entry = this.#map.get(key);
      if (entry === undefined) this.#map.set(key, request);
      else if (Array.isArray(entry)) entry.push(request);
      else this.#map.set(key, [entry, request]);
    }
  }

  #unlink(request: StoredMessage): void {
    if (request.heldPrev) request.heldPrev.heldNext = request.heldNext;
    else this.#head = request.heldNext;
    if (request.heldNext) request.heldNext.heldPrev = request.heldPrev;
    else this.#tail = request.heldPrev;
    request.heldPrev = request.heldNext = undefined;
  }
}

function forget(request: StoredMessage): void {
  request.held = false;
  request.heldKey = undefined;
}

/** Named senders by address (so a reconnected sender still matches), anonymous ones by connection. */
function keyOf(sender: string, senderConn: string, tracker: string): string {
  // The length prefix keeps "ab"+"c" and "a"+"bc" apart; connection keys are hex, without ":".
  return sender !== "" ? `a${sender.length}:${sender}${tracker}` : `c${senderConn}:${tracker}`;
}
